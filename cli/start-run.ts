/**
 * `cutover rehearse FILE` and `cutover run FILE --live --confirm`: reserve the run in the record store, check what a
 * live run needs, start it in Temporal, host it in this process on the embedded default, and follow it.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import type { RecordStore } from '../prisma/record-store.js';
import type { RunRecord } from '../prisma/records.js';
import { liveRunProblems } from '../runbook/validate.js';
import type { RunInput, RunMode, RunResult } from '../run/state.js';
import { RUN_WORKFLOW_TYPE, WORKFLOW_VERSION, WORKFLOW_VERSION_MEMO } from '../workflows/messages.js';
import { EnvironmentError, EXIT, InvalidRunbookError, UsageError } from './errors.js';
import { backoutForecast, runsWorthReading } from '../timing/forecast.js';
import { checkLiveStart, type SignOverride } from './live-start-check.js';
import { commandName } from './command-name.js';
import type { ConsoleHandle } from './console/open-console.js';
import { followRun } from './follow-run.js';
import { formatProblem } from '../lib/yaml-document/problems.js';
import { loadRunbook, type LoadedRunbook } from './load-runbook.js';
import { connectTemporal, grpcDetail, isConnectionLost, isMissingSearchAttribute, type TemporalSession } from './temporal.js';
import { onStopRequest } from './signals.js';
import { unservedPools } from './task-queues.js';
import type { Output } from './output.js';
import { loadLiveModel } from '../timing/live-model-source.js';
import { openRecordStore } from '../prisma/store.js';
import { readSettings } from './settings.js';
import { updateTimeoutMs } from './send-request.js';
import { shortHash } from '../run/version-hash.js';

/** Search attributes that make the stock `temporal workflow list` show runbook and mode. */
export const SEARCH_ATTRIBUTES = {
  runbook: defineSearchAttributeKey('CutoverRunbook', SearchAttributeType.KEYWORD),
  mode: defineSearchAttributeKey('CutoverMode', SearchAttributeType.KEYWORD),
};

export interface StartOptions {
  file: string;
  mode: RunMode;
  autoApprove: boolean;
  startedBy: string;
  /** `run --live --override-evidence REASON`: the lead goes live without the rehearsal evidence (recorded). */
  overrideEvidence?: string;
  /** `run --live --override-window REASON`: the lead goes live outside the change window or into a freeze (recorded). */
  overrideWindow?: string;
  out: Output;
  /** Follow the run in the Ink console rather than with lines (the caller checked for a terminal). */
  console?: boolean;
}

