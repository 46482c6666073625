/**
 * What a lead sends after a rehearsal (`cutover report RUN`), derived once: the summary, the timeline (planned vs
 * actual per step), decisions, failed checks and steps, reconciliations, back-out, hypercare resolve times, the
 * comparison with the previous rehearsal and the forecast. The Markdown and HTML renderers (cli/report-*.ts) only
 * lay this out; neither computes a figure of its own.
 *
 * Pure: plain records in, a plain model out. No Node imports.
 */
import { durationMs } from '../runbook/duration.js';
import { plannedSchedule } from '../runbook/graph.js';
import type { CheckOutcome, Decision } from '../run/state.js';
import type { Runbook } from '../runbook/schema.js';
import type { RunComparison } from './compare.js';
import type { Forecast } from './forecast.js';
import { actualCriticalPath, backedOut, backoutDurationMs, runDurationMs, span, type TimedRun } from './runs.js';

/** A decision as the record store keeps it. */
export type ReportDecision = Decision & { seq: number };
/** A check result as the record store keeps it. */
export type ReportCheck = CheckOutcome & { stepId: string; attempt: number };
/** A reconciliation's counts, as the record store keeps them (the differing rows stay in `cutover reconcile-report`). */
export interface ReportReconciliation {
  stepId: string;
  attempt: number;
  check: string;
  round: number;
  withinLimits: boolean;
  matched: number;
  missingInTarget: number;
  extraInTarget: number;
  mismatched: number;
  violations: string[];
}

/** A recorded step attempt, as much of it as the report needs. */
export interface ReportAttempt {
  stepId: string;
  purpose: 'forward' | 'backout';
  attempt: number;
  status: string;
  endedAt: string | null;
  error: string | null;
}

/** One bar pair of the timeline: when the step was planned, and when it ran (offsets from the run's start). */
export interface TimelineRow {
  stepId: string;
  title: string;
  phaseId: string;
  owner: string;
  status: string;
  attempts: number;
  plannedStartMs: number;
  plannedMs: number;
  actualStartMs: number | null;
  actualMs: number | null;
  /** actual − planned duration, when both are known and the step has a plan. */
  overMs: number | null;
  onCriticalPath: boolean;
  /** Its undo, when the run backed out and undid it: when it started and how long it took. */
  undo?: { startMs: number; ms: number; status: string };
  /** A gate with a deadline: when it closed to votes (from its opening plus `after_opening`). */
  deadlineMs?: number;
  gate?: boolean;
}

/** A failed step that someone resolved during hypercare, and how long that took. */
export interface ResolvedFailure {
  stepId: string;
  failedAt: string;
  resolvedAt: string;
  by: string;
  how: string;
  resolveMs: number;
}

/** The report of one run. */
export interface RunReport {
  runId: string;
  runbook: string;
  runbookVersion: string;
  versionHash: string;
  mode: string;
  status: string;
  outcome: string | null;
  startedBy: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  plannedMs: number;
  window: { lengthMs: number } | null;
  timeline: TimelineRow[];
  /** The longest actual end among the timeline's bars, for the chart's scale. */
  timelineEndMs: number;
  criticalPath: string[];
  decisions: ReportDecision[];
  failedChecks: ReportCheck[];
  /** Every failed attempt, forward or of an undo (a retried step that then succeeded is listed too). */
  failedSteps: { stepId: string; purpose: 'forward' | 'backout'; attempt: number; error: string; at: string | null }[];
  reconciliations: ReportReconciliation[];
  backout: {
    trigger: string | null;
    reason: string | null;
    requestedBy: string | null;
    startedAt: string | null;
    endedAt: string | null;
    durationMs: number | null;
    undos: { stepId: string; status: string; durationMs: number | null }[];
  } | null;
  hypercare: {
    /** The runbook's mean-time-to-resolve target, when it states one. */
    mttrTargetMs: number | null;
    resolved: ResolvedFailure[];
    /** Mean of the resolve times, when any. */
    mttrMs: number | null;
    /** Whether the measured mean meets the target (null without a target or without resolutions). */
    met: boolean | null;
  };
  previous: RunComparison | null;
  forecast: Forecast | null;
}

/** Everything the report is built from. */
export interface ReportInput {
  run: TimedRun;
  runbook: Runbook;
  decisions: readonly ReportDecision[];
  checks: readonly ReportCheck[];
  reconciliations: readonly ReportReconciliation[];
  /** Every step attempt, as recorded (a `RunDetail`'s `steps`): failures and when they happened. */
  attempts: readonly ReportAttempt[];
  previous: RunComparison | null;
  forecast: Forecast | null;
}

