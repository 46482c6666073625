/**
 * Notices whose timers are handled late: no worker polled as their moment passed (a restart, a rolling upgrade, or a
 * worker too busy to take its task in time), and they go out once one polls again.
 * - Escalations: the deputy's moment and the lead's come from one timer loop; when the deputy's timer is handled only
 *   after the lead's moment has passed, both must still be told. Before, the lead's was skipped as if an earlier
 *   execution had told it, and on a loaded fresh clone `notify-escalation` waited for it in vain (fresh-31).
 * - A gate's deadline reminders (15 and 5 minutes before): a late one says the minutes truly left, and of two held up
 *   only the more urgent goes out. Before, it went out with its own minutes ("closes in 15 minutes" with 14 left), and
 *   the more urgent one was skipped. The minute passes for real: a time-skipping server does not move its clock while
 *   a task waits for a worker.
 * Real Temporal (the shared dev server), the product's worker, a real webhook receiver; the choice between reminders
 * also as a pure function.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadlineReminder } from '../notify/run-events.js';
import { approveGateUpdate, completeManualStepUpdate } from '../workflows/messages.js';
import { startHookReceiver, type HookReceiver, waitFor } from './support/notify-receivers.js';
import {
  replaceableWorker,
  replayErrors,
  resultOf,
  startHarness,
  waitForState,
  type Harness,
  type ReplaceableWorker,
} from './support/workflow-harness.js';

const SECRET = 'notify-late-timers-secret-0123';
process.env.NOTIFY_LATE_TIMERS_SECRET = SECRET;
const MINUTE = 60_000;

let h: Harness;
let hook: HookReceiver;
let worker: ReplaceableWorker;

beforeAll(async () => {
  [h, hook] = await Promise.all([startHarness({ withWorker: false }), startHookReceiver(SECRET)]);
  worker = await replaceableWorker(h);
}, 120_000);
afterAll(async () => {
  await worker?.close();
  await Promise.all([h?.stop(), hook?.close()]);
});

describe('escalation timers handled late', () => {
  it('a worker away while both moments pass: when one polls again, the deputy and then the lead are told, each once', async () => {
    const name = `late-${randomUUID().slice(0, 8)}`;
    await worker.start();
    const handle = await h.start(`
name: ${name}
version: 1
lead: lead
roles: { lead: [lea], dba: [ana] }
deputies: { dba: [dan] }
people: { dan: {} }
notifications:
  channels:
    hook: { kind: webhook, url: '${hook.url}', secret: '\${env:NOTIFY_LATE_TIMERS_SECRET}' }
  routes:
    - { on: [escalated], via: [hook] }
phases:
  - id: prep
    kind: preparation
    steps:
      - { id: quiet, title: Nobody answers, owner: dba, ack_within: 2s, action: { kind: manual } }
`);
    const runId = handle.workflowId;
    const waiting = await waitForState(handle, (s) => s.steps.quiet!.waitingFor === 'manual');
    await worker.stop();
    // The deputy's moment is 2 s after the wait began, the lead's 4 s: both pass with no worker polling.
    const since = Date.parse(waiting.steps.quiet!.startedAt!);
    await new Promise((r) => setTimeout(r, Math.max(0, since + 5_000 - Date.now())));
    await worker.start();
    try {
      const told = () =>
        hook
          .kept()
          .filter((m) => m.body.event.runId === runId)
          .map((m) => m.body.event.id);
      await waitFor('the escalation to the lead', () => told().includes('escalated:quiet:lead'), 45_000, told);
      expect(told().filter((id) => id.startsWith('escalated:'))).toEqual(['escalated:quiet:deputy', 'escalated:quiet:lead']);
      await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'quiet', by: 'ana' }] });
      expect((await resultOf(handle)).status).toBe('completed');
      // The run replays its history command for command.
      expect(await replayErrors(handle)).toEqual([]);
    } finally {
      await worker.stop();
    }
  }, 120_000);
});

describe('which deadline reminder a timer handled at a given moment tells', () => {
  const closes = Date.parse('2026-12-07T22:00:00Z');
  const at = (minutesBefore: number) => closes - minutesBefore * MINUTE;
  it('on time: its own minutes', () => {
    expect(deadlineReminder(closes, 15, 5, at(15))).toEqual({ overtaken: false, left: 15 });
    expect(deadlineReminder(closes, 5, undefined, at(5))).toEqual({ overtaken: false, left: 5 });
  });
  it('late: the minutes truly left, rounded up', () => {
    expect(deadlineReminder(closes, 15, 5, at(13) + 1_000)).toEqual({ overtaken: false, left: 13 });
    expect(deadlineReminder(closes, 5, undefined, at(0.5))).toEqual({ overtaken: false, left: 1 });
  });
  it('so late that the next reminder is due too: passed over for that one', () => {
    expect(deadlineReminder(closes, 15, 5, at(5)).overtaken).toBe(true);
    expect(deadlineReminder(closes, 15, 5, at(4)).overtaken).toBe(true);
    expect(deadlineReminder(closes, 5, undefined, at(4))).toEqual({ overtaken: false, left: 4 });
  });
});

describe('deadline reminders handled late', () => {
  it('a worker away for the minute after the 15-minute moment: told when one polls again, saying the 14 minutes left', async () => {
    await worker.start();
    const handle = await h.start(`
name: deadline-late
version: 1
lead: lead
roles: { lead: [lea], approvers: [ben] }
notifications:
  channels:
    hook: { kind: webhook, url: '${hook.url}', secret: '\${env:NOTIFY_LATE_TIMERS_SECRET}' }
  routes:
    - { on: [gate_deadline], via: [hook] }
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [approvers], deadline: { after_opening: 15m20s, decides: no-go } } }
`);
    const open = await waitForState(handle, (s) => s.steps.go!.gate?.status === 'open');
    await worker.stop();
    // The 15-minute moment is 20 s after the gate opened, and the worker is gone before it (a stopping worker still
    // takes the tasks of the poll it has under way); one is back 13m58s before the end.
    const closes = Date.parse(open.steps.go!.gate!.closesAt!);
    expect(Date.now(), 'the worker took longer than 20 s to stop').toBeLessThan(closes - 15 * MINUTE);
    await new Promise((r) => setTimeout(r, Math.max(0, closes - 14 * MINUTE + 2_000 - Date.now())));
    await worker.start();
    try {
      const told = () =>
        hook
          .kept()
          .filter((m) => m.body.event.runId === handle.workflowId)
          .map((m) => `${m.body.event.id} ${m.body.message.title.replace(/^\[REHEARSAL\] \S+: /, '')}`);
      await waitFor('the reminder', () => told().length > 0, 45_000, told);
      expect(told()).toEqual(['gate_deadline:go:15m Gate go closes in 14 minutes and then decides no-go by itself']);
      await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'ben' }] });
      expect((await resultOf(handle)).status).toBe('completed');
      // The run replays its history command for command.
      expect(await replayErrors(handle)).toEqual([]);
    } finally {
      await worker.stop();
    }
  }, 150_000);
});
