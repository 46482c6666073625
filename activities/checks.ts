/**
 * Checks: questions asked after a step's action, each answered pass or fail with one line
 * of detail. A failed check fails the step; checks are never retried by the engine (a check
 * that fails once has told you something).
 */
import type { CheckOutcome } from '../runbook/run-state.js';
import type { Check } from '../runbook/schema.js';
import { performAction, type ActionContext } from './actions.js';

/** Runs every check in order and reports each; stops at nothing, so the record is complete. */
export async function runChecks(checks: Check[], ctx: ActionContext): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = [];
  for (const check of checks) {
    const { name, ...action } = check;
    let passed = false;
    let detail: string;
    try {
      const result = await performAction(action as Parameters<typeof performAction>[0], { ...ctx, timeoutMs: 60_000 });
      passed = result.ok;
      detail = result.detail;
    } catch (err) {
      detail = err instanceof Error ? err.message : String(err);
    }
    outcomes.push({ name, kind: check.kind, passed, detail, at: new Date().toISOString() });
  }
  return outcomes;
}
