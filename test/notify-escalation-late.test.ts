/**
 * Escalations whose timers are handled late. The deputy's moment and the lead's are told one after the other from one
 * timer loop; when the deputy's timer is handled only after the lead's moment has passed (no worker polled then: a
 * restart, a rolling upgrade, or a worker too busy to take its task in time), both must still be told. Before, the
 * lead's was skipped as if an earlier execution had told it, and on a loaded fresh clone `notify-escalation` waited
 * for it in vain (fresh-31). Real Temporal, the product's worker, a real webhook receiver.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeConnection, Worker } from '@temporalio/worker';
import { completeManualStepUpdate } from '../workflows/messages.js';
import { createWorker, installQuietRuntime } from '../worker/create-worker.js';
import { startHookReceiver, type HookReceiver, waitFor } from './support/notify-receivers.js';
import { temporalAddress } from './support/temporal.js';
import { resultOf, startHarness, waitForState, workflowBundle, type Harness } from './support/workflow-harness.js';

const SECRET = 'notify-escalation-late-secret-0123';
process.env.NOTIFY_ESCALATION_LATE_SECRET = SECRET;

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

describe('escalation timers handled late', () => {
  it('a worker away while both moments pass: when one polls again, the deputy and then the lead are told, each once', async () => {
    const name = `late-${randomUUID().slice(0, 8)}`;
    let worker = await startWorker();
    const handle = await h.start(`
name: ${name}
version: 1
lead: lead
roles: { lead: [lea], dba: [ana] }
deputies: { dba: [dan] }
people: { dan: {} }
notifications:
  channels:
    hook: { kind: webhook, url: '${hook.url}', secret: '\${env:NOTIFY_ESCALATION_LATE_SECRET}' }
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
    worker = await startWorker();
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
      const replays = Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, [
        { workflowId: runId, history: await handle.fetchHistory() },
      ]);
      for await (const replay of replays) expect(replay.error?.message).toBeUndefined();
    } finally {
      await worker.stop();
    }
  }, 120_000);
});