/** `cutover rehearse FILE` and `cutover run FILE --live --confirm`: start, host and follow a run. */
export async function startAndFollow(options: StartOptions): Promise<number> {
  const { out } = options;
  const loaded = loadRunbook(options.file);
  for (const warning of loaded.warnings) out.warn(`warning: ${formatProblem(warning)}`);
  if (options.mode === 'live') {
    const problems = liveRunProblems(loaded.runbook);
    if (problems.length > 0) {
      throw new InvalidRunbookError(loaded.file, [`${options.file} cannot run live: ${problems.map((p) => p.message).join('; ')}`]);
    }
  }
  const settings = readSettings();
  // What --auto-approve sends waits for the run's answer as long as a person's request would; a bad value is said now.
  const requestTimeoutMs = options.autoApprove ? updateTimeoutMs() : undefined;
  const store = await openRecordStore(settings);
  let record: RunbookRecord;
  let evidenceOverride: SignOverride | undefined;
  try {
    // The runbook's runs, read once: the evidence a live run needs, then the measured back-out, worked out while
    // Temporal is reached (and the embedded worker starts).
    const runs = await store.runbookRuns(loaded.runbook.name);
    if (options.mode === 'live') evidenceOverride = checkLiveStart(runs, loaded, options, Date.now());
    record = runbookRecord(store, loaded, runs);
  } catch (err) {
    await store.close();
    throw err;
  }
  let session: TemporalSession | undefined;
  let ui: ConsoleHandle | undefined;
  const stopFollowing = new AbortController();
  // Ctrl-C, SIGTERM or a closed terminal (SIGHUP): stop following, then stop in good order (see signals.ts).
  const stopListening = onStopRequest(() => stopFollowing.abort());
  try {
    session = await connectTemporal(settings, { startEmbedded: true, afterRestart: 'the run continues' });
    // The embedded default hosts the run here; with a cluster, `cutover worker` processes do,
    // and this process only starts and follows it.
    if (session.embedded) await session.startWorker(store);
    const { runId, handle } = await startRun(session, store, loaded, options.mode, options.startedBy, options.autoApprove, {
      record,
      ...(evidenceOverride ? { signOverride: evidenceOverride } : {}),
    });
    out.line(
      `${options.mode === 'live' ? 'LIVE RUN' : 'rehearsal'} ${runId} of ${loaded.runbook.name} v${loaded.runbook.version} (${shortHash(loaded.versionHash)})`,
    );
    out.line(
      `  Temporal ${session.address} namespace ${session.namespace}${session.uiUrl ? `, UI ${session.uiUrl}/namespaces/${session.namespace}/workflows/${runId}` : ''}`,
    );
    out.line(`  watch: ${commandName()} status ${runId}    back out: ${commandName()} backout ${runId} --as <lead> --reason "..."`);

    const stop = new Promise<'interrupted'>((resolve) => {
      if (stopFollowing.signal.aborted) resolve('interrupted');
      stopFollowing.signal.addEventListener('abort', () => resolve('interrupted'), { once: true });
    });
    // The console shows the run itself; lines would tear its screen. With --auto-approve, following still
    // reads the run to answer for people.
    if (options.console) {
      // Loaded only here: Ink and React are not worth their start-up time to commands that draw no console.
      const { openConsole } = await import('./console/open-console.js');
      // Fitted once from the recorded rehearsals; a store that cannot say costs the header its forecast, not the run.
      const forecastModel = await loadLiveModel(store, loaded.runbook, loaded.versionHash).catch(() => undefined);
      ui = openConsole({
        client: session.client,
        handle,
        store,
        runbook: loaded.runbook,
        ...(forecastModel ? { forecastModel } : {}),
        identity: options.startedBy,
        onInterrupt: () => stopFollowing.abort(),
      });
    }
    let settled = false;
    void ui?.closed.then(() => {
      ui?.close();
      if (!settled && !stopFollowing.signal.aborted) {
        out.line(
          `left the console; ${runId} goes on${session!.embedded ? ', hosted by this process until it ends (Ctrl-C stops hosting it)' : ''}; ` +
            `\`${commandName()} attach ${runId}\` opens the console again`,
        );
      }
    });
    const follow = followRun(handle, {
      runbook: loaded.runbook,
      autoApprove: options.autoApprove,
      ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
      write: (line) => {
        if (!ui) out.line(line);
      },
      watch: !ui || options.autoApprove,
      signal: stopFollowing.signal,
      // A restarting embedded server, a cluster's blip: keep waiting for the run's result for a while.
      retry: (err, failingForMs) => isConnectionLost(err) && failingForMs < RECONNECT_PATIENCE_MS,
      // On the embedded server every pool is this machine; on a cluster, say when a pinned step has nobody to run it.
      ...(session.embedded
        ? {}
        : { unservedPools: (state) => unservedPools(session!.client, session!.namespace, session!.taskQueue, state) }),
    }).catch((err: unknown) => {
      // The engine itself gave up on the run (not a backed-out run: those end normally).
      if (err instanceof WorkflowFailedError) {
        out.line(`${runId} FAILED: ${err.cause?.message ?? err.message}`);
        return 'failed' as const;
      }
      if (isConnectionLost(err)) {
        throw new EnvironmentError(
          `lost Temporal at ${session!.address} for more than ${RECONNECT_PATIENCE_MS / 60_000} minutes while following ${runId} ` +
            `(${(err as Error).message.split('\n')[0]}); the run is kept in Temporal: \`${commandName()} status ${runId}\` shows it once Temporal is back`,
        );
      }
      throw err;
    });
    // The embedded server died and could not be restarted: say so in one sentence, exit 6.
    const result = await Promise.race([follow, stop, session.serverLost]).finally(() => (settled = true));
    // The run ended with the console open: it stays, showing how, until the person leaves.
    if (ui && result !== 'interrupted') await Promise.race([ui.closed, stop]);
    ui?.close();
    ui = undefined;
    if (result === 'failed') return EXIT.failed;
    if (result === 'interrupted') {
      out.warn(
        `stopped following ${runId}; the run itself is kept in Temporal` +
          (session.embedded ? ' and goes on when `cutover worker` (or another rehearse) runs here' : ' and goes on on your workers'),
      );
      return EXIT.interrupted;
    }
    return reportResult(result, out);
  } finally {
    ui?.close();
    stopListening();
    // Whatever ended the command, stop waiting for the run's result before the connection closes.
    stopFollowing.abort();
    await session?.close();
    // Never left reading the store it is about to close (a command that failed before the run was reserved).
    await record.backoutP90Ms;
    await store.close();
  }
}

/**
 * What the record store says about a runbook when a run of it starts, read once per start: its runs (the evidence a
 * live run needs), and the measured back-out for the run's point of no return. Read before the run is reserved, so it
 * learns only from runs before it.
 */
export interface RunbookRecord {
  /** The runbook's recorded runs, newest first. */
  runs: RunRecord[];
  /**
   * The back-out's P90 the forecast measures in the runbook's recorded back-outs, when the run's point of no return
   * needs it; worked out in the background (never rejects: a store that cannot say leaves the planned back-out).
   */
  backoutP90Ms: Promise<number | undefined>;
}

/** Reads {@link RunbookRecord}: one query for the runs, and the step timings only when the back-out needs them. */
export async function readRunbookRecord(store: RecordStore, loaded: LoadedRunbook): Promise<RunbookRecord> {
  return runbookRecord(store, loaded, await store.runbookRuns(loaded.runbook.name));
}

