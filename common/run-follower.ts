/**
 * Follows one run in flight for a watcher that keeps its whole state (the status page's one watcher per run). Once it
 * holds the whole run, it asks the run what changed since the revision it holds (`runChangesQuery`): the summary and
 * the steps that changed, in one answer, and nothing else. An answer without steps (a hand-over, too many changes at
 * once) is followed by a whole read.
 *
 * A run on a worker from before that query is followed as before: the run's summary on every call, and step pages
 * only when its revision moved, and then only the pages that hold what changed. What it reads when the revision moved: the steps that matter now come whole in the summary; a step that left that
 * list (it finished, or was resolved) is read again from its page. A step can also change without ever being in the
 * list (it started and finished between two reads): the summary's counts then disagree with the steps held, and the
 * whole run is read again, as it is at least every {@link FULL_READ_EVERY_MS} while the run changes, and on every
 * change during a back-out (an undo that ran between two reads changes no count).
 */
import { STEP_PAGE_LIMIT, type RunState, type RunSummary, type StepPage, type StepState } from '../run/state.js';
import { changedSteps, type ChangesSince, type RunChanges } from '../run/step-changes.js';
import { isUnknownQuery } from './read-run-state.js';

/** How the follower asks the run: the summary query and the step pages query (through Temporal, or a test's fake). */
export interface RunQueries {
  summary(): Promise<RunSummary>;
  page(offset: number, limit: number): Promise<StepPage>;
  /** The summary and the steps changed since (`runChangesQuery`); absent: summaries and pages only. */
  changes?(since: ChangesSince): Promise<RunChanges>;
}

/** What changed in one read. */
export interface FollowedChange {
  state: RunState;
  /** The ids of the steps that changed, or `all` on the first read. */
  steps: ReadonlySet<string> | 'all';
  /** The run's own fields changed: status, back-out, decisions, outcome. */
  run: boolean;
}

/** The longest a run that keeps changing goes without being read whole. */
export const FULL_READ_EVERY_MS = 15_000;

/** Keeps a run's whole state current from its summary and, when it moved, the pages that changed. */
export class RunFollower {
  readonly #queries: RunQueries;
  readonly #now: () => number;
  #state: RunState | undefined;
  /** `execution:revision` of what is held; '' forces the next read to look at everything the summary says. */
  #seen = '';
  #attention = new Set<string>();
  #index = new Map<string, number>();
  #fullAt = 0;
  /** Every step held is current at this revision (or newer): the run is asked what changed since. */
  #base: ChangesSince | undefined;
  /** The run does not answer `changes` (a worker from before it). */
  #wholeOnly = false;

  constructor(queries: RunQueries, options: { now?: () => number } = {}) {
    this.#queries = queries;
    this.#now = options.now ?? Date.now;
  }

  /** The state last read, if any. */
  get state(): RunState | undefined {
    return this.#state;
  }

