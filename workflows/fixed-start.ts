/**
 * A ready step with a fixed start (`not_before`), or a switch-on step that would start inside a declared interface
 * freeze, waits for its time before it starts (runbook/fixed-starts.ts says when, for the plan, the forecast and the
 * run alike). The night starts at the window's start for a live run that has one, else at the run's own start: a
 * rehearsal moves the fixed starts and the freezes with it. A back-out or a hand-over ends the wait without starting
 * the step; the next execution works the time out again from the runbook.
 *
 * A live run whose plan put a switch-on step inside a freeze was refused at its start unless the lead signed an
 * override of it (cli/live-start-check.ts); a run the lead took live over a freeze is not then held out of it. One
 * that started clear of every freeze and fell behind into one is held.
 */
import { condition, patched } from '@temporalio/workflow';
import type { StepState } from '../run/state.js';
import { earliestStart, holdsAny, nightStartMs, overridesFreezes, startRules, type StartRules } from '../runbook/fixed-starts.js';
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
    rules = startRules(runbook);
    if (ctx.run.mode === 'live' && overridesFreezes(ctx.input.evidenceOverride?.missing))
      rules = { ...rules, freezes: [], frozen: new Set() };
    rulesOf.set(runbook, rules);
  }
  if (!holdsAny(rules) || (!rules.notBefore.has(step.id) && !rules.frozen.has(step.id))) return undefined;
  const night = nightStartMs(runbook, ctx.run.mode, ctx.run.startedAt);
  const now = Date.parse(ctx.now());
  const { startMs, freeze } = earliestStart(rules, step.id, now - night);
  // Evaluated only where a step is actually held: runs without fixed starts or freezes replay as they were recorded.
  if (night + startMs <= now || !patched(PATCHES.holdsFixedStarts.id)) return undefined;
  if (freeze && patched(PATCHES.holdsFreezes.id))
    return { until: night + startMs, why: `interface freeze${freeze.reason ? ` (${freeze.reason})` : ''}` };
  // Executions from before freezes were held wait for the fixed start only.
  const fixed = earliestStart({ ...rules, frozen: new Set() }, step.id, now - night).startMs;
  return night + fixed > now ? { until: night + fixed, why: 'not_before' } : undefined;
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
