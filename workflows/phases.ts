/**
 * The two parts of a run: forward, each step as soon as the steps it depends on are done (independent ones in
 * parallel), and the back-out, each undo once the steps that depend on it are undone. Either part stops starting
 * steps when a hand-over is due (the execution has used its history budget and the actions running then have ended:
 * see {@link RunContext.handOverDue}), lets what runs finish, and says so: the run then hands over.
 */
import { condition, isCancellation } from '@temporalio/workflow';
import { BackoutPlan, ForwardPlan, type PlanGraph } from '../run/schedule.js';
import { cancelPending, isUndone, markForBackout, resumable, stepsToUndo } from '../run/step-rules.js';
import { isDone } from '../run/transitions.js';
import { recording } from './activity-calls.js';
import { runBackoutStep } from './backout-step.js';
import { runForwardStep } from './forward-steps.js';
import type { RunContext } from './run-context.js';

/** How a part ended: it is over, or this execution hands the run over to the next. */
export type PartEnd = 'done' | 'handover';

/** The run's steps as a plan sees them. */
function graphOf(ctx: RunContext): PlanGraph {
  return {
    get order() {
      return ctx.run.order;
    },
    dependsOn: (id) => ctx.stepOf(id).dependsOn,
  };
}

/**
 * The forward part. Returns 'handover' when this execution used its budget and the run must
 * continue as new (nothing of its own is still running then).
 */
export async function runForward(ctx: RunContext): Promise<PartEnd> {
  const plan = new ForwardPlan(graphOf(ctx), (id) => isDone(ctx.stepOf(id)));
  const ready: string[] = [];
  let inFlight = 0;
  let stepError: unknown;
  for (const id of ctx.run.order) {
    const step = ctx.stepOf(id);
    if (resumable(step)) launch(id);
    else if (step.status === 'pending' && plan.isReady(id)) ready.push(id);
  }

  function launch(id: string): void {
    inFlight += 1;
    runForwardStep(ctx, ctx.stepOf(id)).then(
      () => {
        inFlight -= 1;
        ctx.progressed = true;
        if (isDone(ctx.stepOf(id))) ready.push(...plan.markDone(id));
      },
      (err: unknown) => {
        // Cancelled with the whole run (Temporal cancel): the main flow reports that. Any
        // other error is a bug; keep it to fail the workflow task visibly.
        inFlight -= 1;
        if (!isCancellation(err)) stepError ??= err;
      },
    );
  }

  const backingOut = () => ctx.run.backout.status !== 'not_requested';
  for (;;) {
    if (backingOut()) break;
    if (ctx.handOverDue()) {
      ctx.handingOver = true;
      break;
    }
    while (ready.length > 0) launch(ready.shift()!);
    await condition(() => ready.length > 0 || inFlight === 0 || backingOut() || ctx.handOverDue());
    if (inFlight === 0 && ready.length === 0) break; // finished, or nothing more can start
  }
  // Actions already running finish before anything is undone or handed over.
  await condition(() => ctx.busy === 0 && (ctx.handingOver || inFlight === 0 || backingOut()));
  if (ctx.handingOver) return 'handover';
  await condition(() => inFlight === 0);
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows the first step failure as it was caught
  if (stepError !== undefined) throw stepError;
  cancelPending(ctx.run, ctx.now());
  ctx.touch();
  return 'done';
}

/** Undoes what ran, in reverse dependency order. Returns 'handover' like {@link runForward}. */
export async function runBackout(ctx: RunContext): Promise<PartEnd> {
  if (ctx.run.backout.startedAt === undefined) {
    ctx.run.backout = { ...ctx.run.backout, status: 'running', startedAt: ctx.now() };
    markForBackout(ctx.run, (id) => Boolean(ctx.def(id).backout));
    ctx.touch();
    ctx.notices?.backoutStarted();
    await ctx.activity(() => recording.recordRunState(ctx.snapshot('backout')));
  }
  const plan = new BackoutPlan(graphOf(ctx), stepsToUndo(ctx.run), (id) => isUndone(ctx.stepOf(id)));
  let inFlight = 0;
  let stepError: unknown;
  const launch = (id: string): void => {
    inFlight += 1;
    runBackoutStep(ctx, ctx.stepOf(id)).then(
      () => {
        inFlight -= 1;
        ctx.progressed = true;
        plan.markUndone(id);
      },
      (err: unknown) => {
        inFlight -= 1;
        if (!isCancellation(err)) stepError ??= err;
      },
    );
  };
  for (;;) {
    if (ctx.handOverDue()) {
      ctx.handingOver = true;
      break;
    }
    for (const id of plan.takeReady()) launch(id);
    if (inFlight === 0 && !plan.hasReady()) break;
    await condition(() => plan.hasReady() || inFlight === 0 || ctx.handOverDue());
  }
  if (ctx.handingOver) {
    // Undos waiting for people carry over; running ones finish first.
    await condition(() => ctx.busy === 0);
    return 'handover';
  }
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows the first step failure as it was caught
  if (stepError !== undefined) throw stepError;
  ctx.run.backout = { ...ctx.run.backout, status: 'completed', endedAt: ctx.now() };
  ctx.touch();
  ctx.notices?.backoutFinished();
  return 'done';
}
