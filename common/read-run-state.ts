/**
 * Reads a run's live state from its workflow, at any size: the summary, then the steps page by
 * page (no single answer carries a large run whole). The CLI, the status page and the tests all
 * read runs through this one function. Given what it read before, it reads only the steps that
 * changed since (`runChangesQuery`).
 */
import type { WorkflowHandle } from '@temporalio/client';
import { STEP_PAGE_LIMIT, type RunState, type RunSummary, type StepState } from '../run/state.js';
import { applyChanges, type ChangesSince, type RunChanges } from '../run/step-changes.js';
import { deriveRunStatus } from '../run/transitions.js';
import { runChangesQuery, runStateQuery, runStepsQuery, runSummaryQuery } from '../workflows/messages.js';

/** A state read before, to read only what changed since. */
export interface ReadState {
  state: RunState;
  /** The revision it was read at; -1 when it is a mix of two moments (read again). */
  revision: number;
  /** The execution that answered, when it said (revisions count from the start again in each). */
  execution?: number;
  /** The run does not answer `runChangesQuery` (a worker from before it): the next read does not ask. */
  wholeOnly?: boolean;
}

/**
 * The run's whole live state. Pass the previous answer to read only the steps that changed since (or only the
 * summary, from a run on a worker that cannot say which changed, when nothing did). Runs started by the first
 * workflow version answer the whole-state query.
 */
export async function readRunState(handle: WorkflowHandle, previous?: ReadState): Promise<ReadState> {
  if (previous && previous.revision >= 0 && previous.execution !== undefined && !previous.wholeOnly) {
    const changes = await readChanges(handle, { execution: previous.execution, since: previous.revision });
    if (changes === 'unknown') return readRunState(handle, { ...previous, wholeOnly: true });
    const { summary, execution, steps } = changes ?? {};
    if (summary && steps && summary.totalSteps === previous.state.order.length) {
      if (execution === previous.execution && summary.revision === previous.revision) return previous;
      return { state: applyChanges(previous.state, summary, steps), revision: summary.revision, execution };
    }
  }
  return readWhole(handle, previous);
}

/**
 * The summary and what changed since; `unknown` from a run that does not know the query, nothing from one that is
 * reading its runbook (a new execution: the whole read waits for it).
 */
async function readChanges(handle: WorkflowHandle, since: ChangesSince): Promise<RunChanges | 'unknown' | undefined> {
  try {
    return await handle.query(runChangesQuery, since);
  } catch (err) {
    if (isUnknownQuery(err, 'runChanges')) return 'unknown';
    if (isStarting(err)) return undefined;
    throw err;
  }
}

/** The summary, then every page (or nothing more when the summary says nothing changed since `previous`). */
async function readWhole(handle: WorkflowHandle, previous: ReadState | undefined): Promise<ReadState> {
  const wholeOnly = previous?.wholeOnly ? { wholeOnly: true } : {};
  let read: ReadState | undefined;
  let startingReads = 0;
  // A run that changes while its pages are read gives a mix of two moments; read again (a few
  // times) until summary and pages agree, so what a person sees was true at one moment.
  for (let attempt = 0; attempt < CONSISTENT_READS; attempt += 1) {
    let summary: RunSummary;
    try {
      summary = await handle.query(runSummaryQuery);
    } catch (err) {
      if (isStarting(err) && startingReads < STARTING_READS) {
        // A new execution reads its runbook first (at the start, and after each hand-over).
        await new Promise((resolve) => setTimeout(resolve, 200));
        attempt -= 1;
        startingReads += 1;
        continue;
      }
      if (!isUnknownQuery(err, 'runSummary')) throw err;
      return { state: await handle.query(runStateQuery), revision: -1 };
    }
    if (previous && previous.revision === summary.revision && previous.execution === summary.execution && previous.revision >= 0)
      return previous;
    const steps: StepState[] = [];
    let consistent = true;
    while (steps.length < summary.totalSteps) {
      const page = await handle.query(runStepsQuery, { offset: steps.length, limit: STEP_PAGE_LIMIT });
      if (page.steps.length === 0) break;
      steps.push(...page.steps);
      if (page.revision !== summary.revision) consistent = false;
    }
    const { totalSteps: _total, counts: _counts, attention: _attention, revision: _revision, ...run } = summary;
    const state: RunState = {
      ...run,
      order: steps.map((step) => step.id),
      steps: Object.fromEntries(steps.map((step) => [step.id, step])),
    };
    // An inconsistent read is marked stale (-1 never matches), so the next one reads again. Its
    // steps were read after its summary: the status is derived again from them, so a step shown
    // waiting for a person never sits under a run that says it is not waiting.
    if (!consistent) state.status = deriveRunStatus(state);
    read = {
      state,
      revision: consistent ? summary.revision : -1,
      ...(summary.execution !== undefined ? { execution: summary.execution } : {}),
      ...wholeOnly,
    };
    if (consistent) return read;
  }
  return read!;
}

/** How often {@link readRunState} reads a run that keeps changing before it settles for a mix. */
const CONSISTENT_READS = 3;

/** How many times (200 ms apart) a run that is reading its runbook is asked again. */
const STARTING_READS = 25;

/**
 * The run is reading its runbook (it answers in a moment). Temporal's server says it in the error; its time-skipping
 * test server in the error's cause (a ServiceError "Failed to query Workflow").
 */
function isStarting(err: unknown): boolean {
  const cause = (err as Error)?.cause as Error | undefined;
  return /still reading its runbook/.test(`${String((err as Error)?.message ?? err)} ${String(cause?.message ?? '')}`);
}

/** A workflow that does not know the query `name`: one started by the first workflow version, or a worker from before it. */
export function isUnknownQuery(err: unknown, name: string): boolean {
  const message = String((err as Error)?.message ?? err);
  return /unknown queryType|QueryNotRegistered/i.test(message) || message.includes(`did not register a handler for ${name}`);
}
