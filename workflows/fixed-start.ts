/**
 * A ready step with a fixed start (`not_before`) waits for its time before it starts (runbook/fixed-starts.ts says
 * when, for the plan, the forecast and the run alike). The night starts at the window's start for a live run that
 * has one, else at the run's own start: a rehearsal moves the fixed starts with it. A back-out or a hand-over ends
 * the wait without starting the step; the next execution works the time out again from the runbook.
 *
 * Interface freezes are not held here: a live run whose plan puts a switch-on step inside one is refused at its
 * start unless the lead signs an override (cli/live-start-check.ts), and a run the lead took live over a freeze must
 * not then sit out that freeze.
 */
import { condition, patched } from '@temporalio/workflow';
import type { StepState } from '../run/state.js';
import { earliestStart, holdsAny, nightStartMs, startRules, type StartRules } from '../runbook/fixed-starts.js';
import { PATCHES } from './patches.js';
import type { RunContext } from './run-context.js';

const rulesOf = new WeakMap<object, StartRules>();

/**
 * When `step` must wait for its fixed start (ms since the epoch), or undefined when it may start now. Synchronous on
 * purpose: a step that is not held starts on the same microtask turn as before fixed starts existed, so the commands
 * of runs recorded before replay unchanged (test/workflow-commands.test.ts pins the turns).
 */
export function fixedStartHold(ctx: RunContext, step: StepState): { until: number; why: string } | undefined {
  const runbook = ctx.runbook;
  if (!runbook || step.status !== 'pending') return undefined;
  let rules = rulesOf.get(runbook);
  if (!rules) {
    // The fixed starts only (see above for the freezes).
    rules = { ...startRules(runbook), freezes: [], frozen: new Set<string>() };
    rulesOf.set(runbook, rules);
  }
  if (!holdsAny(rules) || !rules.notBefore.has(step.id)) return undefined;
  const night = nightStartMs(runbook, ctx.run.mode, ctx.run.startedAt);
  const now = Date.parse(ctx.now());
  const { startMs } = earliestStart(rules, step.id, now - night);
  const until = night + startMs;
  // Evaluated only where a step is actually held: runs without fixed starts replay as they were recorded.
  if (until <= now || !patched(PATCHES.holdsFixedStarts.id)) return undefined;
  return { until, why: 'not_before' };
}

/**
 * Holds `step` until `hold.until`. Returns false when the wait ended for a back-out or a hand-over: the step must not
 * start in this execution.
 */
export async function holdForFixedStart(ctx: RunContext, step: StepState, hold: { until: number; why: string }): Promise<boolean> {
  step.heldUntil = new Date(hold.until).toISOString();
  step.heldFor = hold.why;
  ctx.touch();
  const interrupted = await condition(
    () => ctx.run.backout.status !== 'not_requested' || ctx.handOverDue(),
    hold.until - Date.parse(ctx.now()),
  );
  delete step.heldUntil;
  delete step.heldFor;
  ctx.touch();
  return !interrupted;
}
