/**
 * Reads a run's live state from its workflow, at any size: the summary, then the steps page by
 * page (no single answer carries a large run whole). The CLI, the status page and the tests all
 * read runs through this one function.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { STEP_PAGE_LIMIT, type RunState, type RunSummary, type StepState } from '../run/state.js';
import { deriveRunStatus } from '../run/transitions.js';
import { runStateQuery, runStepsQuery, runSummaryQuery } from '../workflows/messages.js';

/** A state read before, to skip reading the pages again when nothing changed. */
export interface ReadState {
  state: RunState;
  revision: number;
}

/**
 * The run's whole live state. Pass the previous answer to read only the summary when the run has
 * not changed since. Runs started by the first workflow version answer the whole-state query.
 */
export async function readRunState(handle: WorkflowHandle, previous?: ReadState): Promise<ReadState> {
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
      if (!isUnknownQuery(err)) throw err;
      return { state: await handle.query(runStateQuery), revision: -1 };
    }
    if (previous && previous.revision === summary.revision && previous.revision >= 0) return previous;
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
    read = { state, revision: consistent ? summary.revision : -1 };
    if (consistent) return read;
  }
  return read!;
}

/** How often {@link readRunState} reads a run that keeps changing before it settles for a mix. */
const CONSISTENT_READS = 3;

/** How many times (200 ms apart) a run that is reading its runbook is asked again. */
const STARTING_READS = 25;

/** The run is reading its runbook (it answers in a moment). */
function isStarting(err: unknown): boolean {
  return /still reading its runbook/.test(String((err as Error)?.message ?? err));
}

/** A workflow that does not know the query: one started by the first workflow version. */
function isUnknownQuery(err: unknown): boolean {
  return /unknown queryType|QueryNotRegistered|did not register a handler for runSummary/i.test(String((err as Error)?.message ?? err));
}
