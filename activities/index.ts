/**
 * All activities of a worker, built from their dependencies (the record store, and `fetch`
 * for tests), so tests can pass fakes or real ones.
 */
import type { ActivityStore } from '../prisma/records.js';
import { createDeliveryActivities } from './deliver-notification.js';
import { createFreshnessActivities } from './freshness.js';
import { createParallelRunActivities } from './parallel-run.js';
import { createRecordingActivities } from './recording.js';
import { createSignatureActivities } from './signatures.js';
import { createCheckActivities, createStepActivities } from './steps.js';

/** What activities need from the process that hosts them. */
export interface ActivityDeps {
  store: ActivityStore;
  fetch?: typeof fetch;
  /** True once the hosting worker is shutting down (running commands are then left running). */
  workerStopping?: () => boolean;
  /** The worker's name as recorded with each step attempt it runs (`CUTOVER_WORKER_NAME`, or pid@host). */
  workerName?: string;
}

/** Every activity the run workflow calls. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createStepActivities(deps),
    ...createCheckActivities(deps),
    ...createRecordingActivities(deps.store),
    ...createSignatureActivities(),
    ...createFreshnessActivities(deps.fetch ? { fetch: deps.fetch } : {}),
    ...createParallelRunActivities(),
    // Registered with the worker; the workflow does not call it yet (issue 20: events come next).
    ...createDeliveryActivities({ store: deps.store, ...(deps.fetch ? { fetch: deps.fetch } : {}) }),
  };
}

export type { ActivityStore };
