/**
 * The run's summary as a delta since a revision (issue 16): which steps changed since a watcher last read the run, so
 * the console and the live page read those steps and nothing else. Pure: the workflow bundle imports it.
 *
 * The workflow does not mark steps as it changes them (dozens of places do, in the workflow and in run/); it finds
 * what changed when someone asks, once per revision: a few scalar fields of every step (cheap at any size), and the
 * whole JSON of the steps that can change without those fields moving (those that need attention: a gate's votes and
 * evidence, a running step's checks). A step that changes leaves or enters that set with one of the scalars moving.
 */
import { ANSWER_CHARS, needsAttention } from './pages.js';
import type { RunState, RunSummary, StepState } from './state.js';

/** What `runChangesQuery` answers. */
export interface RunChanges {
  /** The run's summary now. */
  summary: RunSummary;
  /** The execution answering: revisions count from the start again in each execution. */
  execution: number;
  /**
   * The steps that changed since the revision asked about, in runbook order, but for those in the summary's
   * `attention` (they come whole there: a watcher takes both); absent when the run cannot say (the revision is of
   * another execution, or older than this execution's first look, or the steps are too many for one answer): the
   * caller then reads the pages.
   */
  steps?: StepState[];
}

/** What a watcher asks with: the execution and revision of the state it holds. */
export interface ChangesSince {
  execution: number;
  since: number;
}

/** The fields of a step that move whenever it changes outside the attention set. */
function scalars(step: StepState): string {
  const b = step.backout;
  const r = step.resolution;
  return [
    step.status,
    step.waitingFor,
    step.attempts,
    step.startedAt,
    step.endedAt,
    step.heldUntil,
    step.error,
    step.completedBy,
    step.worker,
    step.waitUntil,
    step.gate?.status,
    step.checks.length,
    b?.status,
    b?.attempts,
    b?.endedAt,
    r?.kind,
    r?.decided,
  ].join('|');
}

/** Remembers, per step, the revision at which it was last seen to change. One per execution. */
export class StepChangeLog {
  /** The revision of the last look, and of the first (nothing earlier is known). */
  #at = -1;
  #first = -1;
  #scalars: string[] = [];
  /** The JSON of the steps that needed attention at the last look, by index. */
  #json = new Map<number, string>();
  #changedAt: number[] = [];

  /**
   * The steps of `state` (at `revision`) that changed since revision `since`, or undefined when that is not known
   * here or would not fit one answer.
   */
  changedSince(state: RunState, revision: number, since: number, besides: ReadonlySet<string> = new Set()): StepState[] | undefined {
    this.look(state, revision);
    if (since < this.#first || since > revision) return undefined;
    const changed: StepState[] = [];
    let chars = 0;
    for (let i = 0; i < state.order.length; i += 1) {
      if (this.#changedAt[i]! <= since || besides.has(state.order[i]!)) continue;
      const step = state.steps[state.order[i]!]!;
      chars += JSON.stringify(step).length;
      if (chars > ANSWER_CHARS) return undefined;
      changed.push(step);
    }
    return changed;
  }

  /**
   * Looks at the steps of `state` at `revision` (once per revision): the summary query looks too, so that a watcher
   * that reads the run whole (summary, then pages) can ask what changed since that summary's revision.
   */
  look(state: RunState, revision: number): void {
    if (revision === this.#at) return;
    const first = this.#at < 0;
    if (first) this.#first = revision;
    this.#at = revision;
    state.order.forEach((id, i) => {
      const step = state.steps[id]!;
      const key = scalars(step);
      const held = this.#json.get(i);
      const attention = needsAttention(step);
      const json = attention || held !== undefined ? JSON.stringify(step) : undefined;
      if (first || key !== this.#scalars[i] || json !== held) this.#changedAt[i] = revision;
      this.#scalars[i] = key;
      if (attention) this.#json.set(i, json!);
      else this.#json.delete(i);
    });
  }
}

/** Puts `changes` on the state a watcher holds: the run's fields from the summary, the steps that changed. */
export function applyChanges(held: RunState, summary: RunSummary, steps: readonly StepState[]): RunState {
  const { totalSteps: _total, counts: _counts, attention: _attention, revision: _revision, ...run } = summary;
  const merged = { ...held.steps };
  for (const step of changedSteps(summary, steps)) merged[step.id] = step;
  return { ...run, order: held.order, steps: merged };
}

/** The steps an answer says changed: those of the summary's `attention` (sent there, not twice), then `steps`. */
export function changedSteps(summary: RunSummary, steps: readonly StepState[]): StepState[] {
  return [...summary.attention, ...steps];
}
