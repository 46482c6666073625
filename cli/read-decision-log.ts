/**
 * A run's decision log as `cutover decisions` reads it: the record store's copy (the durable one), and while Temporal
 * still has the run, the run's own copy, its version and mode, and who sent each request.
 */
import type { RunDetail } from '../prisma/records.js';
import type { Decision, RunMode, RunResult, RunState } from '../run/state.js';
import { updateSenders } from '../common/update-senders.js';
import { UnknownRunError } from './errors.js';
import { runSummaryQuery } from '../workflows/messages.js';
import type { Settings } from './settings.js';
import { openRecordStore } from '../prisma/store.js';
import { connectTemporal, grpcDetail, isNoAnswer, type TemporalSession } from './temporal.js';

/** How long `decisions` waits for the record store to catch up with a run in flight. */
const CATCH_UP_MS = 10_000;

/** How long `decisions` asks Temporal before it answers from the record store alone. */
const READ_MS = 10_000;

/** What Temporal knows of a run's decisions. */
export interface RunInTemporal {
  /** The run's own copy of its log: the live state of a run in flight, the result of one that completed. */
  decisions?: Decision[];
  /** Why there is no copy of the run's own, when there is none: what an auditor is told the log was not compared with. */
  unread?: string;
  /** The version and mode the run itself holds (its state), where Temporal answered with it. */
  versionHash?: string;
  mode?: RunMode;
  /** The client identity that sent each Update (by Update id), from the histories of the run's executions. */
  senders: Map<string, string>;
}

/**
 * What Temporal still has of run `runId` (for the namespace's retention), and when it has no copy of the run's log,
 * why not: no server to ask, one that did not answer, the run gone from it, or a run that ended without a result.
 * `withSenders` also reads the histories of all its executions for who sent each request.
 */
export async function readRunInTemporal(settings: Settings, runId: string, withSenders: boolean): Promise<RunInTemporal> {
  const unread = (why: string): RunInTemporal => ({ unread: why, senders: new Map() });
  // Who was being waited for when the deadline passed: the server itself, or (for a run in flight, whose state only
  // a worker can tell) a worker that Temporal handed the query to.
  let waitingFor = 'Temporal' as 'Temporal' | 'a worker';
  let session: TemporalSession;
  try {
    session = await connectTemporal(settings, { startEmbedded: false, purpose: 'read the run' });
  } catch (err) {
    return unread(
      settings.temporalAddress === undefined && /embedded Temporal server is not running/.test((err as Error).message)
        ? 'no Temporal server to ask: the embedded one is not running here, and TEMPORAL_ADDRESS is not set'
        : `Temporal could not be reached: ${(err as Error).message.split('; ')[0]}`,
    );
  }
  try {
    const { client } = session;
    const handle = client.workflow.getHandle(runId);
    return await client.withDeadline(Date.now() + READ_MS, async () => {
      const { status, runId: latest } = await handle.describe();
      let state: Pick<RunState, 'decisions' | 'versionHash' | 'mode'> | undefined;
      if (status.name === 'RUNNING') {
        waitingFor = 'a worker';
        state = await handle.query(runSummaryQuery);
        waitingFor = 'Temporal';
      } else if (status.name === 'COMPLETED') {
        const result = (await handle.result()) as RunResult;
        state = result.summary ?? result.state;
      }
      // A run hands over to new executions as its history grows: a request may be in any of them.
      const senders = withSenders ? await updateSenders(client, runId, latest) : new Map<string, string>();
      return {
        ...(state?.decisions
          ? { decisions: state.decisions }
          : {
              unread: `the run is ${status.name.toLowerCase().replace('_', ' ')} in Temporal, which keeps its log only for a run in flight or completed`,
            }),
        ...(state?.versionHash ? { versionHash: state.versionHash } : {}),
        ...(state?.mode ? { mode: state.mode } : {}),
        senders,
      };
    });
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError')
      return unread(`Temporal has no run ${runId}: past the namespace's retention, or deleted`);
    if (isNoAnswer(err))
      return unread(
        waitingFor === 'a worker'
          ? `the run is in flight, and no worker answered Temporal's query of its log within ${READ_MS / 1000} s: is a \`cutover worker\` running for its task queue?`
          : `Temporal did not answer within ${READ_MS / 1000} s`,
      );
    return unread(`Temporal could not be read: ${grpcDetail(err).split('\n')[0]}`);
  } finally {
    await session.close();
  }
}

/** A run's log from the store, and what Temporal has of it. */
export interface DecisionLogRead {
  run: RunDetail;
  temporal: RunInTemporal;
}

/**
 * Reads run `runId`'s record and log from the store and, when it can matter, the run's copy from Temporal. A run in
 * flight answers a decision before the store has it (the write follows the answer): this waits for the store to hold
 * as many entries as the run does, so what is printed (and verified) is the whole log.
 *
 * @throws UnknownRunError when the store has no such run
 */
export async function readDecisionLog(settings: Settings, runId: string, options: { anchor: boolean }): Promise<DecisionLogRead> {
  const store = await openRecordStore(settings);
  let run: RunDetail | null;
  let temporal!: RunInTemporal;
  try {
    run = await store.findRun(runId);
    if (!run) throw new UnknownRunError(runId);
    // The histories are read only for senders the store does not have yet (a run in flight, or from before).
    const stored = run.senders;
    const withSenders = run.decisions.some((d) => d.updateId && stored[d.seq] === undefined);
    // The run's own copy: what a run in flight has that the store may not have yet, and the anchor a verification
    // compares the stored log with.
    temporal = await readRunInTemporal(settings, runId, withSenders);
    if (!run.endedAt) {
      const expected = temporal.decisions?.length;
      const until = Date.now() + CATCH_UP_MS;
      while (expected !== undefined && run && run.decisions.length < expected && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        run = await store.findRun(runId);
      }
      if (!run) throw new UnknownRunError(runId);
      if (expected !== undefined && run.decisions.length < expected) {
        process.stderr.write(
          `cutover: the record store has ${run.decisions.length} of the run's ${expected} decisions so far (it is catching up); run this again in a moment\n`,
        );
      }
    }
  } finally {
    await store.close();
  }
  // A run still in flight may hash its last entry a moment after the store caught up: compare with a fresh copy.
  if (options.anchor && temporal.decisions && !run.endedAt) {
    const fresh = await readRunInTemporal(settings, runId, false);
    if (fresh?.decisions) temporal = { ...temporal, decisions: fresh.decisions };
  }
  return { run, temporal };
}