/** {@link RunbookRecord} from the runs already read; starts working out the measured back-out. */
export function runbookRecord(store: RecordStore, loaded: LoadedRunbook, runs: RunRecord[]): RunbookRecord {
  return { runs, backoutP90Ms: measuredBackout(store, loaded, runs).catch(() => undefined) };
}

/**
 * The back-out's P90 as `cutover forecast` measures it (the figure it keeps free before the window ends), for the
 * run's gates' point of no return; undefined when there is none to give it to (no window, no gate), nothing to undo,
 * or no run of the runbook backed out: the run then uses the planned back-out. Only the back-out is simulated.
 */
async function measuredBackout(store: RecordStore, loaded: LoadedRunbook, history: readonly RunRecord[]): Promise<number | undefined> {
  const steps = loaded.runbook.phases.flatMap((phase) => phase.steps);
  if (!loaded.runbook.window || !steps.some((step) => step.gate) || !steps.some((step) => step.backout)) return undefined;
  if (!history.some((run) => run.backoutEndedAt !== null)) return undefined;
  const runs = await store.runTimings(runsWorthReading(history));
  const backout = backoutForecast({ runbook: loaded.runbook, versionHash: loaded.versionHash, runs });
  return backout.source === 'measured' ? backout.p90Ms : undefined;
}

/** How long following a run survives Temporal being out of reach (an embedded server restarting, a cluster's blip). */
const RECONNECT_PATIENCE_MS = 2 * 60_000;

/** Prints the run's outcome and returns the exit code that goes with it. */
export function reportResult(result: RunResult, out: Output): number {
  const runId = result.summary?.runId ?? result.state?.runId ?? '';
  out.line(`${runId} ${result.status.toUpperCase().replace('_', ' ')}: ${result.outcome}`);
  if (result.status === 'completed') return EXIT.ok;
  if (result.status === 'backed_out') return EXIT.backedOut;
  return EXIT.failed;
}

/**
 * Reserves the run number in the record store, then starts the workflow. If Temporal refuses,
 * the reservation is removed again: no half-written record.
 */
export async function startRun(
  session: TemporalSession,
  store: RecordStore,
  loaded: LoadedRunbook,
  mode: RunMode,
  startedBy: string,
  autoApprove = false,
  extra: { signOverride?: SignOverride; record?: RunbookRecord } = {},
) {
  const { runbook } = loaded;
  const backoutP90Ms = await (extra.record ?? (await readRunbookRecord(store, loaded))).backoutP90Ms;
  const { runId, number } = await store.reserveRun({
    runbookName: runbook.name,
    mode,
    runbookVersion: runbook.version,
    versionHash: loaded.versionHash,
    runbookSource: loaded.source,
    startedBy,
    autoApprove: autoApprove && mode === 'rehearsal',
    baseDir: loaded.baseDir,
    ...(runbook.window?.start ? { plannedStart: runbook.window.start } : {}),
  });
  const input: RunInput = {
    runId,
    runNumber: number,
    versionHash: loaded.versionHash,
    mode,
    startedBy,
    baseDir: loaded.baseDir,
    // The embedded server is one machine: every pool is here, so pinned steps go to whoever hosts the run.
    ...(session.embedded ? { oneMachine: true } : {}),
    ...(autoApprove && mode === 'rehearsal' ? { autoApprove: true } : {}),
    ...(extra.signOverride && mode === 'live' ? { evidenceOverride: extra.signOverride(runId) } : {}),
    ...(backoutP90Ms !== undefined ? { backoutP90Ms } : {}),
  };
  const start = (withSearchAttributes: boolean) =>
    session.client.workflow.start(RUN_WORKFLOW_TYPE, {
      taskQueue: session.taskQueue,
      workflowId: runId,
      args: [input],
      // The workflow code's version: `cutover doctor` tells from it which patches open runs still need.
      memo: {
        runbook: runbook.name,
        version: runbook.version,
        versionHash: loaded.versionHash,
        mode,
        startedBy,
        [WORKFLOW_VERSION_MEMO]: WORKFLOW_VERSION,
      },
      ...(withSearchAttributes
        ? {
            typedSearchAttributes: new TypedSearchAttributes([
              { key: SEARCH_ATTRIBUTES.runbook, value: runbook.name },
              { key: SEARCH_ATTRIBUTES.mode, value: mode },
            ]),
          }
        : {}),
    });
  try {
    try {
      return { runId, number, handle: await start(true) };
    } catch (err) {
      // A cluster without cutover's search attributes refuses them; the memo still carries
      // runbook and mode (`temporal operator search-attribute create` adds them, `cutover doctor` says so).
      if (!isMissingSearchAttribute(err)) throw err;
      return { runId, number, handle: await start(false) };
    }
  } catch (err) {
    await store.discardRun(runId);
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new UsageError(
        `Temporal already has a run ${runId} that the record store does not know; was the store (${readSettings().databaseDisplay}) reset? Use another CUTOVER_HOME or restore it`,
      );
    }
    throw new EnvironmentError(
      `Temporal at ${session.address} refused to start ${runId} (${grpcDetail(err).split('\n')[0]}); nothing was recorded`,
    );
  }
}
