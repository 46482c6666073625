/**
 * The commands of one activation do not depend on the order of its jobs (issue 16; workflows/activation-order.ts).
 *
 * A person's Update and an activity's result can reach a run in one workflow task, and Temporal hands the two jobs to
 * the workflow in one order live and in another in replay. The kept history of a run a worker kill left stuck
 * (test/faults-histories/) replays now; and a run of today's workflow that took an Update and an activity's result in
 * one task (its workflow worker was away while the activity finished and the Update came) replays with the Update
 * handed over first or last, producing the same commands either way.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeManualStepUpdate } from '../workflows/messages.js';
import { createPoolWorker, createWorker } from '../worker/create-worker.js';
import { traceReplays, tracedBundle, type TracedReplay } from './support/replay-trace.js';
import { temporalAddress } from './support/temporal.js';
import { resultOf, startHarness, waitForState, workflowBundle, type Harness } from './support/workflow-harness.js';

const HistoryProto = temporal.api.history.v1.History;
const EventType = temporal.api.enums.v1.EventType;
const KEPT = path.resolve(import.meta.dirname, 'faults-histories/worker-killed-update-with-activity.json');

/** Replays `histories` with each activation's Updates handed over first, then last; both traces. */
async function inBothOrders(histories: Record<string, temporal.api.history.v1.IHistory>) {
  const support = (file: string) => path.resolve(import.meta.dirname, 'support', file);
  const first = await traceReplays(await tracedBundle([support('updates-first.ts')]), histories);
  const last = await traceReplays(await tracedBundle([support('updates-last.ts')]), histories);
  return { first, last };
}

/** Where the pinned step's activity (the one on a pool's queue) reported back, or -1. */
function farResult(events: temporal.api.history.v1.IHistoryEvent[]): number {
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.taskQueue?.name?.includes('elsewhere'))?.eventId;
  if (scheduled == null) return -1;
  return events.findIndex((e) => e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === scheduled.toString());
}

/** What an activation produced, whatever the order its jobs came in. */
const produced = (replay: TracedReplay) => replay.activations.map((a) => `${a.commands.join(', ')} #${a.fingerprint}`);

describe('one activation, one order of commands', () => {
  it('the history a worker kill left stuck (an Update and an activity timeout in one task) replays, in both orders alike', async () => {
    const kept = { kept: HistoryProto.fromObject(JSON.parse(readFileSync(KEPT, 'utf8')) as Record<string, unknown>) };
    const { first, last } = await inBothOrders(kept);
    expect(first.kept!.error).toBeUndefined();
    expect(last.kept!.error).toBeUndefined();
    expect(produced(last.kept!)).toEqual(produced(first.kept!));
  }, 180_000);

  describe('a run that takes an Update and an activity result in one task', () => {
    let h: Harness;
    let native: NativeConnection;
    const workers: Array<{ worker: Worker; running: Promise<void> }> = [];
    beforeAll(async () => {
      h = await startHarness({ withWorker: false });
      native = await NativeConnection.connect({ address: temporalAddress() });
    });
    afterAll(async () => {
      for (const w of workers) if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
      await Promise.all(workers.map((w) => w.running));
      await native?.close();
      await h?.stop();
    });
    const run = (worker: Worker) => {
      const entry = { worker, running: worker.run() };
      workers.push(entry);
      return entry;
    };

    it('replays with the Update handed over first or last, producing the same commands', async () => {
      const options = { connection: native, namespace: 'default', taskQueue: h.taskQueue, store: h.store };
      const hosting = run(await createWorker({ ...options, workflows: { workflowBundle: await workflowBundle() } }));
      const handle = await h.start(`
name: one-task
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: far, title: Far, owner: dba, expected: 1s, runs_on: elsewhere, action: { kind: shell, command: "true" } }
      - { id: hand, title: Hand, owner: dba, action: { kind: manual } }
      - { id: after, title: After, owner: dba, expected: 1s, depends_on: [far], action: { kind: shell, command: "true" } }
`);
      const workflowId = handle.workflowId;
      // The pinned step waits for a worker of its pool; the manual one for bob.
      await waitForState(handle, (s) => s.steps.far!.status === 'running' && s.steps.hand!.waitingFor === 'manual');

      // The run's worker goes away; its next task goes to the run's queue at once, not to the stopped worker's.
      hosting.worker.shutdown();
      await hosting.running;
      await h.client.workflowService.resetStickyTaskQueue({ namespace: 'default', execution: { workflowId } });

      // Meanwhile the pinned step finishes on its pool, and bob's `done` is admitted: both wait for the same task.
      run(await createPoolWorker({ ...options, pool: 'elsewhere' }));
      const completed = async () => farResult((await handle.fetchHistory()).events ?? []) >= 0;
      for (const deadline = Date.now() + 60_000; !(await completed());) {
        if (Date.now() > deadline) throw new Error('the pinned step never finished on its pool');
        await new Promise((r) => setTimeout(r, 100));
      }
      const updateId = randomUUID();
      const done = handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'hand', by: 'bob' }], updateId });
      // Admitted: the server holds it for the run's next task (a poll before the Update arrives finds nothing yet).
      for (const deadline = Date.now() + 60_000; ;) {
        try {
          await h.client.workflowService.pollWorkflowExecutionUpdate({
            namespace: 'default',
            updateRef: { workflowExecution: { workflowId }, updateId },
            identity: 'test',
            waitPolicy: {
              lifecycleStage:
                temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED,
            },
          });
          break;
        } catch (err) {
          if (!/not found/i.test((err as Error).message) || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }

      // A worker comes back: its first task holds the activity's result and the Update.
      run(await createWorker({ ...options, workflows: { workflowBundle: await workflowBundle() } }));
      await done;
      expect((await resultOf(handle)).status).toBe('completed');

      const history = await handle.fetchHistory();
      const events = history.events ?? [];
      // The task that accepted the Update came after the activity's result with no task between them.
      const accepted = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
      const result = farResult(events);
      const completedTasks = events.slice(result, accepted).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
      expect(completedTasks.length, 'one task between the result and the acceptance').toBe(1);

      const { first, last } = await inBothOrders({ live: history });
      expect(first.live!.error).toBeUndefined();
      expect(last.live!.error).toBeUndefined();
      expect(produced(last.live!)).toEqual(produced(first.live!));
    }, 240_000);
  });
});
