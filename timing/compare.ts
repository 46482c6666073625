/**
 * Run against run (`cutover compare A B`, and the report's "since the previous rehearsal"): per step and per phase,
 * the plan and both runs' times and the difference; steps added or removed between the two runbook versions (by
 * id); how the critical path changed; the steps that got slower most.
 *
 * Pure: each run comes with the runbook it ran (parsed from its recorded YAML, so a review does not depend on
 * today's file).
 */
import { durationMs } from '../runbook/duration.js';
import type { Runbook } from '../runbook/schema.js';
import { actualCriticalPath, forwardDurations, historyRow, span, type HistoryRow, type TimedRun } from './runs.js';
import { sameVersion } from '../run/version-hash.js';

/** One run with the runbook it ran. */
export interface RunWithRunbook {
  run: TimedRun;
  runbook: Runbook;
}

/** A step in the comparison. */
export interface StepComparison {
  stepId: string;
  title: string;
  phaseId: string;
  /** `both` runbooks have it, or only A's (`removed` in B) or only B's (`added`). */
  presence: 'both' | 'removed' | 'added';
  /** The runbook's `expected`: B's, or A's for a removed step; null when it has none. */
  plannedMs: number | null;
  aMs: number | null;
  bMs: number | null;
  /** B − A, when both ran it. */
  deltaMs: number | null;
}

/** A phase in the comparison: from its first step's start to its last step's end. */
export interface PhaseComparison {
  phaseId: string;
  presence: 'both' | 'removed' | 'added';
  /** Its steps' `expected` durations added up (B's runbook, or A's for a removed phase); null when none has one. */
  plannedMs: number | null;
  aMs: number | null;
  bMs: number | null;
  deltaMs: number | null;
}

/** The runs side by side, as `cutover compare` prints and `--json` returns it. */
export interface RunComparison {
  a: ComparedRun;
  b: ComparedRun;
  sameVersion: boolean;
  totalDeltaMs: number | null;
  phases: PhaseComparison[];
  /** Steps in B's runbook order, then the ones only A had. */
  steps: StepComparison[];
  added: string[];
  removed: string[];
  criticalPath: { a: string[]; b: string[]; joined: string[]; left: string[] };
  /** Steps slower in B than in A, slowest-growing first (at most `topSlower`). */
  slower: StepComparison[];
}

/** The head of a run in a comparison: its line of `cutover history`, less what a comparison does not show. */
export type ComparedRun = Pick<
  HistoryRow,
  'runId' | 'mode' | 'status' | 'runbookVersion' | 'versionHash' | 'startedAt' | 'durationMs' | 'backedOut' | 'backoutMs'
>;

function header(run: TimedRun): ComparedRun {
  const { runId, mode, status, runbookVersion, versionHash, startedAt, durationMs, backedOut, backoutMs } = historyRow(run);
  return { runId, mode, status, runbookVersion, versionHash, startedAt, durationMs, backedOut, backoutMs };
}

interface StepInfo {
  title: string;
  phaseId: string;
  plannedMs: number | null;
}

function stepsOf(runbook: Runbook): Map<string, StepInfo> {
  const steps = new Map<string, StepInfo>();
  for (const phase of runbook.phases) {
    for (const step of phase.steps) {
      if (!steps.has(step.id)) {
        steps.set(step.id, { title: step.title, phaseId: phase.id, plannedMs: step.expected ? durationMs(step.expected) : null });
      }
    }
  }
  return steps;
}

/** How long each phase took in a run: first start to last end of its steps going forward. */
function phaseSpans(run: TimedRun): Map<string, number> {
  const bounds = new Map<string, { start: string; end: string }>();
  for (const step of run.steps) {
    if (step.purpose !== 'forward' || !step.startedAt || !step.endedAt || step.status === 'skipped') continue;
    const seen = bounds.get(step.phaseId);
    if (!seen) bounds.set(step.phaseId, { start: step.startedAt, end: step.endedAt });
    else {
      if (step.startedAt < seen.start) seen.start = step.startedAt;
      if (step.endedAt > seen.end) seen.end = step.endedAt;
    }
  }
  return new Map([...bounds].map(([id, b]) => [id, span(b.start, b.end)!]));
}

const delta = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : b - a);

/** Compares run A (usually the earlier) with run B. */
export function compareRuns(a: RunWithRunbook, b: RunWithRunbook, topSlower = 10): RunComparison {
  const stepsA = stepsOf(a.runbook);
  const stepsB = stepsOf(b.runbook);
  const timesA = forwardDurations(a.run);
  const timesB = forwardDurations(b.run);
  const steps: StepComparison[] = [];
  for (const [id, info] of stepsB) {
    const aMs = timesA.get(id) ?? null;
    const bMs = timesB.get(id) ?? null;
    steps.push({ stepId: id, ...info, presence: stepsA.has(id) ? 'both' : 'added', aMs, bMs, deltaMs: delta(aMs, bMs) });
  }
  for (const [id, info] of stepsA) {
    if (stepsB.has(id)) continue;
    steps.push({ stepId: id, ...info, presence: 'removed', aMs: timesA.get(id) ?? null, bMs: null, deltaMs: null });
  }

  const phaseIdsB = b.runbook.phases.map((p) => p.id);
  const phaseIdsA = a.runbook.phases.map((p) => p.id);
  const spansA = phaseSpans(a.run);
  const spansB = phaseSpans(b.run);
  const plannedOfPhase = (runbook: Runbook, id: string): number | null => {
    const phase = runbook.phases.find((p) => p.id === id);
    if (!phase || phase.steps.every((s) => !s.expected)) return null;
    return phase.steps.reduce((sum, s) => sum + (s.expected ? durationMs(s.expected) : 0), 0);
  };
  const phases: PhaseComparison[] = [
    ...phaseIdsB.map((id) => {
      const aMs = spansA.get(id) ?? null;
      const bMs = spansB.get(id) ?? null;
      return {
        phaseId: id,
        presence: phaseIdsA.includes(id) ? ('both' as const) : ('added' as const),
        plannedMs: plannedOfPhase(b.runbook, id),
        aMs,
        bMs,
        deltaMs: delta(aMs, bMs),
      };
    }),
    ...phaseIdsA
      .filter((id) => !phaseIdsB.includes(id))
      .map((id) => ({
        phaseId: id,
        presence: 'removed' as const,
        plannedMs: plannedOfPhase(a.runbook, id),
        aMs: spansA.get(id) ?? null,
        bMs: null,
        deltaMs: null,
      })),
  ];

  const pathA = actualCriticalPath(a.runbook, a.run);
  const pathB = actualCriticalPath(b.runbook, b.run);
  const slower = steps
    .filter((s) => s.deltaMs !== null && s.deltaMs > 0)
    .sort((x, y) => y.deltaMs! - x.deltaMs! || x.stepId.localeCompare(y.stepId))
    .slice(0, topSlower);
  const headA = header(a.run);
  const headB = header(b.run);
  return {
    a: headA,
    b: headB,
    sameVersion: sameVersion(a.run.versionHash, b.run.versionHash),
    totalDeltaMs: delta(headA.durationMs, headB.durationMs),
    phases,
    steps,
    added: steps.filter((s) => s.presence === 'added').map((s) => s.stepId),
    removed: steps.filter((s) => s.presence === 'removed').map((s) => s.stepId),
    criticalPath: {
      a: pathA,
      b: pathB,
      joined: pathB.filter((id) => !pathA.includes(id)),
      left: pathA.filter((id) => !pathB.includes(id)),
    },
    slower,
  };
}
