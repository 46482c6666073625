/**
 * The oracles: the ledger of commands that ran, the record store against the workflow's state, the back-out's order.
 * Part of the fault scenarios (index.ts says what they are and why they import the way they do).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunDetail } from '../../../prisma/records.js';
import type { RunResult, RunState } from '../../../run/state.js';
import { type FaultRunbook, PEOPLE } from './runbook.js';

// ---------------------------------------------------------------------------------------------
// Oracles

/** Keys in the ledger file of a run folder, with how many times each was appended. */
export function ledger(dir: string): Map<string, number> {
  const file = path.join(dir, 'ledger.txt');
  const counts = new Map<string, number>();
  if (!existsSync(file)) return counts;
  for (const key of readFileSync(file, 'utf8').split('\n').filter(Boolean)) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/** Keys that were appended more than once: a step or an undo that ran twice. */
export function repeatedKeys(dir: string): string[] {
  return [...ledger(dir)].filter(([, n]) => n > 1).map(([key, n]) => `${key} ran ${n} times`);
}

/**
 * Where the record store disagrees with the final state the workflow returned (Temporal's
 * history): the run row, the state snapshot, each step's attempt rows and back-out rows, and
 * the decision log. Empty when they agree.
 */
export function storeMismatches(detail: RunDetail | null, result: RunResult & { state: RunState }): string[] {
  if (!detail) return [`the store has no run ${result.state.runId}`];
  const problems: string[] = [];
  const same = (what: string, stored: unknown, actual: unknown) => {
    if (canonical(stored) !== canonical(actual)) problems.push(`${what}: store has ${canonical(stored)}, the run ${canonical(actual)}`);
  };
  same('run status', detail.status, result.status);
  same('run outcome', detail.outcome, result.outcome);
  same('run ended at', detail.endedAt, result.state.endedAt);
  same('final state snapshot', detail.state, result.state);
  for (const id of result.state.order) {
    const step = result.state.steps[id]!;
    const rows = detail.steps.filter((r) => r.stepId === id && r.purpose === 'forward').sort((a, b) => a.attempt - b.attempt);
    const undoRows = detail.steps.filter((r) => r.stepId === id && r.purpose === 'backout').sort((a, b) => a.attempt - b.attempt);
    for (const row of [...rows, ...undoRows]) {
      if (row.status === 'running' || row.status === 'waiting' || row.status === 'pending')
        problems.push(`${id} ${row.purpose} attempt ${row.attempt} is still ${row.status} in the store`);
    }
    if (step.status === 'cancelled' && step.attempts === 0) {
      if (rows.length > 0) problems.push(`${id} never started but the store has ${rows.length} attempt(s)`);
    } else {
      same(
        `${id} attempt numbers`,
        rows.map((r) => r.attempt),
        Array.from({ length: step.attempts }, (_, i) => i + 1),
      );
      const last = rows.at(-1);
      // A step the lead recorded done by hand has a last row `resolved`; otherwise the status is the step's.
      const expected =
        step.status === 'succeeded' && last?.status === 'resolved' && step.completedBy === PEOPLE.lead ? 'resolved' : step.status;
      same(`${id} last attempt status`, last?.status, expected);
    }
    const undo = step.backout;
    if (!undo || undo.status === 'not_needed') {
      if (undoRows.length > 0) problems.push(`${id} needed no undo but the store has ${undoRows.length} back-out row(s)`);
    } else {
      same(`${id} back-out status`, undoRows.at(-1)?.status, undo.status);
    }
  }
  same(
    'decisions',
    detail.decisions.map(({ seq: _seq, ...d }) => d),
    result.state.decisions,
  );
  return problems;
}

/** JSON with object keys sorted, so that two equal values print the same. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/**
 * Back-out order from the store's back-out rows: a step's undo may start only after the undos of
 * every step that depends on it (and was undone) ended. One line per violation.
 */
export function backoutOrderViolations(runbook: FaultRunbook, detail: RunDetail): string[] {
  const undo = new Map<string, { start: number; end: number }>();
  for (const row of detail.steps) {
    if (row.purpose !== 'backout' || !row.startedAt) continue;
    const prev = undo.get(row.stepId);
    const start = Date.parse(row.startedAt);
    const end = row.endedAt ? Date.parse(row.endedAt) : Number.POSITIVE_INFINITY;
    undo.set(row.stepId, { start: Math.min(prev?.start ?? start, start), end: Math.max(prev?.end ?? end, end) });
  }
  const problems: string[] = [];
  for (const [id, own] of undo) {
    for (const [other, theirs] of undo) {
      if (runbook.dependsOn[other]?.has(id) && own.start < theirs.end) {
        problems.push(`undo of ${id} started ${theirs.end - own.start} ms before the undo of ${other} (which depends on it) ended`);
      }
    }
  }
  return problems;
}
