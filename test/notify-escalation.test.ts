/**
 * Acknowledgements, escalation and the rota (issue 20), on one rehearsal: real Temporal (the run, its notifier and
 * their durable timers) and a real webhook receiver that verifies each request's HMAC. A manual step nobody
 * acknowledges escalates to its role's deputy, then to the lead; one acknowledged in time does not escalate; the
 * run refuses an acknowledgement of a step that waits for nobody, a second one by the same person and one by someone
 * not asked; the rota decides which lead is told; a gate still open 15 minutes before its point of no return is told,
 * and so is the owner of a manual step 15 minutes before it is expected to be ready. The rota decides who may act;
 * a hand-over (continue-as-new) neither loses nor repeats an escalation or a ready-soon warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { sendPersonRequest } from '../common/person-requests.js';
import { notifierId } from '../workflows/notify-run.js';
import { acknowledgeStepUpdate, approveGateUpdate, completeManualStepUpdate } from '../workflows/messages.js';
import { startHookReceiver, type HookReceiver, waitFor } from './support/notify-receivers.js';
import { replayErrors, resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

const SECRET = 'notify-escalation-secret-0123';
process.env.NOTIFY_ESCALATION_SECRET = SECRET;

let h: Harness;
let hook: HookReceiver;

beforeAll(async () => {
  [h, hook] = await Promise.all([startHarness(), startHookReceiver(SECRET)]);
}, 120_000);
afterAll(async () => {
  await Promise.all([h?.stop(), hook?.close()]);
});

/** The run's update refused with the run's sentence. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return (err as WorkflowUpdateFailedError).cause?.message ?? '';
}

describe('acknowledgements and escalation', () => {
  it('an unacknowledged manual step escalates to the deputy, then the lead on duty; an acknowledged one does not; the point of no return and a step ready soon are told', async () => {
    const handle = await h.start(`
name: notify-ack
version: 1
lead: lead
roles: { lead: [lea, leo], dba: [ana], ops: [olu] }
deputies: { dba: [dan], ops: [oda] }
people: { dan: {}, oda: {} }
# T is the rehearsal's start: lea leads the first seconds, leo from then on.
rota:
  - { role: lead, person: lea, from: T-1h, to: T+3s }
  - { role: lead, person: leo, from: T+3s, to: T+1d }
# Nothing to undo: the gate's point of no return is the window's end, 15 minutes after its warning at T+5s.
window: { length: 15m5s }
notifications:
  channels:
    hook: { kind: webhook, url: '${hook.url}', secret: '\${env:NOTIFY_ESCALATION_SECRET}' }
  routes:
    - { on: [escalated, manual_step_waiting, point_of_no_return, step_ready_soon], via: [hook] }
    - { on: [run_started], to: [lead], via: [hook] }
phases:
  - id: prep
    kind: preparation
    steps:
      - { id: quiet, title: Nobody answers, owner: dba, ack_within: 2s, action: { kind: manual } }
      # Acknowledged as soon as it waits; 10 s leave room on a loaded machine (3 s did not, three suites at once).
      # Unacknowledged, it would escalate to oda, which the list of escalations at the end would show.
      - { id: heard, title: Answered, owner: ops, ack_within: 10s, action: { kind: manual } }
      - { id: go, title: Go, owner: lead, gate: { approvers: [ops] } }
      # switch is expected ready when prep's 15m3s are over: its owner hears 15 minutes before, at T+3s.
      - { id: prep, title: Prepare, owner: ops, expected: 15m3s, action: { kind: manual } }
      - { id: switch, title: Switch, owner: dba, depends_on: [prep], action: { kind: manual } }
`);
    const runId = handle.workflowId;
    await waitForState(handle, (s) => s.steps.heard!.waitingFor === 'manual' && s.steps.quiet!.waitingFor === 'manual');
    const acked = await handle.executeUpdate(acknowledgeStepUpdate, { args: [{ stepId: 'heard', by: 'olu' }] });
    expect(acked.acks).toEqual([{ by: 'olu', at: expect.any(String), for: 'manual' }]);
    // One acknowledgement per person per wait; none for someone who is not among those who may act.
    expect(await refusal(handle.executeUpdate(acknowledgeStepUpdate, { args: [{ stepId: 'heard', by: 'olu' }] }))).toMatch(
      /^olu already acknowledged `heard` at /,
    );
    expect(await refusal(handle.executeUpdate(acknowledgeStepUpdate, { args: [{ stepId: 'heard', by: 'ana' }] }))).toBe(
      'ana may not acknowledge `heard`: it waits for ops, their deputies or the lead',
    );

    const escalations = () => hook.kept().filter((m) => m.body.event.runId === runId && m.body.event.kind === 'escalated');
    const told = () =>
      hook
        .kept()
        .filter((m) => m.body.event.runId === runId)
        .map((m) => m.body.event.id);
    await waitFor('the escalation to the lead', () => escalations().some((m) => m.body.event.id === 'escalated:quiet:lead'), 60_000, told);
    // The gate is still open 15 minutes before its point of no return: its approvers and the lead on duty are told.
    const noReturn = await waitFor('the point of no return warning', () =>
      hook.kept().find((m) => m.body.event.runId === runId && m.body.event.id === 'point_of_no_return:go'),
    );
    expect(noReturn.body.people).toEqual(['olu', 'leo']);
    // A gate is acknowledged like a step, by its approvers.
    expect((await handle.executeUpdate(acknowledgeStepUpdate, { args: [{ stepId: 'go', by: 'olu' }] })).acks).toHaveLength(1);
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'olu' }] });
    const readySoon = await waitFor('the ready-soon message', () =>
      hook.kept().find((m) => m.body.event.runId === runId && m.body.event.id === 'step_ready_soon:switch'),
    );
    expect(readySoon.body.people).toEqual(['ana']);
    expect(readySoon.body.message.title).toMatch(/Manual step switch \(Switch\) is expected to be ready in about 15 minutes$/);
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'prep', by: 'olu' }] });
    await waitForState(handle, (s) => s.steps.switch!.waitingFor === 'manual');
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'switch', by: 'ana' }] });
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'quiet', by: 'ana' }] });
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'heard', by: 'olu' }] });
    // A step that is done waits for nobody: acknowledging it is refused with a sentence.
    expect(await refusal(handle.executeUpdate(acknowledgeStepUpdate, { args: [{ stepId: 'quiet', by: 'ana' }] }))).toMatch(
      /^step `quiet` is not waiting for a person \(it is (succeeded|running)\)/,
    );
    const { state } = await resultOf(handle);
    expect(state.decisions.filter((d) => d.kind === 'acknowledge').map((d) => [d.by, d.target])).toEqual([
      ['olu', 'heard'],
      ['olu', 'go'],
    ]);
    await h.client.workflow.getHandle(notifierId(runId)).result();

    // The deputy first, then the lead on duty by then (the rota's second shift), each once; nothing for the step
    // acknowledged in time. The run's start went to the lead on duty then.
    const received = escalations();
    expect(received.every((m) => m.verified)).toBe(true);
    expect(received.map((m) => [m.body.event.id, m.body.people])).toEqual([
      ['escalated:quiet:deputy', ['dan']],
      ['escalated:quiet:lead', ['leo']],
    ]);
    const started = hook.kept().filter((m) => m.body.event.runId === runId && m.body.event.kind === 'run_started');
    expect(started.map((m) => m.body.people)).toEqual([['lea']]);
    expect(received[0]!.body.message.command).toBe(`cutover ack ${runId} quiet --as YOU`);
    expect((await h.store.events(runId)).map((e) => e.eventId)).toContain('escalated:quiet:deputy');

    // The run replays its history (the escalation timers and the acknowledgement) command for command.
    expect(await replayErrors(handle)).toEqual([]);
  }, 120_000);
});

describe('the rota decides who may act', () => {
  it('a person of a role with a rota acts only on duty; the lead, deputies and rota-less roles keep their rights', async () => {
    const handle = await h.start(`
name: rota-acts
version: 1
lead: lead
roles: { lead: [lea], dba: [ana, cy, dev, lea], ops: [olu], app: [ari] }
deputies: { dba: [dev] }
people: { ron: {} }
# ana and ron are on duty all through the rehearsal; cy and olu come on a day later.
rota:
  - { role: dba, person: ana, from: T-1h, to: T+1d }
  - { role: dba, person: cy, from: T+1d, to: T+2d }
  - { role: ops, person: ron, from: T-1h, to: T+1d }
  - { role: ops, person: olu, from: T+1d, to: T+2d }
phases:
  - id: prep
    kind: preparation
    steps:
      - { id: load, title: Load, owner: dba, action: { kind: manual } }
      - { id: go, title: Go, owner: lead, gate: { approvers: [ops, app] } }
      - { id: check, title: Check, owner: app, action: { kind: manual } }
`);
    await waitForState(handle, (s) => s.steps.load!.waitingFor === 'manual' && s.steps.go!.gate?.status === 'open');
    const offDuty = (who: string, role: string, onDuty: string) =>
      new RegExp(
        `^${who} is not on duty for ${role} now: the rota has ${onDuty} \\(until \\d\\d:\\d\\d UTC\\); they, a deputy of ${role} or the lead may act$`,
      );
    // Off duty: refused with who is on duty now, whatever they ask.
    expect(await refusal(handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'load', by: 'cy' }] }))).toMatch(
      offDuty('cy', 'dba', 'ana'),
    );
    expect(await refusal(handle.executeUpdate(acknowledgeStepUpdate, { args: [{ stepId: 'load', by: 'cy' }] }))).toMatch(
      offDuty('cy', 'dba', 'ana'),
    );
    expect(await refusal(handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'olu' }] }))).toMatch(
      offDuty('olu', 'ops', 'ron'),
    );
    // On duty (ron holds ops only through the rota), a deputy, a role without a rota, and the lead: accepted.
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'ron' }] });
    await handle.executeUpdate(acknowledgeStepUpdate, { args: [{ stepId: 'load', by: 'dev' }] });
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'ari' }] });
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'load', by: 'lea' }] });
    await waitForState(handle, (s) => s.steps.check!.waitingFor === 'manual');
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'check', by: 'ari' }] });
    const { state, status } = await resultOf(handle);
    expect(status).toBe('completed');
    expect(state.decisions.filter((d) => d.kind !== 'refused').map((d) => [d.kind, d.by, d.role, d.target])).toEqual([
      ['approve', 'ron', 'ops', 'go'],
      ['acknowledge', 'dev', 'dba', 'load'],
      ['approve', 'ari', 'app', 'go'],
      ['complete_manual', 'lea', 'dba', 'load'],
      ['complete_manual', 'ari', 'app', 'check'],
    ]);
    // The refusals never entered the run (validators), and the run replays its history command for command.
    expect(state.decisions.some((d) => d.kind === 'refused')).toBe(false);
    expect(await replayErrors(handle)).toEqual([]);
  }, 120_000);
});

describe('timers across a hand-over', () => {
  it('an escalation and a ready-soon warning set before a hand-over (continue-as-new) are told after it, each once; a done met by the hand-over is sent again, not lost', async () => {
    // Only manual steps: nothing settles (so nothing hands over) until the test marks `trigger` done; by then the
    // history is past its budget, and the run hands over at once.
    const handle = await h.start(
      `
name: notify-handover-timers
version: 1
lead: lead
roles: { lead: [lea], dba: [ana], ops: [olu] }
deputies: { dba: [dan] }
people: { dan: {} }
notifications:
  channels:
    hook: { kind: webhook, url: '${hook.url}', secret: '\${env:NOTIFY_ESCALATION_SECRET}' }
  routes:
    - { on: [escalated, step_ready_soon], via: [hook] }
phases:
  - id: prep
    kind: preparation
    steps:
      # The deputy hears at T+3s (before the hand-over), the lead at T+6s (after it).
      - { id: quiet, title: Nobody answers, owner: dba, ack_within: 3s, action: { kind: manual } }
      - { id: trigger, title: Hand over, owner: ops, action: { kind: manual } }
      # switch is expected ready when prep's 15m9s are over: its owner hears at T+9s, after the hand-over.
      - { id: prep, title: Prepare, owner: ops, expected: 15m9s, action: { kind: manual } }
      - { id: switch, title: Switch, owner: dba, depends_on: [prep], action: { kind: manual } }
`,
      { historyBudget: 10 },
    );
    const runId = handle.workflowId;
    const told = () => hook.kept().filter((m) => m.body.event.runId === runId);
    await waitFor('the escalation to the deputy', () => told().some((m) => m.body.event.id === 'escalated:quiet:deputy'));
    await sendPersonRequest(handle, { kind: 'done', stepId: 'trigger', as: 'olu' });
    await waitForState(handle, (s) => (s.execution ?? 1) > 1);
    await waitFor('the ready-soon warning', () => told().some((m) => m.body.event.id === 'step_ready_soon:switch'));
    await waitFor('the escalation to the lead', () => told().some((m) => m.body.event.id === 'escalated:quiet:lead'));
    await sendPersonRequest(handle, { kind: 'done', stepId: 'quiet', as: 'ana' });
    await sendPersonRequest(handle, { kind: 'done', stepId: 'prep', as: 'olu' });
    await waitForState(handle, (s) => s.steps.switch!.waitingFor === 'manual');
    await sendPersonRequest(handle, { kind: 'done', stepId: 'switch', as: 'ana' });
    const { state, status } = await resultOf(handle);
    expect(status).toBe('completed');
    expect(state.execution).toBeGreaterThan(1);
    await h.client.workflow.getHandle(notifierId(runId)).result();
    // Each once, to whom it is for, nothing lost with the execution that set its timer.
    expect(told().map((m) => [m.body.event.id, m.body.people])).toEqual([
      ['escalated:quiet:deputy', ['dan']],
      ['escalated:quiet:lead', ['lea']],
      ['step_ready_soon:switch', ['ana']],
    ]);
    // The last execution, handed what the ones before had under way, replays command for command.
    expect(await replayErrors(handle)).toEqual([]);
  }, 120_000);
});
