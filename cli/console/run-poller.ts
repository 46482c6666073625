/**
 * Keeps a cheap, current view of one run for the console: it asks the run for its summary a few
 * times a second, and reads step pages only when the summary's `revision` moved, and then only the
 * steps on screen. The steps that matter now (running, waiting, failed, being undone) come whole in
 * the summary, so they are always current; a step scrolled into view that was read before the last
 * change is read again. A large run is read whole once, at the start, for its shape (phases, ids,
 * titles, owners, plan).
 *
 * No React here: `use-run-state.ts` wraps it, tests drive it with a fake source.
 */
import { isUnknownQuery } from '../../common/read-run-state.js';
import type { RunState, RunSummary, StepPage, StepState } from '../../run/state.js';
import { changedSteps, type ChangesSince, type RunChanges } from '../../run/step-changes.js';
import { STEP_PAGE_LIMIT } from '../../run/state.js';

/** Where the console reads a run from: the live run through Temporal, and the record store. */
export interface RunSource {
  /** The run's summary (`runSummaryQuery`). Rejects when Temporal or the run does not answer. */
  summary(): Promise<RunSummary>;
  /** Steps `offset`.. in runbook order (`runStepsQuery`). */
  page(offset: number, limit: number): Promise<StepPage>;
  /** The summary and the steps that changed since (`runChangesQuery`); absent: the poller reads summaries and pages. */
  changes?(since: ChangesSince): Promise<RunChanges>;
  /** The run as the record store last recorded it; null when it knows nothing of it. */
  recorded(): Promise<RunState | null>;
}

/** How the console is connected to the run. */
export type Connection = 'connecting' | 'live' | 'reconnecting' | 'recorded';

/** What the console draws: the run's head, its steps (undefined until read), what matters now. */
export interface RunView {
  /** The run's own fields, counts and revision; undefined until first read. */
  head?: Omit<RunSummary, 'attention'>;
  /** Every step in runbook order; an entry is undefined until read. A new array after every change. */
  steps: readonly (StepState | undefined)[];
  /** The steps that matter now, in runbook order. */
  attention: readonly StepState[];
  connection: Connection;
  /** Why the last read failed, while reconnecting. */
  problem?: string;
  /** When the view last changed (ms). */
  changedAt: number;
}

export interface PollerOptions {
  /** How often to ask for the summary. */
  pollMs?: number;
  /** How long to wait before asking again after a failure. */
  retryMs?: number;
  now?: () => number;
}

/** The least pause between two reads, however long the last one took: the worker and Temporal answer others too. */
const MIN_POLL_GAP_MS = 50;

/** Polls a {@link RunSource}; call {@link setVisible} as the user scrolls, {@link subscribe} to hear changes. */
export class RunPoller {
  #view: RunView = { steps: [], attention: [], connection: 'connecting', changedAt: 0 };
  readonly #listeners = new Set<() => void>();
  readonly #source: RunSource;
  readonly #pollMs: number;
  readonly #retryMs: number;
  readonly #now: () => number;
  /** The revision each step was read at (-1: never). */
  #readAt: number[] = [];
  #index = new Map<string, number>();
  /** Steps that left the summary's attention list and have not been read since. */
  readonly #leavers = new Set<string>();
  #visible = { from: 0, to: 0 };
  /** Every step held is current at this revision (or newer): the run is asked what changed since (`changes`). */
  #base: ChangesSince | undefined;
  /** The run does not answer `changes` (a worker from before it): the summary and pages, as before. */
  #wholeOnly = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;

  constructor(source: RunSource, options: PollerOptions = {}) {
    this.#source = source;
    this.#pollMs = options.pollMs ?? 300;
    this.#retryMs = options.retryMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  get view(): RunView {
    return this.#view;
  }

