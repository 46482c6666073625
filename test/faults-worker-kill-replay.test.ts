/**
 * A history recorded by `npm run bench -- survive` (worker kills, seed 20261123 + 2): a run whose
 * worker was SIGKILLed while a step ran. When the step's heartbeat timed out, the new worker got,
 * in one workflow task, both that timeout (the step's outcome is unknown; the run records it)
 * and the lead's `cutover resolve` Update for the step. Every later worker fails to replay that
 * task ("[TMPRL1100] Nondeterminism error: Update machine does not handle this event:
 * HistoryEvent(id: 151, ActivityTaskScheduled)"), so the run never moves again: a kill turns
 * into a run stuck for good. A run in flight must replay on any worker.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { expect, it } from 'vitest';
import { workflowBundle } from './support/workflow-harness.js';

it('a run whose worker was killed while the lead resolved a step replays on the next worker', async () => {
  const file = path.join(import.meta.dirname, 'faults-histories', 'worker-killed-update-with-activity.json');
  const history = temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, [{ workflowId: 'survive-worker-3-1', history }])) {
    if (result.error) failures.push(result.error.message);
  }
  expect(failures).toEqual([]);
}, 120_000);
