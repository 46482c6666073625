/**
 * How far long steps got, from what their activities report in heartbeats: a comparison's rows
 * read per side (and its round, for a repeating check). Temporal keeps the latest heartbeat of
 * each pending activity; the run state does not carry it (it would change every second).
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { formatCount } from '../reconcile/format.js';

/** What `heartbeat` details say while a comparison runs (the `reconcile` activity sends it; `cutover status` shows it). */
export interface ReconcileHeartbeat {
  reconcile: { step: string; check: string; round: number; phase: string; rows_read: { source: number; target: number } };
}

/** Step id -> what its running comparison has done so far, in words. */
export type ProgressNotes = Record<string, string>;

const n = formatCount;

/** The progress of the run's running steps; empty when Temporal cannot say (it is extra information). */
export async function progressNotes(client: Client, handle: WorkflowHandle): Promise<ProgressNotes> {
  const progress: ProgressNotes = {};
  try {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    for (const activity of pending) {
      const payloads = activity.heartbeatDetails?.payloads;
      if (!payloads || payloads.length === 0) continue;
      const [details] = (await decodeArrayFromPayloads(client.options.loadedDataConverter, payloads)) as [unknown];
      const reconcile = (details as Partial<ReconcileHeartbeat> | undefined)?.reconcile;
      if (!reconcile?.step) continue;
      const what = reconcile.check ? `check "${reconcile.check}"` : 'comparison';
      const round = reconcile.round > 1 ? `, round ${reconcile.round}` : '';
      progress[reconcile.step] =
        `${what} ${reconcile.phase}${round}: ${n(reconcile.rows_read.source)} source and ${n(reconcile.rows_read.target)} target rows read`;
    }
  } catch {
    // The state was answered; progress is not worth failing for.
  }
  return progress;
}
