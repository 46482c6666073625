/**
 * The evidence a go/no-go is decided on, assembled by the run when the gate opens and again
 * whenever it changes while the gate is open: the checks so far, what reconciliations found, the
 * steps that failed, were skipped or only simulated, and the time against the plan at opening.
 * A vote carries the digest of the evidence it was cast on; a vote on evidence that has changed
 * since is refused. Pure: the digest (SHA-256) is taken by the caller.
 */
import { durationMs, formatDuration } from '../runbook/duration.js';
import type { RunState } from './state.js';
import type { Gate } from '../runbook/schema.js';

/** What a gate's approvers decide on. */
export interface GateEvidence {
  checks: { step: string; name: string; passed: boolean; detail: string }[];
  reconciliations: {
    step: string;
    /** The check's name; absent for the step's action. */
    check?: string;
    matched: number;
    mismatched: number;
    missing_in_target: number;
    extra_in_target: number;
    within_limits: boolean;
    sampled: boolean;
  }[];
  failed: string[];
  skipped: string[];
  simulated: string[];
  /** From the run's start to the gate opening, against the gate's planned start. */
  elapsedMs: number;
  plannedMs: number;
}

/** The evidence for gate `gateId` in `state` as it is now. */
export function assembleEvidence(state: RunState, gateId: string): GateEvidence {
  const gate = state.steps[gateId]!;
  const evidence: GateEvidence = {
    checks: [],
    reconciliations: [],
    failed: [],
    skipped: [],
    simulated: [],
    elapsedMs: 0,
    plannedMs: gate.plannedStartMs,
  };
  for (const id of state.order) {
    if (id === gateId) continue;
    const step = state.steps[id]!;
    for (const check of step.checks) evidence.checks.push({ step: id, name: check.name, passed: check.passed, detail: check.detail });
    const found = [
      ...(step.reconcile ? [{ check: undefined as string | undefined, summary: step.reconcile }] : []),
      ...step.checks.flatMap((c) => (c.reconcile ? [{ check: c.name, summary: c.reconcile }] : [])),
    ];
    for (const { check, summary } of found) {
      evidence.reconciliations.push({
        step: id,
        ...(check !== undefined ? { check } : {}),
        matched: summary.matched,
        mismatched: summary.mismatched,
        missing_in_target: summary.missing_in_target,
        extra_in_target: summary.extra_in_target,
        within_limits: summary.within_limits,
        sampled: summary.sampled,
      });
    }
    if (step.status === 'failed') evidence.failed.push(id);
    if (step.status === 'skipped') evidence.skipped.push(id);
    if (step.status === 'simulated') evidence.simulated.push(id);
  }
  const opened = gate.gate?.openedAt ?? gate.startedAt;
  if (opened) evidence.elapsedMs = Math.max(0, Date.parse(opened) - Date.parse(state.startedAt));
  return evidence;
}

/** The evidence in a few words: `12 checks passed, 1 failed; 2 reconciliations within limits; 40m00s elapsed of 35m00s planned`. */
export function summarizeEvidence(e: GateEvidence, formatDuration: (ms: number) => string): string {
  const failedChecks = e.checks.filter((c) => !c.passed).length;
  const parts = [`${e.checks.length - failedChecks} checks passed${failedChecks ? `, ${failedChecks} failed` : ''}`];
  if (e.reconciliations.length > 0) {
    const outside = e.reconciliations.filter((r) => !r.within_limits).length;
    parts.push(`${e.reconciliations.length} reconciliation(s)${outside ? `, ${outside} outside limits` : ', all within limits'}`);
  }
  if (e.failed.length) parts.push(`failed: ${e.failed.join(', ')}`);
  if (e.skipped.length) parts.push(`skipped: ${e.skipped.join(', ')}`);
  if (e.simulated.length) parts.push(`simulated: ${e.simulated.join(', ')}`);
  parts.push(`${formatDuration(e.elapsedMs)} elapsed at opening, planned ${formatDuration(e.plannedMs)}`);
  return parts.join('; ');
}

/**
 * The gate's `criteria` its evidence does not meet, one sentence each (empty: met or none). Until
 * they are met the gate takes no approvals.
 */
export function unmetCriteria(criteria: Gate['criteria'], state: RunState, evidence: GateEvidence): string[] {
  if (!criteria) return [];
  const unmet: string[] = [];
  for (const phase of criteria.checks_passed ?? []) {
    const steps = state.order.map((id) => state.steps[id]!).filter((step) => step.phaseId === phase);
    const notDone = steps.filter((step) => step.status !== 'succeeded' && step.status !== 'simulated').map((step) => step.id);
    const failing = steps.flatMap((step) => step.checks.filter((c) => !c.passed).map((c) => `${step.id}/${c.name}`));
    if (notDone.length > 0) unmet.push(`phase ${phase} is not done (${notDone.join(', ')})`);
    else if (failing.length > 0) unmet.push(`phase ${phase} has failing checks (${failing.join(', ')})`);
  }
  if (criteria.max_mismatch_rate !== undefined) {
    for (const r of evidence.reconciliations) {
      const compared = r.matched + r.mismatched;
      const rate = compared === 0 ? 0 : r.mismatched / compared;
      if (rate > criteria.max_mismatch_rate) {
        unmet.push(
          `reconciliation ${r.step}${r.check ? ` / ${r.check}` : ''} has a mismatch rate of ${Number((rate * 100).toPrecision(3))}% (at most ${criteria.max_mismatch_rate * 100}%)`,
        );
      }
    }
  }
  if (criteria.max_late !== undefined && evidence.elapsedMs > evidence.plannedMs + durationMs(criteria.max_late)) {
    unmet.push(`the gate opened ${formatDuration(evidence.elapsedMs - evidence.plannedMs)} behind plan (at most ${criteria.max_late})`);
  }
  return unmet;
}
