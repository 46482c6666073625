/**
 * Who is polling a task queue: the one way `status`, `doctor` and the status page learn whether a worker (or a pool's
 * worker) is alive. Temporal remembers a poller for minutes after it died, so "live" means it polled recently.
 */
import type { Client } from '@temporalio/client';
// A CommonJS module: Node's ESM loader finds no named exports in it (vitest's loader does, so only dist/ shows it).
import proto from '@temporalio/proto';

const { temporal } = proto;

/**
 * A worker that polled within this long is taken as live. An idle worker's poll is a long poll that the server ends
 * after a minute and the worker renews at once, so a live worker is never much older than that.
 */
export const LIVE_POLLER_MS = 90_000;

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
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType:
      kind === 'workflow'
        ? temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
        : temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
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