/** Builds the report. */
export function buildReport(input: ReportInput): RunReport {
  const { run, runbook } = input;
  const schedule = plannedSchedule(runbook);
  const runStart = run.startedAt ? Date.parse(run.startedAt) : null;
  const forward = new Map(run.steps.filter((s) => s.purpose === 'forward').map((s) => [s.stepId, s]));
  const undone = new Map(run.steps.filter((s) => s.purpose === 'backout').map((s) => [s.stepId, s]));
  const path = new Set(actualCriticalPath(runbook, run));
  const timeline: TimelineRow[] = [];
  let timelineEndMs = schedule.criticalPathMs;
  for (const phase of runbook.phases) {
    for (const step of phase.steps) {
      const planned = schedule.steps[step.id] ?? { startMs: 0, durationMs: 0 };
      const actual = forward.get(step.id);
      const actualStartMs = actual?.startedAt && runStart !== null ? Date.parse(actual.startedAt) - runStart : null;
      const actualMs = actual ? span(actual.startedAt, actual.endedAt) : null;
      if (actualStartMs !== null) timelineEndMs = Math.max(timelineEndMs, actualStartMs + (actualMs ?? 0));
      const undo = undone.get(step.id);
      const undoStartMs = undo?.startedAt && runStart !== null ? Date.parse(undo.startedAt) - runStart : null;
      if (undoStartMs !== null) timelineEndMs = Math.max(timelineEndMs, undoStartMs + (undo!.durationMs ?? 0));
      const after = step.gate?.deadline?.after_opening;
      timeline.push({
        stepId: step.id,
        title: step.title,
        phaseId: phase.id,
        owner: step.owner,
        status: actual?.status ?? 'not run',
        attempts: actual?.attempts ?? 0,
        plannedStartMs: planned.startMs,
        plannedMs: planned.durationMs,
        actualStartMs,
        actualMs,
        overMs: actualMs !== null && step.expected ? actualMs - planned.durationMs : null,
        onCriticalPath: path.has(step.id),
        ...(undo && undoStartMs !== null ? { undo: { startMs: undoStartMs, ms: undo.durationMs ?? 0, status: undo.status } } : {}),
        ...(after && actualStartMs !== null ? { deadlineMs: actualStartMs + durationMs(after) } : {}),
        ...(step.gate ? { gate: true } : {}),
      });
    }
  }
  const failedSteps = input.attempts
    .filter((a) => a.status === 'failed')
    .map((a) => ({ stepId: a.stepId, purpose: a.purpose, attempt: a.attempt, error: a.error ?? 'failed', at: a.endedAt }));
  const undos = run.steps
    .filter((s) => s.purpose === 'backout')
    .map((s) => ({ stepId: s.stepId, status: s.status, durationMs: s.durationMs }));
  return {
    runId: run.id,
    runbook: runbook.name,
    runbookVersion: run.runbookVersion,
    versionHash: run.versionHash,
    mode: run.mode,
    status: run.status,
    outcome: run.outcome,
    startedBy: run.startedBy,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    durationMs: runDurationMs(run),
    plannedMs: schedule.criticalPathMs,
    window: runbook.window ? { lengthMs: durationMs(runbook.window.length) } : null,
    timeline,
    timelineEndMs,
    criticalPath: [...path],
    decisions: [...input.decisions],
    failedChecks: input.checks.filter((c) => !c.passed),
    failedSteps,
    reconciliations: [...input.reconciliations],
    backout: backedOut(run)
      ? {
          trigger: run.backoutTrigger,
          reason: run.backoutReason ?? null,
          requestedBy: run.backoutRequestedBy ?? null,
          startedAt: run.backoutStartedAt,
          endedAt: run.backoutEndedAt,
          durationMs: backoutDurationMs(run),
          undos,
        }
      : null,
    hypercare: hypercare(runbook, input.decisions, input.checks, input.attempts),
    previous: input.previous,
    forecast: input.forecast,
  };
}

/**
 * Resolve times: from a step's failure (its failed attempt's end, or its failed check) to the lead's resolution of
 * it (`cutover resolve`: retried or done by hand), against the runbook's hypercare MTTR target.
 */
function hypercare(
  runbook: Runbook,
  decisions: readonly ReportDecision[],
  checks: readonly ReportCheck[],
  attempts: readonly ReportAttempt[],
): RunReport['hypercare'] {
  const mttr = runbook.hypercare?.mttr;
  // A single duration is the target for failures resolved during the run; per-severity targets are for incidents.
  const target = typeof mttr === 'string' ? durationMs(mttr) : null;
  const failures = new Map<string, string[]>();
  const note = (key: string, at: string | null) => {
    if (!at) return;
    const list = failures.get(key) ?? [];
    list.push(at);
    failures.set(key, list);
  };
  // A failed attempt fails when it ends; a failed check fails its step when it is recorded.
  for (const attempt of attempts) if (attempt.status === 'failed') note(`${attempt.purpose}:${attempt.stepId}`, attempt.endedAt);
  for (const check of checks) if (!check.passed) note(`forward:${check.stepId}`, check.at);
  const resolved: ResolvedFailure[] = [];
  for (const decision of decisions) {
    if (decision.kind !== 'resolve' || !decision.target) continue;
    // The workflow writes the target as `STEP: retry` or `STEP: done`, with ` (back-out)` for an undo.
    const match = /^([^:]+): (retry|done)( \(back-out\))?$/.exec(decision.target);
    if (!match) continue;
    const stepId = match[1]!;
    const purpose = match[3] ? 'backout' : 'forward';
    const candidates = (failures.get(`${purpose}:${stepId}`) ?? []).filter((at) => at <= decision.at).sort();
    const failedAt = candidates.at(-1);
    if (!failedAt) continue;
    resolved.push({
      stepId,
      failedAt,
      resolvedAt: decision.at,
      by: decision.by,
      how: `${match[2]}${decision.reason ? `: ${decision.reason}` : ''}`,
      resolveMs: Date.parse(decision.at) - Date.parse(failedAt),
    });
  }
  const mttrMs = resolved.length > 0 ? resolved.reduce((s, r) => s + r.resolveMs, 0) / resolved.length : null;
  return {
    mttrTargetMs: target,
    resolved,
    mttrMs,
    met: target === null || mttrMs === null ? null : mttrMs <= target,
  };
}
