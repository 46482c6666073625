/**
 * Who is polling a task queue: the one way `status`, `doctor` and the status page learn whether a worker (or a pool's
 * worker) is alive. Temporal remembers a poller for minutes after it died, so "live" means it polled recently.
 */
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { poolTaskQueue } from '../runbook/pools.js';
import type { RunState, StepState } from '../run/state.js';

/**
 * A worker that polled within this long is taken as live. An idle worker's poll is a long poll that the server ends
 * after a minute and the worker renews at once, so a live worker is never much older than that.
 */
export const LIVE_POLLER_MS = 90_000;

// A CommonJS module: Node's ESM loader offers only its default export.
const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

export interface Poller {
  /** The worker's identity, e.g. `12345@db-host`. */
  identity: string;
  lastAccess: Date;
}

/** The live pollers of `taskQueue` for workflow tasks or activity tasks, newest first. */
export async function livePollers(
  client: Client,
  namespace: string,
  taskQueue: string,
  kind: 'workflow' | 'activity',
  now = Date.now(),
): Promise<Poller[]> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: kind === 'workflow' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (pollers ?? [])
    .map((p) => ({ identity: p.identity ?? '', lastAccess: timestampDate(p.lastAccessTime) }))
    .filter((p) => now - p.lastAccess.getTime() <= LIVE_POLLER_MS)
    .sort((a, b) => b.lastAccess.getTime() - a.lastAccess.getTime());
}

function timestampDate(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): Date {
  if (!ts) return new Date(0);
  return new Date(Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

/**
 * The pools that steps of `state` are running on (forward or back-out) but that no live worker polls: those steps
 * wait, and only a person starting `cutover worker --pool NAME` on the right machine moves them on.
 */
export async function unservedPools(client: Client, namespace: string, taskQueue: string, state: RunState): Promise<string[]> {
  const busy = new Set<string>();
  for (const step of Object.values(state.steps)) {
    if (waitsForPool(step)) busy.add(step.runsOn!);
  }
  const unserved: string[] = [];
  for (const pool of [...busy].sort()) {
    if ((await livePollers(client, namespace, poolTaskQueue(taskQueue, pool), 'activity')).length === 0) unserved.push(pool);
  }
  return unserved;
}

/** A step that runs (not simulated) on a pool right now, forward or undoing: it needs a worker of that pool. */
export function waitsForPool(step: StepState): boolean {
  return step.runsOn !== undefined && step.treatment === 'run' && (step.status === 'running' || step.backout?.status === 'running');
}
