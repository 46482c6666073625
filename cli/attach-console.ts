/**
 * `cutover attach RUN`: the console on a run in flight, from any terminal, as many at once as people
 * want. Leaving (q) only stops watching. Without a terminal it follows the run with the plain lines
 * `rehearse` prints, until the run ends. A run that has ended is shown from the record store.
 */
import { parseRunbook } from '../runbook/parse.js';
import type { RunState } from '../run/state.js';
import type { Runbook } from '../runbook/schema.js';
import type { RunSource } from './console/run-poller.js';
import { CutoverError, EXIT, UnknownRunError } from './errors.js';
import { followRun } from './follow-run.js';
import type { Output } from './output.js';
import { reportResult } from './start-run.js';
import { readSettings } from './settings.js';
import { onStopRequest } from './signals.js';
import { openRecordStore } from '../prisma/store.js';
import { loadLiveModel } from '../timing/live-model-source.js';
import { connectTemporal, isConnectionLost, type TemporalSession } from './temporal.js';

export interface AttachOptions {
  as?: string;
  /** Open the console (the caller checked for a terminal); otherwise follow with lines. */
  console: boolean;
}

/** How long following survives Temporal being out of reach. */
const RECONNECT_PATIENCE_MS = 2 * 60_000;

export async function attach(runId: string, options: AttachOptions, out: Output): Promise<number> {
  const settings = readSettings();
  const store = await openRecordStore(settings);
  let session: TemporalSession | undefined;
  const stop = new AbortController();
  const stopListening = onStopRequest(() => stop.abort());
  try {
    const record = await store.findRun(runId);
    const runbook = record ? runbookOf(record.runbookSource) : undefined;
    try {
      session = await connectTemporal(settings, { startEmbedded: false, purpose: `attach to ${runId}` });
    } catch (err) {
      // Temporal away: a run that ended is still there to see, in the record store.
      if (!(record?.endedAt && record.state && options.console && err instanceof CutoverError)) {
        if (!record && err instanceof CutoverError) throw new UnknownRunError(runId);
        throw err;
      }
    }
    if (!session && !record?.endedAt) throw new UnknownRunError(runId);
    const handle = session?.client.workflow.getHandle(runId);
    if (handle && !record) {
      try {
        await handle.describe();
      } catch (err) {
        if ((err as Error).name === 'WorkflowNotFoundError') throw new UnknownRunError(runId);
        throw err;
      }
    }
    if (options.console) {
      const { openConsole } = await import('./console/open-console.js');
      // Fitted once from the runbook's recorded runs; without them the header has no forecast, the console still opens.
      const forecastModel =
        runbook && record && !record.endedAt ? await loadLiveModel(store, runbook, record.versionHash).catch(() => undefined) : undefined;
      const ui = openConsole({
        ...(forecastModel ? { forecastModel } : {}),
        ...(session && handle ? { client: session.client, handle } : { source: recordedOnly(record!.state!) }),
        store,
        ...(runbook ? { runbook } : {}),
        ...(options.as ? { identity: options.as } : {}),
        onInterrupt: () => stop.abort(),
      });
      const stopped = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
      await Promise.race([ui.closed, stopped]);
      ui.close();
      return EXIT.ok;
    }
    if (!runbook || !handle) throw new UnknownRunError(runId);
    const result = await followRun(handle, {
      runbook,
      autoApprove: false,
      write: (line) => out.line(line),
      signal: stop.signal,
      retry: (err, failingForMs) => isConnectionLost(err) && failingForMs < RECONNECT_PATIENCE_MS,
    }).catch((err: unknown) => {
      if (stop.signal.aborted) return undefined;
      throw err;
    });
    if (!result) {
      out.warn(`stopped following ${runId}; the run goes on`);
      return EXIT.interrupted;
    }
    return reportResult(result, out);
  } finally {
    stopListening();
    stop.abort();
    await session?.close();
    await store.close();
  }
}

/** The runbook a run was started with, as the record store keeps its source. */
function runbookOf(source: string): Runbook | undefined {
  const parsed = parseRunbook(source, 'runbook');
  return parsed.ok ? parsed.runbook : undefined;
}

/** A source for a run only the record store can show. */
function recordedOnly(state: RunState): RunSource {
  return {
    summary: () => Promise.reject(new Error('Temporal is not reachable')),
    page: () => Promise.reject(new Error('Temporal is not reachable')),
    recorded: async () => state,
  };
}
