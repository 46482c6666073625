/**
 * The parallel-run reconciliations of hypercare (`hypercare.reconcile`) as pure state transitions: which are due, each
 * round's differences kept (the last rounds and the counts, never the rows: those go nowhere near the run's state), and
 * the exit gate's `drift_rounds` criterion read from them. The workflow (workflows/hypercare-drift.ts) runs the rounds.
 *
 * Plain JSON, ISO times; pure: the workflow bundle imports it.
 */
import { durationMs } from '../runbook/duration.js';
import type { Runbook } from '../runbook/schema.js';
import type { HypercareState } from './hypercare.js';

/** Rounds each reconciliation keeps (two days of hourly rounds), or the exit's `drift_rounds` when that is more. */
export const RECONCILE_ROUNDS_KEPT = 48;

/** One round of a parallel-run reconciliation: how many rows differed, or why it could not compare. */
export interface DriftRound {
  round: number;
  at: string;
  missing?: number;
  extra?: number;
  mismatched?: number;
  /** Why the comparison gave no result (it counts as drift: nobody knows the systems agree). */
  error?: string;
}

/** What the run knows of one parallel-run reconciliation. */
export interface ReconcileRounds {
  id: string;
  title?: string;
  owner?: string;
  checkedAt?: string;
  rounds: number;
  /** Rounds that found differences or could not compare. */
  driftRounds: number;
  /** The latest rounds, oldest first. */
  last: DriftRound[];
}

/** What one comparison found, as the activity answers. */
export interface DriftReading {
  reconcileId: string;
  missing?: number;
  extra?: number;
  mismatched?: number;
  error?: string;
}

/** The rows that differed in a round, or undefined when it could not compare. */
export function differing(round: DriftRound): number | undefined {
  return round.error !== undefined ? undefined : (round.missing ?? 0) + (round.extra ?? 0) + (round.mismatched ?? 0);
}

/** The reconciliations' state at the start of hypercare (none without `hypercare.reconcile`). */
export function startReconciles(runbook: Runbook): ReconcileRounds[] {
  return (runbook.hypercare?.reconcile ?? []).map((r) => ({
    id: r.id,
    ...(r.title ? { title: r.title } : {}),
    ...(r.owner ? { owner: r.owner } : {}),
    rounds: 0,
    driftRounds: 0,
    last: [],
  }));
}

/** The reconciliations due at `nowMs`: never compared, or compared `repeat` ago. */
export function reconcilesDue(runbook: Runbook, state: HypercareState, nowMs: number): string[] {
  return (runbook.hypercare!.reconcile ?? []).filter((r) => dueAt(r.id, r.repeat, state) <= nowMs).map((r) => r.id);
}

/** The next time a reconciliation is due, ms, or undefined without any. */
export function nextReconcileAt(runbook: Runbook, state: HypercareState): number | undefined {
  let next: number | undefined;
  for (const r of runbook.hypercare!.reconcile ?? []) {
    const due = dueAt(r.id, r.repeat, state);
    if (next === undefined || due < next) next = due;
  }
  return next;
}

function dueAt(id: string, repeat: string, state: HypercareState): number {
  const at = state.reconciles?.find((r) => r.id === id)?.checkedAt;
  return at === undefined ? 0 : Date.parse(at) + durationMs(repeat);
}

/** Keeps one round's counts: the latest rounds only, so weeks of hourly rounds stay a few kilobytes. */
export function takeDriftRound(runbook: Runbook, state: HypercareState, reading: DriftReading & { at: string }): DriftRound {
  const entry = state.reconciles!.find((r) => r.id === reading.reconcileId)!;
  const round: DriftRound = {
    round: entry.rounds + 1,
    at: reading.at,
    ...(reading.error !== undefined
      ? { error: reading.error }
      : { missing: reading.missing ?? 0, extra: reading.extra ?? 0, mismatched: reading.mismatched ?? 0 }),
  };
  entry.rounds += 1;
  entry.checkedAt = reading.at;
  if (differing(round) !== 0) entry.driftRounds += 1;
  const kept = Math.max(RECONCILE_ROUNDS_KEPT, runbook.hypercare?.exit?.drift_rounds ?? 0);
  entry.last = [...entry.last, round].slice(-kept);
  return round;
}

/** The exit criterion `drift_rounds`: each reconciliation found 0 differences in each of its last N rounds. */
export function unmetDrift(runbook: Runbook, state: HypercareState): string[] {
  const n = runbook.hypercare!.exit!.drift_rounds;
  const unmet: string[] = [];
  for (const entry of state.reconciles ?? []) {
    const last = entry.last.slice(-n);
    if (last.length < n || last.some((r) => differing(r) !== 0))
      unmet.push(`reconcile ${entry.id} has not found 0 differences in each of its last ${n} rounds`);
  }
  return unmet;
}
