/**
 * The live model of a run, from the record store: the runbook's recorded runs worth reading (as `cutover forecast`
 * reads them), fitted once. The console, `cutover status` and the status page each call this once per run they
 * watch, never per change. The store is given structurally, so this layer stays free of Prisma.
 */
import type { Runbook } from '../runbook/schema.js';
import { runsWorthReading } from './forecast.js';
import { liveModel, type LiveModel } from './live-forecast.js';
import type { TimedRun } from './runs.js';

/** What the model reads from the record store (the Prisma `RecordStore` satisfies it). */
export interface TimingStore<R extends Pick<TimedRun, 'endedAt' | 'status' | 'backoutStartedAt'>> {
  runbookRuns(runbookName: string): Promise<R[]>;
  runTimings(runs: readonly R[]): Promise<TimedRun[]>;
}

/** Fits the live model of a run of `runbook` (version `versionHash`) from the runs the store has recorded. */
export async function loadLiveModel<R extends Pick<TimedRun, 'endedAt' | 'status' | 'backoutStartedAt'>>(
  store: TimingStore<R>,
  runbook: Runbook,
  versionHash: string,
): Promise<LiveModel> {
  const runs = await store.runTimings(runsWorthReading(await store.runbookRuns(runbook.name)));
  return liveModel({ runbook, versionHash, runs });
}
