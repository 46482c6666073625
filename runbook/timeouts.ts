/**
 * How long steps and checks may take, in one place: the workflow turns these into activity
 * timeouts, the activities into kill timers. Pure: the workflow bundle imports it.
 */
import { durationMs } from './duration.js';
import type { Action, Check } from './schema.js';

/** Longest one attempt of an action may take when the runbook sets no `timeout`. */
export const DEFAULT_STEP_TIMEOUT_MS = 60 * 60 * 1000;
/** Longest one check may take when it sets no `timeout`: checks are meant to be quick questions. */
export const DEFAULT_CHECK_TIMEOUT_MS = 60 * 1000;

/** Longest one comparison of a `reconcile` check may take when it sets no `timeout`: a comparison reads whole tables. */
export const DEFAULT_RECONCILE_TIMEOUT_MS = 60 * 60 * 1000;

/**
 * The longest a step's checks may take together: each question, plus `until` asking again, plus
 * a repeating reconcile check's period (its last round starts at the end of `repeat.for`).
 */
export function checksBudgetMs(checks: readonly Check[]): number {
  return checks.reduce((sum, check) => {
    const fallback = check.kind === 'reconcile' ? DEFAULT_RECONCILE_TIMEOUT_MS : DEFAULT_CHECK_TIMEOUT_MS;
    const each = 'timeout' in check && typeof check.timeout === 'string' ? durationMs(check.timeout) : fallback;
    const until = 'until' in check ? (check.until as { within: string } | undefined) : undefined;
    const repeat = check.kind === 'reconcile' ? check.repeat : undefined;
    return sum + each + (until ? durationMs(until.within) + each : 0) + (repeat ? durationMs(repeat.for) : 0);
  }, 0);
}

/**
 * How long one attempt of an action may take: the action's own `timeout` when it has one (it
 * is the more specific), else the step's, else the default. The kill timer in the activity and
 * the activity's timeout in Temporal both use this one figure, so neither cuts the other short.
 */
export function actionTimeoutMs(action: Action | undefined, stepTimeout: string | undefined): number {
  const own = action && 'timeout' in action && typeof action.timeout === 'string' ? action.timeout : undefined;
  if (own) return durationMs(own);
  return stepTimeout ? durationMs(stepTimeout) : DEFAULT_STEP_TIMEOUT_MS;
}
