/**
 * What timing review knows about a recorded run, and the reading of it every timing view shares: how long each
 * step took, whether the run backed out and how long that took, and the path of steps that set its length.
 *
 * Pure: plain records in (the record store's, structurally), plain answers out, so the CLI, the reports and the
 * benchmarks compute the same figures. No Node imports.
 */
import { effectiveDependencies, topologicalOrder, type GraphRunbook } from '../runbook/graph.js';

/** How one step went in one run (every attempt folded into one), forward or backing out. */
export interface TimedStep {
  stepId: string;
  phaseId: string;
  purpose: 'forward' | 'backout';
  attempts: number;
  status: string;
  treatment: 'run' | 'simulate' | 'skip';
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  plannedDurationMs: number | null;
}

/** A recorded run as timing review reads it (a `RunTiming` from the record store fits). */
export interface TimedRun {
  id: string;
  number: number;
  mode: 'rehearsal' | 'live';
  status: string;
  runbookVersion: string;
  versionHash: string;
  startedBy: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  outcome: string | null;
  backoutTrigger: string | null;
  backoutReason?: string | null;
  backoutRequestedBy?: string | null;
  backoutStartedAt: string | null;
  backoutEndedAt: string | null;
  steps: TimedStep[];
}

/** Statuses of a step that ran to the end going forward: its duration is a measurement. */
const FINISHED = new Set(['succeeded']);
/** Statuses of an undo that ran to the end. */
const UNDONE = new Set(['succeeded']);

/** Milliseconds between two ISO times, or null when either is missing. */
export function span(startedAt: string | null | undefined, endedAt: string | null | undefined): number | null {
  if (!startedAt || !endedAt) return null;
  return Math.max(0, Date.parse(endedAt) - Date.parse(startedAt));
}

/** How long the run took from start to end (back-out included), or null while it has not ended. */
export function runDurationMs(run: Pick<TimedRun, 'startedAt' | 'endedAt'>): number | null {
  return span(run.startedAt, run.endedAt);
}

/** Whether the run started backing out (requested, a failed step, a no-go). */
export function backedOut(run: Pick<TimedRun, 'status' | 'backoutStartedAt'>): boolean {
  return run.status === 'backed_out' || run.backoutStartedAt !== null;
}

/** How long its back-out took, when it backed out and the back-out ended. */
export function backoutDurationMs(run: Pick<TimedRun, 'backoutStartedAt' | 'backoutEndedAt'>): number | null {
  return span(run.backoutStartedAt, run.backoutEndedAt);
}

/**
 * Step id -> how long it took going forward, for the steps that ran to success in this run. With `measuredOnly`,
 * steps a rehearsal simulated or skipped are left out: their time was the plan, not a measurement.
 */
export function forwardDurations(run: Pick<TimedRun, 'steps'>, measuredOnly = false): Map<string, number> {
  const durations = new Map<string, number>();
  for (const step of run.steps) {
    if (step.purpose !== 'forward' || step.durationMs === null) continue;
    if (measuredOnly ? step.treatment !== 'run' || !FINISHED.has(step.status) : step.status === 'skipped') continue;
    durations.set(step.stepId, step.durationMs);
  }
  return durations;
}

/** Step id -> how long its undo took, for the undos that ran to the end. */
export function backoutDurations(run: Pick<TimedRun, 'steps'>): Map<string, number> {
  const durations = new Map<string, number>();
  for (const step of run.steps) {
    if (step.purpose === 'backout' && step.durationMs !== null && UNDONE.has(step.status)) durations.set(step.stepId, step.durationMs);
  }
  return durations;
}

/**
 * The chain of steps that set how long the run took, as it happened: from the forward step that ended last, back
 * through the dependency (effective: `depends_on` and the phase barrier) that ended last before it. First step first.
 */
export function actualCriticalPath(runbook: GraphRunbook, run: Pick<TimedRun, 'steps'>): string[] {
  const ended = new Map<string, number>();
  for (const step of run.steps) {
    if (step.purpose === 'forward' && step.endedAt) ended.set(step.stepId, Date.parse(step.endedAt));
  }
  let last: string | undefined;
  for (const [id, at] of ended) if (last === undefined || at >= ended.get(last)!) last = id;
  const dependencies = effectiveDependencies(runbook);
  const path: string[] = [];
  const seen = new Set<string>();
  for (let at = last; at !== undefined && !seen.has(at);) {
    seen.add(at);
    path.push(at);
    let next: string | undefined;
    for (const dep of dependencies[at] ?? []) {
      if (ended.has(dep) && (next === undefined || ended.get(dep)! > ended.get(next)!)) next = dep;
    }
    at = next;
  }
  return path.reverse();
}

/**
 * The longest path through the runbook's graph with the given step durations (missing ones count 0): its length
 * and its steps, first step first. The planned critical path with `expected` durations; a simulated night's with
 * drawn ones.
 */
export function longestPath(runbook: GraphRunbook, durationOf: (stepId: string) => number): { lengthMs: number; path: string[] } {
  const dependencies = effectiveDependencies(runbook);
  const end = new Map<string, number>();
  const binding = new Map<string, string>();
  let last: string | undefined;
  for (const id of topologicalOrder(runbook)) {
    let start = 0;
    for (const dep of dependencies[id] ?? []) {
      const depEnd = end.get(dep) ?? 0;
      if (!binding.has(id) || depEnd > start) {
        start = depEnd;
        binding.set(id, dep);
      }
    }
    const finish = start + durationOf(id);
    end.set(id, finish);
    if (last === undefined || finish >= end.get(last)!) last = id;
  }
  const path: string[] = [];
  for (let at = last; at !== undefined; at = binding.get(at)) path.push(at);
  return { lengthMs: last === undefined ? 0 : end.get(last)!, path: path.reverse() };
}

/** One line of `cutover history`. */
export interface HistoryRow {
  runId: string;
  number: number;
  mode: 'rehearsal' | 'live';
  status: string;
  runbookVersion: string;
  versionHash: string;
  startedAt: string | null;
  durationMs: number | null;
  outcome: string | null;
  backedOut: boolean;
  backoutTrigger: string | null;
  backoutMs: number | null;
  /** Who started (and so led) the run. */
  ledBy: string;
}

/** A run as `cutover history` lists it. */
export function historyRow(run: Omit<TimedRun, 'steps'>): HistoryRow {
  return {
    runId: run.id,
    number: run.number,
    mode: run.mode,
    status: run.status,
    runbookVersion: run.runbookVersion,
    versionHash: run.versionHash,
    startedAt: run.startedAt,
    durationMs: runDurationMs(run),
    outcome: run.outcome,
    backedOut: backedOut(run),
    backoutTrigger: run.backoutTrigger,
    backoutMs: backoutDurationMs(run),
    ledBy: run.startedBy,
  };
}
