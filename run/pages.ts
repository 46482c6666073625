/**
 * A large run in pieces that each fit a Temporal payload: the runbook in pages (the workflow reads
 * it from the record store), and the live state as a summary plus pages of steps (what the
 * queries answer). Pure: the workflow bundle and the worker both import it.
 */
import { ATTENTION_LIMIT, STEP_PAGE_LIMIT, type RunState, type RunSummary, type StepPage, type StepState } from './state.js';
import type { Runbook, Step } from '../runbook/schema.js';
import type { StartVerdict } from './start-check.js';

/** Everything of a runbook but its steps. */
export type RunbookHead = Omit<Runbook, 'phases'> & { phases: Array<Omit<Runbook['phases'][number], 'steps'>> };

/** One page of a runbook: the head on the first page, then consecutive runs of steps. */
export interface RunbookPage {
  index: number;
  count: number;
  head?: RunbookHead;
  parts: Array<{ phase: number; steps: Step[] }>;
  /** On the first page, when the workflow asked with its start's claim: the record store's answer (start-check.ts). */
  start?: StartVerdict;
}

/** Characters of step JSON per runbook page: a page stays far under Temporal's 256 KB warning. */
export const RUNBOOK_PAGE_CHARS = 120_000;

/** Splits a runbook into pages of at most about `maxChars` characters of JSON each. */
export function paginateRunbook(runbook: Runbook, maxChars = RUNBOOK_PAGE_CHARS): RunbookPage[] {
  const { phases, ...rest } = runbook;
  const head: RunbookHead = { ...rest, phases: phases.map(({ steps: _steps, ...phase }) => phase) };
  const pages: RunbookPage[] = [{ index: 0, count: 0, head, parts: [] }];
  let size = JSON.stringify(head).length;
  phases.forEach((phase, p) => {
    for (const step of phase.steps) {
      const stepSize = JSON.stringify(step).length + 1;
      let page = pages[pages.length - 1]!;
      if (size + stepSize > maxChars && page.parts.length > 0) {
        page = { index: pages.length, count: 0, parts: [] };
        pages.push(page);
        size = 0;
      }
      let part = page.parts[page.parts.length - 1];
      if (!part || part.phase !== p) {
        part = { phase: p, steps: [] };
        page.parts.push(part);
      }
      part.steps.push(step);
      size += stepSize;
    }
  });
  for (const page of pages) page.count = pages.length;
  return pages;
}

/** Puts the pages of {@link paginateRunbook} back together. */
export function assembleRunbook(pages: readonly RunbookPage[]): Runbook {
  const sorted = [...pages].sort((a, b) => a.index - b.index);
  const head = sorted[0]?.head;
  if (!head || sorted.some((page, i) => page.index !== i || page.count !== sorted.length)) {
    throw new Error(`expected ${sorted[0]?.count ?? '?'} consecutive runbook pages starting with the head, got ${sorted.length}`);
  }
  const phases = head.phases.map((phase) => ({ ...phase, steps: [] as Step[] }));
  for (const page of sorted) {
    for (const part of page.parts) phases[part.phase]!.steps.push(...part.steps);
  }
  return { ...head, phases };
}

/** A step that matters now: running, waiting for someone, failed, or being undone. */
export function needsAttention(step: StepState): boolean {
  const undo = step.backout?.status;
  return (
    step.status === 'running' ||
    step.status === 'waiting' ||
    step.status === 'failed' ||
    step.resolution !== undefined ||
    undo === 'running' ||
    undo === 'manual' ||
    undo === 'waiting'
  );
}

/**
 * Characters of step JSON one answer may hold: steps with long output tails and many checks are
 * larger than most, and an answer stays well under Temporal's 256 KB payload warning.
 */
export const ANSWER_CHARS = 150_000;

/** The summary a run answers to `runSummaryQuery`. */
export function summarizeRun(state: RunState, revision: number): RunSummary {
  const { order, steps, ...run } = state;
  const counts: RunSummary['counts'] = {};
  const attention: StepState[] = [];
  let size = 0;
  for (const id of order) {
    const step = steps[id]!;
    counts[step.status] = (counts[step.status] ?? 0) + 1;
    if (attention.length < ATTENTION_LIMIT && size < ANSWER_CHARS && needsAttention(step)) {
      attention.push(step);
      size += JSON.stringify(step).length;
    }
  }
  return { ...run, totalSteps: order.length, counts, attention, revision };
}

/**
 * One page of steps, as `runStepsQuery` answers it: at most `limit` (and {@link STEP_PAGE_LIMIT})
 * steps and about {@link ANSWER_CHARS} characters, never none (a reader always moves on).
 */
export function pageOfSteps(state: RunState, offset: number, limit: number, revision: number): StepPage {
  const from = Math.max(0, Math.floor(offset));
  const size = Math.min(STEP_PAGE_LIMIT, Math.max(1, Math.floor(limit)));
  const steps: StepState[] = [];
  let chars = 0;
  for (const id of state.order.slice(from, from + size)) {
    const step = state.steps[id]!;
    chars += JSON.stringify(step).length;
    if (steps.length > 0 && chars > ANSWER_CHARS) break;
    steps.push(step);
  }
  return { offset: from, total: state.order.length, steps, revision };
}