  /** Listens for changes; returns the way to stop listening. */
  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** The rows on screen now (`to` exclusive): read them if they are older than the run's last change. */
  setVisible(from: number, to: number): void {
    if (from === this.#visible.from && to === this.#visible.to) return;
    this.#visible = { from, to };
    if (this.#staleVisible()) this.#wake?.();
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#running;
  }

  /** Reads once (tests step the poller by hand). Never throws: a read that fails is "reconnecting". */
  async tick(): Promise<void> {
    if (this.#view.connection === 'recorded') return;
    try {
      await this.#read();
    } catch (err) {
      await this.#unreachable(err);
    }
  }

  async #read(): Promise<void> {
    if (this.#base && this.#source.changes && !this.#wholeOnly) {
      const answer = await this.#source.changes(this.#base).catch((err: unknown) => {
        if (isUnknownQuery(err, 'runChanges')) return undefined;
        throw err;
      });
      if (answer) return this.#applyChanges(answer);
      this.#wholeOnly = true;
    }
    const head = this.#view.head;
    const summary = await this.#source.summary();
    const { attention, ...rest } = summary;
    const reshaped = !head || head.totalSteps !== summary.totalSteps || this.#readAt.length !== summary.totalSteps;
    const moved = !head || head.revision !== summary.revision;
    let steps = this.#view.steps;
    if (reshaped) {
      steps = await this.#readAll(summary);
    } else if (moved || this.#leavers.size > 0) {
      // A step that left the summary's list finished (or was resolved): it is read again, wherever it
      // is, so what is off screen (back-out progress, a step found later) is not left running. Kept
      // until read, so a read that fails is made again.
      const now = new Set(attention.map((s) => s.id));
      for (const s of this.#view.attention) if (!now.has(s.id)) this.#leavers.add(s.id);
      steps = [...steps];
      for (const step of attention) this.#put(steps as (StepState | undefined)[], step, summary.revision);
      // What the summary says is shown at once (a gate approved elsewhere, a failure); the pages follow.
      // Not the end of the run: "completed" above a step still shown running would be a moment's lie.
      if (summary.endedAt === undefined) this.#set({ head: rest, steps, attention, connection: 'live', changedAt: this.#now() });
      steps = [...steps];
      const left = [...this.#leavers];
      await this.#readIndexes(
        steps as (StepState | undefined)[],
        left.map((id) => this.#index.get(id)),
        summary.revision,
      );
      for (const id of left) this.#leavers.delete(id);
      await this.#readVisible(steps as (StepState | undefined)[], summary.revision);
    } else if (this.#staleVisible()) {
      steps = [...steps];
      await this.#readVisible(steps as (StepState | undefined)[], summary.revision);
    } else if (this.#view.connection === 'live') {
      return;
    }
    this.#set({ head: rest, steps, attention, connection: 'live', changedAt: this.#now() });
  }

  /**
   * Puts what changed since {@link #base} on the steps held, all of which are then current at the answer's revision:
   * nothing else is read. An answer without steps (another execution, too many changes) is followed by a whole read.
   */
  async #applyChanges({ summary, execution, steps: changed }: RunChanges): Promise<void> {
    const { attention, ...rest } = summary;
    const head = this.#view.head;
    if (head?.revision === summary.revision && head.execution === summary.execution && changed && this.#view.connection === 'live') return;
    let steps: (StepState | undefined)[];
    if (!changed || summary.totalSteps !== this.#readAt.length) {
      steps = await this.#readAll(summary);
    } else {
      steps = [...this.#view.steps];
      for (const step of changedSteps(summary, changed)) this.#put(steps, step, summary.revision);
      this.#readAt.fill(summary.revision);
    }
    this.#base = { execution, since: summary.revision };
    this.#set({ head: rest, steps, attention, connection: 'live', changedAt: this.#now() });
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const started = Date.now();
      await this.tick();
      if (this.#stopped || this.#view.connection === 'recorded') break;
      // A finished run changes no more: read it whole once more, then only what scrolls into view.
      const ended = this.#view.head?.endedAt !== undefined;
      // Summaries are asked for every pollMs from the start of the last read, not after it: on a loaded machine,
      // where a read takes a few hundred ms, a change would otherwise wait for two reads and a full pause.
      const wait =
        this.#view.connection === 'reconnecting'
          ? this.#retryMs
          : ended && this.#leavers.size === 0
            ? this.#retryMs * 5
            : Math.max(MIN_POLL_GAP_MS, this.#pollMs - (Date.now() - started));
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, wait);
      });
      clearTimeout(this.#timer);
      this.#wake = undefined;
    }
  }

  /** Temporal (or the run's worker) does not answer: say so, and show the record store's state if the run ended meanwhile. */
  async #unreachable(err: unknown): Promise<void> {
    const problem = String((err as Error)?.message ?? err).split('\n')[0]!;
    let recorded: RunState | null = null;
    try {
      recorded = await this.#source.recorded();
    } catch {
      // The store is away too: keep what is shown, marked reconnecting.
    }
    if (recorded?.endedAt) {
      this.#index = new Map(recorded.order.map((id, i) => [id, i]));
      const steps = recorded.order.map((id) => recorded.steps[id]);
      this.#readAt = steps.map(() => Number.MAX_SAFE_INTEGER);
      const { order: _order, steps: _steps, ...run } = recorded;
      const counts: RunSummary['counts'] = {};
      for (const s of steps) if (s) counts[s.status] = (counts[s.status] ?? 0) + 1;
      this.#set({
        head: { ...run, totalSteps: steps.length, counts, revision: this.#view.head?.revision ?? 0 },
        steps,
        attention: [],
        connection: 'recorded',
        changedAt: this.#now(),
      });
      return;
    }
    if (this.#view.connection === 'reconnecting' && this.#view.problem === problem) return;
    this.#set({ ...this.#view, connection: this.#view.head ? 'reconnecting' : 'connecting', problem, changedAt: this.#now() });
  }

  async #readAll(summary: RunSummary): Promise<(StepState | undefined)[]> {
    const steps: (StepState | undefined)[] = [];
    while (steps.length < summary.totalSteps) {
      const page = await this.#source.page(steps.length, STEP_PAGE_LIMIT);
      if (page.steps.length === 0) break;
      steps.push(...page.steps);
    }
    this.#index = new Map(steps.map((s, i) => [s!.id, i]));
    this.#readAt = steps.map(() => summary.revision);
    for (const step of summary.attention) this.#put(steps, step, summary.revision);
    // Every step is as current as the summary (a page read later is newer): what changed since, the run can say.
    this.#base = { execution: summary.execution ?? 1, since: summary.revision };
    return steps;
  }