  /** Reads the run once; undefined when nothing changed since the last read. Rejects when the run does not answer. */
  async read(): Promise<FollowedChange | undefined> {
    if (this.#base && this.#state && this.#queries.changes && !this.#wholeOnly) {
      const answer = await this.#queries.changes(this.#base).catch((err: unknown) => {
        if (isUnknownQuery(err, 'runChanges')) return undefined;
        throw err;
      });
      if (answer) return this.#applyChanges(answer);
      this.#wholeOnly = true;
    }
    const summary = await this.#queries.summary();
    const seen = `${summary.execution ?? 1}:${summary.revision}`;
    const previous = this.#state;
    if (!previous || previous.order.length !== summary.totalSteps) {
      const steps = await this.#readAll(summary.totalSteps);
      this.#hold(summary, steps, seen);
      return { state: this.#state!, steps: 'all', run: true };
    }
    if (seen === this.#seen) return undefined;

    const run = runFields(summary);
    const runChanged = JSON.stringify(run) !== JSON.stringify(runFields(previous));
    const steps = { ...previous.steps };
    const changed = new Set<string>();
    const put = (step: StepState) => {
      const held = steps[step.id];
      if (held && JSON.stringify(held) === JSON.stringify(step)) return;
      steps[step.id] = step;
      changed.add(step.id);
    };
    for (const step of summary.attention) put(step);
    const now = new Set(summary.attention.map((s) => s.id));
    const leavers = [...this.#attention].filter((id) => !now.has(id));
    let consistent = true;
    for (const page of await this.#readPagesOf(leavers)) {
      if (page.revision !== summary.revision) consistent = false;
      for (const step of page.steps) put(step);
    }
    const counted = countsOf(previous.order.map((id) => steps[id]!));
    const whole =
      !sameCounts(counted, summary.counts) ||
      summary.backout.status === 'running' ||
      summary.backout.status === 'waiting' ||
      this.#now() - this.#fullAt >= FULL_READ_EVERY_MS;
    if (whole) {
      const all = await this.#readAll(summary.totalSteps);
      for (const step of all) put(step);
      this.#hold(summary, all, seen);
      return { state: this.#state!, steps: changed, run: runChanged };
    }
    this.#state = { ...run, order: previous.order, steps };
    this.#attention = now;
    // Pages answered at another revision than the summary: read again next time, so the mix does not stay.
    this.#seen = consistent ? seen : '';
    return changed.size > 0 || runChanged ? { state: this.#state, steps: changed, run: runChanged } : undefined;
  }

  /** Puts the steps that changed on those held (or reads the run whole when the answer has none). */
  async #applyChanges({ summary, execution, steps: changed }: RunChanges): Promise<FollowedChange | undefined> {
    const previous = this.#state!;
    const seen = `${summary.execution ?? 1}:${summary.revision}`;
    const run = runFields(summary);
    const runChanged = JSON.stringify(run) !== JSON.stringify(runFields(previous));
    if (!changed || summary.totalSteps !== previous.order.length) {
      const all = await this.#readAll(summary.totalSteps);
      this.#hold(summary, all, seen);
      this.#base = { execution, since: summary.revision };
      return { state: this.#state!, steps: 'all', run: true };
    }
    if (seen === this.#seen && execution === this.#base?.execution) return undefined;
    const steps = { ...previous.steps };
    const ids = new Set<string>();
    for (const step of changedSteps(summary, changed)) {
      if (JSON.stringify(steps[step.id]) === JSON.stringify(step)) continue;
      steps[step.id] = step;
      ids.add(step.id);
    }
    this.#state = { ...run, order: previous.order, steps };
    this.#attention = new Set(summary.attention.map((s) => s.id));
    this.#seen = seen;
    this.#base = { execution, since: summary.revision };
    return ids.size > 0 || runChanged ? { state: this.#state, steps: ids, run: runChanged } : undefined;
  }

  #hold(summary: RunSummary, steps: readonly StepState[], seen: string): void {
    this.#state = {
      ...runFields(summary),
      order: steps.map((s) => s.id),
      steps: Object.fromEntries(steps.map((s) => [s.id, s])),
    };
    this.#index = new Map(steps.map((s, i) => [s.id, i]));
    this.#attention = new Set(summary.attention.map((s) => s.id));
    this.#seen = seen;
    this.#fullAt = this.#now();
    // Every step is as current as the summary (a page read later is newer): what changed since, the run can say.
    this.#base = { execution: summary.execution ?? 1, since: summary.revision };
  }

  async #readAll(total: number): Promise<StepState[]> {
    const steps: StepState[] = [];
    while (steps.length < total) {
      const page = await this.#queries.page(steps.length, STEP_PAGE_LIMIT);
      if (page.steps.length === 0) break;
      steps.push(...page.steps);
    }
    return steps;
  }

  /** The pages that hold these steps, neighbours within a few places in one page. */
  async #readPagesOf(ids: readonly string[]): Promise<StepPage[]> {
    const sorted = [...new Set(ids.map((id) => this.#index.get(id)))].filter((i): i is number => i !== undefined).sort((a, b) => a - b);
    const pages: StepPage[] = [];
    for (let k = 0; k < sorted.length;) {
      const from = sorted[k]!;
      let to = from + 1;
      while (k + 1 < sorted.length && sorted[k + 1]! - to < 8 && sorted[k + 1]! - from < STEP_PAGE_LIMIT) to = sorted[++k]! + 1;
      k += 1;
      pages.push(await this.#queries.page(from, to - from));
    }
    return pages;
  }
}

/** The run's own fields, without the steps or what a summary adds. */
function runFields(run: RunSummary | RunState): Omit<RunState, 'order' | 'steps'> {
  const {
    order: _order,
    steps: _steps,
    totalSteps: _total,
    counts: _counts,
    attention: _attention,
    revision: _revision,
    ...fields
  } = run as Partial<RunSummary & RunState>;
  return fields as Omit<RunState, 'order' | 'steps'>;
}

function countsOf(steps: readonly StepState[]): RunSummary['counts'] {
  const counts: RunSummary['counts'] = {};
  for (const step of steps) counts[step.status] = (counts[step.status] ?? 0) + 1;
  return counts;
}

function sameCounts(a: RunSummary['counts'], b: RunSummary['counts']): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof RunSummary['counts']>;
  for (const key of keys) if ((a[key] ?? 0) !== (b[key] ?? 0)) return false;
  return true;
}
