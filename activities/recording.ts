/**
 * Recording activities: the workflow's way of writing the durable record of a run (the
 * store), so a finished run can be reviewed with Temporal gone, and of reading back what no
 * payload may carry (the runbook, the times of steps finished by an earlier execution). All
 * writes are idempotent upserts keyed by run, step, attempt or decision index, because
 * activities retry.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { applyCheckpoint, applyStepTimes, type StepTimes } from '../run/checkpoint.js';
import { FAILURE_TYPE } from '../run/failures.js';
import { formatProblem } from '../lib/yaml-document/problems.js';
import { parseRunbook } from '../runbook/parse.js';
import { paginateRunbook, type RunbookPage } from '../run/pages.js';
import type { CheckOutcome, Decision, RunCheckpoint, RunState, StepAttempt } from '../run/state.js';
import type { Runbook } from '../runbook/schema.js';
import { initialRunState } from '../run/transitions.js';
import type { ActivityStore, StateRevision } from '../prisma/records.js';
import { updateSenders } from '../common/update-senders.js';
import { checkStart, type StartClaim, type StartReservation, type StartVerdict } from '../run/start-check.js';
import { liveEvidence } from '../timing/live-evidence.js';

/** How many parsed runbooks a worker keeps (a worker hosts a few runs at a time). */
const CACHED_RUNBOOKS = 16;

/** The recording activities, bound to a store. */
export function createRecordingActivities(store: ActivityStore) {
  const cache = new Map<string, { source: string; runbook: Runbook; pages: RunbookPage[] }>();

  /**
   * The run's runbook, parsed from the source the store holds (the CLI validated it). Read again each time: a text
   * changed in the store is what the workflow's check against the run's version hash must see (and a text put back
   * what lets a refused run go on); only the parse is cached.
   */
  async function runbookOf(runId: string): Promise<{ runbook: Runbook; pages: RunbookPage[] }> {
    let source: string;
    try {
      source = await store.runbookSource(runId);
    } catch (err) {
      throw notRecorded(err, runId);
    }
    const cached = cache.get(runId);
    if (cached?.source === source) return cached;
    const parsed = parseRunbook(source, `${runId} (runbook as recorded)`);
    if (!parsed.ok) {
      throw ApplicationFailure.create({
        type: FAILURE_TYPE.invalidInput,
        nonRetryable: true,
        message: `the runbook recorded for ${runId} is not valid: ${parsed.problems.slice(0, 3).map(formatProblem).join('; ')}`,
      });
    }
    const entry = { source, runbook: parsed.runbook, pages: paginateRunbook(parsed.runbook) };
    cache.set(runId, entry);
    if (cache.size > CACHED_RUNBOOKS) cache.delete(cache.keys().next().value!);
    return entry;
  }

  /**
   * The full state from a compact snapshot: the runbook gives every step's fixed fields, the
   * snapshot their progress, the store the times of plain finished steps. The first workflow
   * version sent full states, which pass through.
   */
  async function expand(snapshot: RunCheckpoint | RunState): Promise<RunState> {
    if (!('codes' in snapshot)) return snapshot;
    const { run } = snapshot;
    const { runbook } = await runbookOf(run.runId);
    const state = initialRunState(
      { runId: run.runId, runbook, versionHash: run.versionHash, mode: run.mode, startedBy: run.startedBy },
      run.startedAt,
    );
    const needTimes = applyCheckpoint(state, snapshot);
    applyStepTimes(state, await store.stepTimes(run.runId, needTimes));
    return state;
  }

  return {
    /**
     * Page `page` of the run's runbook (see run/pages.ts). With `claim` (the first page, asked by an execution from
     * patch checks-start on), also what the record store says of the run's start (run/start-check.ts).
     */
    async loadRunbookPage(runId: string, page: number, claim?: StartClaim): Promise<RunbookPage> {
      const { runbook, pages } = await runbookOf(runId);
      const found = pages[page];
      if (!found)
        throw ApplicationFailure.create({
          type: FAILURE_TYPE.invalidInput,
          nonRetryable: true,
          message: `runbook page ${page} of ${runId} does not exist`,
        });
      if (!claim) return found;
      return { ...found, start: await startVerdict(store, runId, runbook, claim) };
    },
    /** Times of finished steps, for an execution that continues a run. */
    async loadStepTimes(runId: string, stepIds: string[]): Promise<StepTimes> {
      return store.stepTimes(runId, stepIds);
    },
    /** Marks the run started, with its first state snapshot. */
    async recordRunStarted(snapshot: RunCheckpoint | RunState): Promise<void> {
      const runId = 'codes' in snapshot ? snapshot.run.runId : snapshot.runId;
      const startedAt = 'codes' in snapshot ? snapshot.run.startedAt : snapshot.startedAt;
      try {
        await store.markRunStarted(runId, { startedAt });
      } catch (err) {
        throw notRecorded(err, runId);
      }
      await store.recordRunState(runId, await expand(snapshot), revisionOf(snapshot));
    },
    /** Writes one step history row decided by the workflow (gates, manual steps, timers, skips). */
    async recordStep(row: StepAttempt): Promise<void> {
      await store.recordStepAttempt(row);
    },
    /** Writes a step's check results that its own activity could not write. */
    async recordChecks(runId: string, stepId: string, attempt: number, checks: CheckOutcome[]): Promise<void> {
      await store.recordCheckResults(runId, stepId, attempt, checks);
    },
    /** Writes entry `seq` of the decision log. */
    async recordDecision(runId: string, seq: number, decision: Decision): Promise<void> {
      await store.recordDecision(runId, seq, decision);
    },
    /**
     * Copies who sent each decision's request (the client identity in the history of every execution of the run)
     * to the record store, where it outlives the history. Called by the run as it ends.
     */
    async recordSenders(runId: string): Promise<void> {
      // The run's workflow id is its run id; the execution asking is the latest of its executions.
      const execution = Context.current().info.workflowExecution?.runId;
      const senders = await updateSenders(Context.current().client, runId, execution);
      await store.recordSenders(runId, Object.fromEntries(senders));
    },
    /** Writes a state snapshot (status, back-out) mid-run. */
    async recordRunState(snapshot: RunCheckpoint | RunState): Promise<void> {
      const state = await expand(snapshot);
      await store.recordRunState(state.runId, state, revisionOf(snapshot));
    },
    /** Writes the final state and outcome. */
    async recordRunFinished(snapshot: RunCheckpoint | RunState): Promise<void> {
      const state = await expand(snapshot);
      await store.finishRun(state.runId, {
        status: state.status,
        outcome: state.outcome ?? '',
        endedAt: state.endedAt ?? new Date().toISOString(),
        state,
      });
    },
  };
}

