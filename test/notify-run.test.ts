/**
 * A run tells people: real Temporal (the run and its notifier), a real webhook receiver that verifies the HMAC and
 * timestamp of each request, and a real SMTP server with STARTTLS. A rehearsal with a manual step, a gate and a failure
 * delivers exactly the expected messages to the expected people, in order, and never to a live-only audience; a
 * receiver that is down for a while loses nothing and gets nothing twice; a misconfigured channel fails only its own
 * deliveries, each with its reason in the store.
 */
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifierId } from '../workflows/notify-run.js';
import { approveGateUpdate, completeManualStepUpdate, requestBackoutUpdate } from '../workflows/messages.js';
import { NOTIFY_FIXTURES, startHookReceiver, startSmtp, type HookReceiver, type Mail, waitFor } from './support/notify-receivers.js';
import { resultOf, startHarness, waitForState, workflowBundle, type Harness } from './support/workflow-harness.js';

const SECRET = 'notify-run-hook-secret-0123';
const SMTP_PASSWORD = 'notify-run-smtp-42';
process.env.NOTIFY_RUN_HOOK_SECRET = SECRET;
process.env.NOTIFY_RUN_SMTP_PASSWORD = SMTP_PASSWORD;

let h: Harness;
let hook: HookReceiver;
let smtp: Awaited<ReturnType<typeof startSmtp>>;

beforeAll(async () => {
  [h, hook, smtp] = await Promise.all([startHarness(), startHookReceiver(SECRET), startSmtp('cutover', SMTP_PASSWORD)]);
}, 120_000);
afterAll(async () => {
  await Promise.all([h?.stop(), hook?.close(), smtp?.close()]);
});

function channels(mailPassword = '${env:NOTIFY_RUN_SMTP_PASSWORD}'): string {
  return `
    hook: { kind: webhook, url: '${hook.url}', secret: '\${env:NOTIFY_RUN_HOOK_SECRET}' }
    mail:
      kind: email
      host: 127.0.0.1
      port: ${smtp.port}
      user: cutover
      password: '${mailPassword}'
      from: 'Cutover <cutover@example.com>'
      ca_file: '${NOTIFY_FIXTURES}/smtp-cert.pem'`;
}

const PEOPLE = `
lead: lead
roles: { lead: [ana], dba: [bob], approvers: [ben], sponsors: [sam] }
people:
  ana: { email: ana@example.com }
  bob: { email: bob@example.com }
  ben: { email: ben@example.com }
  sam: { email: sam@example.com }`;

const hooksOf = (runId: string) => hook.kept().filter((m) => m.body.event.runId === runId);
const mailsOf = (runId: string): Mail[] => smtp.mails.filter((m) => m.subject.includes(runId));