  #put(steps: (StepState | undefined)[], step: StepState, revision: number): void {
    const i = this.#index.get(step.id);
    if (i === undefined) return;
    steps[i] = step;
    this.#readAt[i] = revision;
  }

  #staleVisible(): boolean {
    const revision = this.#view.head?.revision;
    if (revision === undefined) return false;
    for (let i = this.#visible.from; i < Math.min(this.#visible.to, this.#readAt.length); i += 1) {
      if (this.#readAt[i]! < revision) return true;
    }
    return false;
  }

  /** Reads the steps at `indexes` not read since `revision`, neighbours in one page. */
  async #readIndexes(steps: (StepState | undefined)[], indexes: readonly (number | undefined)[], revision: number): Promise<void> {
    const sorted = [...new Set(indexes)].filter((i): i is number => i !== undefined).sort((a, b) => a - b);
    for (let k = 0; k < sorted.length;) {
      const from = sorted[k]!;
      let to = from + 1;
      while (k + 1 < sorted.length && sorted[k + 1]! - to < 8 && sorted[k + 1]! - from < STEP_PAGE_LIMIT) to = sorted[++k]! + 1;
      k += 1;
      if (this.#readAt[from]! >= revision && to === from + 1) continue;
      const page = await this.#source.page(from, to - from);
      for (const step of page.steps) this.#put(steps, step, page.revision);
    }
  }

  /** Reads the visible steps not read since `revision`, in as few pages as their span needs. */
  async #readVisible(steps: (StepState | undefined)[], revision: number): Promise<void> {
    let from = this.#visible.from;
    const to = Math.min(this.#visible.to, this.#readAt.length);
    while (from < to && this.#readAt[from]! >= revision) from += 1;
    let end = to;
    while (end > from && this.#readAt[end - 1]! >= revision) end -= 1;
    while (from < end) {
      const page = await this.#source.page(from, Math.min(STEP_PAGE_LIMIT, end - from));
      if (page.steps.length === 0) break;
      for (const step of page.steps) this.#put(steps, step, page.revision);
      from += page.steps.length;
    }
  }

  #set(view: RunView): void {
    this.#view = view;
    for (const listener of this.#listeners) listener();
  }
}
