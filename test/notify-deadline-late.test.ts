/**
 * A gate's deadline reminders when their timers are handled late. The 15- and 5-minute reminders come from one timer
 * loop; when no worker polls while a moment passes (a restart, a rolling upgrade, a worker too busy to take its task),
 * the reminder goes out once one polls again. Before, it went out with its own minutes ("closes in 15 minutes" with 14
 * left), and a more urgent reminder whose moment had passed as well was skipped. Real Temporal (the shared dev server:
 * a time-skipping server does not move its clock while a task waits for a worker, so the minute passes for real), the
 * product's worker, a real webhook receiver; the choice between reminders as a pure function.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeConnection, Worker } from '@temporalio/worker';
import { deadlineReminder } from '../notify/run-events.js';
import { approveGateUpdate } from '../workflows/messages.js';
import { createWorker, installQuietRuntime } from '../worker/create-worker.js';
import { startHookReceiver, type HookReceiver, waitFor } from './support/notify-receivers.js';
import { temporalAddress } from './support/temporal.js';
import { resultOf, startHarness, waitForState, workflowBundle, type Harness } from './support/workflow-harness.js';

const SECRET = 'notify-deadline-late-secret-0123';
process.env.NOTIFY_DEADLINE_LATE_SECRET = SECRET;
const MINUTE = 60_000;

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

describe('a deadline reminder handled late, on a real run', () => {
  let h: Harness;
  let hook: HookReceiver;
  let native: NativeConnection;
  beforeAll(async () => {
    installQuietRuntime();
    [h, hook, native] = await Promise.all([
      startHarness({ withWorker: false }),
      startHookReceiver(SECRET),
      NativeConnection.connect({ address: temporalAddress() }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([h?.stop(), hook?.close()]);
    await native?.close();
  });

  /** A worker of the product for the harness's queue and store; `stop()` shuts it down and waits for it. */
  async function startWorker(): Promise<{ stop(): Promise<void> }> {
    const worker = await createWorker({
      connection: native,
      namespace: 'default',
      taskQueue: h.taskQueue,
      store: h.store,
      workflows: { workflowBundle: await workflowBundle() },
    });
    const running = worker.run();
    return {
      async stop() {
        worker.shutdown();
        await running;
      },
    };
  }

  it('a worker away for the minute after the 15-minute moment: told when one polls again, saying the 14 minutes left', async () => {
    let worker = await startWorker();
    const handle = await h.start(`
name: deadline-late
version: 1
lead: lead
roles: { lead: [lea], approvers: [ben] }
notifications:
  channels:
    hook: { kind: webhook, url: '${hook.url}', secret: '\${env:NOTIFY_DEADLINE_LATE_SECRET}' }
  routes:
    - { on: [gate_deadline], via: [hook] }
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [approvers], deadline: { after_opening: 15m1s, decides: no-go } } }
`);
    const open = await waitForState(handle, (s) => s.steps.go!.gate?.status === 'open');
    await worker.stop();
    // The 15-minute moment is a second after the gate opened; the worker is back a minute later, 13m58s before the end.
    const closes = Date.parse(open.steps.go!.gate!.closesAt!);
    await new Promise((r) => setTimeout(r, Math.max(0, closes - 14 * MINUTE + 2_000 - Date.now())));
    worker = await startWorker();
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
      const replays = Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, [
        { workflowId: handle.workflowId, history: await handle.fetchHistory() },
      ]);
      for await (const replay of replays) expect(replay.error?.message).toBeUndefined();
    } finally {
      await worker.stop();
    }
  }, 150_000);
});