describe('a run tells people', () => {
  it('a rehearsal with a manual step, a gate, a failure and a back-out: exactly the expected messages to the expected people, in order', async () => {
    const handle = await h.start(`
name: notify-crm
version: 1
${PEOPLE}
notifications:
  public_url: https://cutover.example.com
  channels:${channels()}
  routes:
    - { on: [manual_step_waiting, gate_opened, step_failed], via: [mail, hook] }
    - { on: [run_started, run_ended, backout_started, backout_finished], to: [lead], via: [hook] }
    - { on: [run_started, run_ended], to: [sponsors], via: [mail] }
  rehearsal:
    audience: [lead, dba, approvers]
backout: { policy: manual }
phases:
  - id: prep
    kind: preparation
    steps:
      - { id: backup, title: Back up, owner: dba, expected: 1m, action: { kind: manual }, backout: { kind: manual } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, depends_on: [backup], gate: { approvers: [approvers], question: 'Load the data?' } }
  - id: load
    kind: migration
    steps:
      - { id: load, title: Load, owner: dba, expected: 1s, depends_on: [go], action: { kind: shell, command: 'exit 3' } }
`);
    const runId = handle.workflowId;
    // Each message arrives before anyone acts on it: the run waits for people, the messages do not wait for the run.
    await waitFor('the manual step message', () => mailsOf(runId).some((m) => m.to.includes('bob@example.com')));
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'backup', by: 'bob' }] });
    await waitFor('the gate message', () => mailsOf(runId).some((m) => m.to.includes('ben@example.com')));
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'ben' }] });
    await waitFor('the failure message', () => mailsOf(runId).some((m) => m.to.includes('ana@example.com')));
    await waitForState(handle, (s) => s.steps.load!.waitingFor === 'resolution');
    await handle.executeUpdate(requestBackoutUpdate, { args: [{ by: 'ana', reason: 'the load failed' }] });
    await waitFor('the undo message', () => mailsOf(runId).filter((m) => m.to.includes('bob@example.com')).length === 2);
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'backup', by: 'bob' }] });
    expect((await resultOf(handle)).status).toBe('backed_out');
    await waitFor('the run_ended message', () => hooksOf(runId).some((m) => m.body.event.kind === 'run_ended'));

    // The webhook: every request signed and fresh, once per event, in the order things happened, to the right people.
    const received = hook.received.filter((m) => m.body.event.runId === runId);
    expect(received.every((m) => m.verified)).toBe(true);
    expect(new Set(received.map((m) => m.key)).size).toBe(received.length);
    expect(received.map((m) => [m.body.event.id, m.body.people])).toEqual([
      ['run_started', ['ana']],
      ['manual_step_waiting:backup', ['bob']],
      ['gate_opened:go', ['ben']],
      ['step_failed:load:1', ['ana']],
      ['backout_started', ['ana']],
      ['manual_step_waiting:backup:undo', ['bob']],
      ['backout_finished', ['ana']],
      ['run_ended', ['ana']],
    ]);
    for (const m of received) {
      expect(m.body.rehearsal).toBe(true);
      expect(m.body.message.title).toMatch(new RegExp(`^\\[REHEARSAL\\] ${runId}: `));
      expect(m.body.message.link).toBe(`https://cutover.example.com/runs/${runId}`);
    }
    expect(received[2]!.body.message).toMatchObject({
      who_must_act: 'ben (approvers) must approve or reject the gate',
      command: `cutover approve ${runId} go --as YOU   (or: cutover reject ${runId} go --as YOU --reason ...)`,
    });
    expect(received[3]!.body.message.command).toBe(`cutover resolve ${runId} load --retry|--done --as YOU --reason ...`);

    // E-mail: one per person who must act, over STARTTLS, in order; the sponsors (not in the rehearsal audience) get nothing.
    const mails = mailsOf(runId);
    expect(mails.map((m) => m.to)).toEqual([['bob@example.com'], ['ben@example.com'], ['ana@example.com'], ['bob@example.com']]);
    expect(mails.every((m) => m.secure && m.subject.startsWith(`[REHEARSAL] ${runId}: `))).toBe(true);
    expect(smtp.mails.some((m) => m.to.includes('sam@example.com'))).toBe(false);

    // The store: the run's events in order, and every delivery sent once.
    const events = await h.store.events(runId);
    expect(events.map((e) => e.eventId)).toEqual(received.map((m) => m.body.event.id));
    const deliveries = await h.store.deliveries({ runId });
    expect(deliveries.filter((d) => d.status !== 'sent')).toEqual([]);
    expect(deliveries).toHaveLength(received.length + mails.length);

    // Both the run and its notifier replay their histories command for command (the events are deterministic).
    const notifier = h.client.workflow.getHandle(notifierId(runId));
    await notifier.result();
    const histories = [
      { workflowId: runId, history: await handle.fetchHistory() },
      { workflowId: notifierId(runId), history: await notifier.fetchHistory() },
    ];
    const failures: string[] = [];
    for await (const replay of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      if (replay.error) failures.push(`${replay.workflowId}: ${replay.error.message}`);
    }
    expect(failures).toEqual([]);
  }, 180_000);

  it('a receiver down for a while, then up: nothing lost, nothing twice, the retries in the store', async () => {
    await hook.down();
    let handle;
    try {
      handle = await h.start(`
name: notify-down
version: 1
${PEOPLE}
notifications:
  channels:${channels()}
  routes:
    - { to: [lead], via: [hook] }
phases:
  - id: prep
    kind: preparation
    steps:
      - { id: backup, title: Back up, owner: dba, expected: 1m, action: { kind: manual } }
`);
      const runId = handle.workflowId;
      // The run goes on while nobody can be told.
      await waitForState(handle, (s) => s.steps.backup!.waitingFor === 'manual');
      await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'backup', by: 'bob' }] });
      await resultOf(handle);
      const retried = await waitFor('retries recorded for each event', () => {
        const rows = h.store.deliveryRows.filter((d) => d.runId === runId && d.status === 'retrying');
        return new Set(rows.map((r) => r.eventId)).size === 3 && rows;
      });
      expect(retried[0]!.reason).toMatch(/^channel hook: cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    } finally {
      await hook.up();
    }
    const runId = handle.workflowId;
    await waitFor('every event delivered once the receiver is back', () => hooksOf(runId).length === 3, 90_000);
    const received = hook.received.filter((m) => m.body.event.runId === runId);
    // Each delivery retries on its own backoff, so after an outage they may arrive in any order (a receiver orders them
    // by the event's time); each arrives once.
    expect(received.map((m) => m.body.event.id).sort()).toEqual(['manual_step_waiting:backup', 'run_ended', 'run_started']);
    expect(received.every((m) => m.verified)).toBe(true);
    await waitFor('the store has each delivery sent', () =>
      h.store.deliveryRows.filter((d) => d.runId === runId && d.status === 'sent').length === 3 ? true : undefined,
    );
  }, 180_000);

  it('a misconfigured channel fails only its own deliveries, at once, with the reason in the store', async () => {
    const handle = await h.start(`
name: notify-broken
version: 1
${PEOPLE}
notifications:
  channels:${channels('${env:NOTIFY_RUN_UNSET_PASSWORD}')}
  routes:
    - { on: [manual_step_waiting], via: [mail, hook] }
phases:
  - id: prep
    kind: preparation
    steps:
      - { id: backup, title: Back up, owner: dba, expected: 1m, action: { kind: manual } }
`);
    const runId = handle.workflowId;
    await waitFor('the hook message', () => hooksOf(runId).length === 1);
    const gaveUp = await waitFor('the mail delivery given up', () =>
      h.store.deliveryRows.find((d) => d.runId === runId && d.status === 'gave_up'),
    );
    expect(gaveUp).toMatchObject({ channel: 'mail', recipient: 'bob', attempt: 1 });
    expect(gaveUp.reason).toMatch(/^channel mail: .*NOTIFY_RUN_UNSET_PASSWORD.* is not set/);
    expect(mailsOf(runId)).toEqual([]);
    // The run is unharmed: the manual step waits for bob as it would have.
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'backup', by: 'bob' }] });
    expect((await resultOf(handle)).status).toBe('completed');
  }, 120_000);

  it('reminds the approvers 5 minutes before a gate closes (15 was already past), once', async () => {
    const handle = await h.start(`
name: notify-deadline
version: 1
${PEOPLE}
notifications:
  channels:${channels()}
  routes:
    - { on: [gate_opened, gate_deadline], via: [hook] }
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [approvers], deadline: { after_opening: 5m6s, decides: go } } }
`);
    const runId = handle.workflowId;
    const reminder = await waitFor('the reminder', () => hooksOf(runId).find((m) => m.body.event.kind === 'gate_deadline'));
    expect(reminder.body.event.id).toBe('gate_deadline:go:5m');
    expect(reminder.body.message.title).toBe(`[REHEARSAL] ${runId}: Gate go closes in 5 minutes and then decides go by itself`);
    expect(reminder.body.people).toEqual(['ben']);
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'ben' }] });
    await resultOf(handle);
    expect(hooksOf(runId).map((m) => m.body.event.id)).toEqual(['gate_opened:go', 'gate_deadline:go:5m']);
  }, 120_000);

  it('a run that hands over (continue-as-new) while messages are under way: each event once, none lost', async () => {
    const chain = Array.from({ length: 8 }, (_, i) =>
      i === 4
        ? `      - { id: s${i}, title: Step ${i}, owner: dba, expected: 1m, depends_on: [s${i - 1}], action: { kind: manual } }`
        : `      - { id: s${i}, title: Step ${i}, owner: dba, expected: 1s, ${i > 0 ? `depends_on: [s${i - 1}], ` : ''}action: { kind: shell, command: "true" } }`,
    ).join('\n');
    const handle = await h.start(
      `
name: notify-handover
version: 1
${PEOPLE}
notifications:
  channels:${channels()}
  routes:
    - { to: [lead], via: [hook] }
    - { on: [manual_step_waiting], via: [hook] }
phases:
  - id: p
    kind: migration
    steps:
${chain}
`,
      { historyBudget: 30 },
    );
    const runId = handle.workflowId;
    await waitFor('the manual step message', () => hooksOf(runId).some((m) => m.body.event.id === 'manual_step_waiting:s4'));
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 's4', by: 'bob' }] });
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(result.state.execution).toBeGreaterThan(1);
    await waitFor('the run_ended message', () => hooksOf(runId).some((m) => m.body.event.kind === 'run_ended'));
    const received = hook.received.filter((m) => m.body.event.runId === runId);
    expect(received.map((m) => m.body.event.id)).toEqual(['run_started', 'manual_step_waiting:s4', 'run_ended']);
  }, 180_000);

  it('a comms step sends its message with the run facts to its audience, and a comms undo in the back-out', async () => {
    const handle = await h.start(`
name: notify-comms
version: 1
${PEOPLE}
notifications:
  channels:${channels()}
phases:
  - id: tell
    kind: preparation
    steps:
      - id: announce
        title: Announce the freeze
        owner: lead
        action: { kind: notify, message: 'Freeze starts: {done} of {total} steps done in {run}', to: [sponsors], via: [mail] }
        backout: { kind: notify, message: '{run} is rolling back', to: [sponsors, dba], via: [mail, hook] }
      - { id: fail, title: Fail, owner: dba, expected: 1s, depends_on: [announce], action: { kind: shell, command: 'exit 1' } }
`);
    const runId = handle.workflowId;
    expect((await resultOf(handle)).status).toBe('backed_out');
    await waitFor('the three mails and the hook message', () => mailsOf(runId).length === 3 && hooksOf(runId).length === 1);
    const mails = mailsOf(runId);
    expect(mails[0]).toMatchObject({
      to: ['sam@example.com'],
      subject: `[REHEARSAL] ${runId}: Freeze starts: 0 of 2 steps done in ${runId}`,
    });
    expect(
      mails
        .slice(1)
        .map((m) => m.to[0])
        .sort(),
    ).toEqual(['bob@example.com', 'sam@example.com']);
    expect(mails.slice(1).every((m) => m.subject === `[REHEARSAL] ${runId}: ${runId} is rolling back`)).toBe(true);
    expect(hooksOf(runId)[0]!.body).toMatchObject({ event: { id: 'comms:announce:undo', kind: 'comms' }, people: ['sam', 'bob'] });
  }, 120_000);

  it('a step running past its plan is told of when a route asks for step_late; one on time is not', async () => {
    const handle = await h.start(`
name: notify-late
version: 1
${PEOPLE}
notifications:
  channels:${channels()}
  routes:
    - { on: [step_late], to: [lead], via: [hook] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: quick, title: Quick, owner: dba, expected: 1m, action: { kind: shell, command: "true" } }
      - { id: slow, title: Slow, owner: dba, expected: 1s, depends_on: [quick], action: { kind: shell, command: "sleep 4" } }
`);
    const runId = handle.workflowId;
    const late = await waitFor('the step_late message', () => hooksOf(runId).find((m) => m.body.event.kind === 'step_late'));
    // Told while the step still ran, not after.
    expect((await waitForState(handle, () => true)).steps.slow!.status).toBe('running');
    expect(late.body.event.id).toBe('step_late:slow');
    expect(late.body.message.title).toBe(`[REHEARSAL] ${runId}: Step slow (Slow) runs later than planned: 1s planned, not done yet`);
    expect(late.body.people).toEqual(['ana']);
    expect((await resultOf(handle)).status).toBe('completed');
    expect(hooksOf(runId).map((m) => m.body.event.id)).toEqual(['step_late:slow']);
  }, 120_000);
});