/** Where a snapshot is in the run's life, when it says (workflows from patch gate-snapshots on). */
function revisionOf(snapshot: RunCheckpoint | RunState): StateRevision | undefined {
  return 'codes' in snapshot && snapshot.revision !== undefined
    ? { execution: snapshot.execution, revision: snapshot.revision }
    : undefined;
}

/** What the record store says of a run's start: the reservation it must match, and a live run's evidence. */
async function startVerdict(store: ActivityStore, runId: string, runbook: Runbook, claim: StartClaim): Promise<StartVerdict> {
  let reservation: StartReservation;
  try {
    reservation = await store.runReservation(runId);
  } catch (err) {
    throw notRecorded(err, runId);
  }
  // Read only for a fresh live start without an override: the runs a live run's evidence comes from.
  const runs = claim.fresh && claim.mode === 'live' && !claim.overridden ? await store.runbookRuns(runbook.name) : [];
  return checkStart(runId, claim, reservation, () => liveEvidence(runbook, claim.versionHash, runs, Date.now()).gaps);
}

/** A run the store does not know: retrying cannot help, the run was reserved in another store. */
function notRecorded(err: unknown, runId: string): unknown {
  if ((err as Error).name !== 'RunNotFoundError') return err;
  return ApplicationFailure.create({
    type: FAILURE_TYPE.runNotRecorded,
    nonRetryable: true,
    message:
      `this worker's record store does not know run ${runId}: the cutover command that started it and ` +
      'every worker must use the same record store (CUTOVER_DATABASE_URL)',
  });
}
