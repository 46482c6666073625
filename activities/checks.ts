/**
 * Checks: questions asked after a step's action, each answered pass or fail with one line
 * of detail. A failed check fails the step; checks are never retried by the engine (a check
 * that fails once has told you something).
 */
import { durationMs } from '../runbook/duration.js';
import type { CheckOutcome } from '../run/state.js';
import { DEFAULT_CHECK_TIMEOUT_MS } from '../runbook/timeouts.js';
import type { Check } from '../runbook/schema.js';
import { waitHeartbeating, type ActionContext } from './action-context.js';
import { performAction } from './actions.js';

/**
 * Thrown when the worker stops while checks are being asked: they were cut short, which is no
 * answer at all (not a failure), so nothing about them is recorded and they are asked again.
 */
export class ChecksInterruptedError extends Error {
  constructor(readonly checkName: string) {
    super(`the worker stopped while check "${checkName}" was being asked`);
    this.name = 'ChecksInterruptedError';
  }
}

/**
 * Runs every check in order and reports each; stops at nothing, so the record is complete,
 * except a worker that stops: then it stops asking and throws {@link ChecksInterruptedError}.
 */
export async function runChecks(checks: Check[], ctx: ActionContext): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = [];
  const workerStopped = () => ctx.signal?.aborted === true && ctx.workerStopping?.() === true;
  for (const check of checks) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- not every Check member has `until`; without it TS types it `{}`
    const { name, until, ...action } = check as Check & { until?: { within: string; every: string } };
    const deadline = until ? Date.now() + durationMs(until.within) : 0;
    let asked = 0;
    let passed: boolean;
    let detail: string;
    let reconcile: CheckOutcome['reconcile'];
    for (;;) {
      if (workerStopped()) throw new ChecksInterruptedError(name);
      asked += 1;
      try {
        const result = await performAction(action, { ...ctx, timeoutMs: DEFAULT_CHECK_TIMEOUT_MS, check: true, checkName: name });
        if (result.interrupted) throw new ChecksInterruptedError(name);
        passed = result.ok;
        detail = result.detail;
        reconcile = result.reconcile;
      } catch (err) {
        if (err instanceof ChecksInterruptedError) throw err;
        passed = false;
        reconcile = undefined;
        detail = err instanceof Error ? err.message : String(err);
      }
      // An answer cut short by the worker stopping (an aborted request, a killed query) is none.
      if (workerStopped()) throw new ChecksInterruptedError(name);
      if (passed || !until || Date.now() + durationMs(until.every) > deadline || ctx.signal?.aborted) break;
      await waitHeartbeating(durationMs(until.every), ctx);
    }
    if (until && asked > 1)
      detail = passed ? `${detail} (after ${asked} tries)` : `${detail} (still failing after ${asked} tries in ${until.within})`;
    outcomes.push({ name, kind: check.kind, passed, detail, at: new Date().toISOString(), ...(reconcile ? { reconcile } : {}) });
  }
  return outcomes;
}
