/**
 * One forward step, by kind: skipped, a gate (gate-step.ts), a manual step or a wait (a person or a durable timer,
 * then its checks), or an action run as an activity; and what a failure then waits for (the lead's resolution, or
 * the back-out under the automatic policy).
 */
import { condition, isCancellation, sleep } from '@temporalio/workflow';
import type { CheckStepResult } from '../activities/types.js';
import { FAILED_OUTPUT_TAIL_CHARS, type StepState } from '../run/state.js';
import { failedChecksError } from '../run/step-rules.js';
import { durationMs } from '../runbook/duration.js';
import type { Action } from '../runbook/schema.js';
import {
  checkActivities,
  failureMessage,
  recording,
  requestFor,
  runActivity,
  workerStopped,
  type ActivityResult,
} from './activity-calls.js';
import { fixedStartHold, holdForFixedStart } from './fixed-start.js';
import { runGateStep } from './gate-step.js';
import type { RunContext } from './run-context.js';

/**
 * A `reconcile` action whose worker was lost is run again by itself this many times (it only
 * reads); after that, a comparison that keeps killing its worker waits for the lead like any step.
 */
const MAX_LOST_COMPARISONS = 3;

/**
 * A step whose start the record store did not take (locked, down) never ran: it goes again by itself once the store
 * answers, this many times; a store that answers the run but never the step's worker ends with the lead.
 */
export const MAX_UNSTARTED = 10;

/**
 * One forward step, from wherever it is: a fresh step starts at the top; a step handed over by
 * an earlier execution (a gate open for votes, a manual step or a failure waiting for someone,
 * a timer) picks up where it was.
 */
export async function runForwardStep(ctx: RunContext, step: StepState): Promise<void> {
  const d = ctx.def(step.id);
  const hold = fixedStartHold(ctx, step);
  if (hold && !(await holdForFixedStart(ctx, step, hold))) return;
  const fresh = step.startedAt === undefined;
  step.startedAt ??= ctx.now();
  // The owners of manual steps this one leads to are told ahead, when a route asks (see watchReadySoon).
  if (fresh && step.treatment !== 'skip') ctx.notices?.watchReadySoon(step);
  if (step.treatment === 'skip') {
    step.status = 'skipped';
    step.endedAt = step.startedAt;
    ctx.touch();
    await ctx.record(step, 'forward', { attempt: 1 });
    return;
  }
  if (d.gate && step.treatment === 'run') return runGateStep(ctx, step, d.gate);
  const action = d.action;
  if (action?.kind === 'notify' && step.treatment === 'run') return runCommsStep(ctx, step, action);
  // A step running past its plan is told of, when a route asks (only then is there a timer: see watchLate).
  const stopLate = ctx.notices?.watchLate(step);
  const running =
    (action?.kind === 'manual' || action?.kind === 'wait') && step.treatment === 'run'
      ? runWaitStep(ctx, step, action)
      : // Everything else is an activity: shell, http, sql, simulate, and simulated treatment.
        runActivityStep(ctx, step, d.action!);
  return stopLate ? running.finally(stopLate) : running;
}

/** A comms step: its message goes to the run's notifier, and the step is done (it never waits for a receiver). */
async function runCommsStep(ctx: RunContext, step: StepState, action: Extract<Action, { kind: 'notify' }>): Promise<void> {
  ctx.notices?.comms(step, action);
  step.status = 'succeeded';
  step.endedAt = ctx.now();
  step.attempts = 1;
  ctx.touch();
  await ctx.record(step, 'forward', {});
}

/** A manual step (a person marks it done) or a wait (a durable timer runs out); then its checks, if any. */
async function runWaitStep(ctx: RunContext, step: StepState, action: Extract<Action, { kind: 'manual' | 'wait' }>): Promise<void> {
  let finished = true;
  if (!step.resolution) {
    if (step.status === 'pending') {
      step.status = action.kind === 'manual' ? 'waiting' : 'running';
      if (action.kind === 'manual') step.waitingFor = 'manual';
      ctx.touch();
      if (action.kind === 'manual') ctx.notices?.manualWaiting(step);
    }
    finished = await ctx.cancellableWait(step.id, () => {
      if (action.kind !== 'manual') return sleepUntil(step, action.duration);
      const done = condition(() => step.completedBy !== undefined);
      // Escalation timers only when the runbook asks for them (`ack_within`): no turn is added otherwise.
      const stopEscalation = ctx.notices?.watchAcknowledgement(step, 'manual', step.startedAt);
      return stopEscalation ? done.finally(stopEscalation) : done;
    });
    step.waitingFor = undefined;
    step.waitUntil = undefined;
    step.attempts = 1;
  }
  if (!finished || (await verifyAfterWait(ctx, step))) {
    step.endedAt = ctx.now();
    step.status = finished ? 'succeeded' : 'cancelled';
    ctx.touch();
  }
  await ctx.record(step, 'forward', {});
}

/** An action run as an activity: retried as the runbook says, then a failure waits for the lead or backs out. */
async function runActivityStep(ctx: RunContext, step: StepState, action: Action): Promise<void> {
  const d = ctx.def(step.id);
  if (step.status === 'pending') {
    step.status = 'running';
    ctx.touch();
  }
  let lastFailure: { error: string; kind: 'failed' | 'unknown' | 'not_started' } | undefined;
  // A comparison only reads, so one whose worker was lost is simply run again, a few times.
  let lostComparisons = 0;
  let unstarted = 0;
  for (;;) {
    if (!step.resolution) {
      // Counted as acting while it runs (a hand-over waits for it); inline, so that no await is added on the way.
      ctx.acting.add(step.id);
      let result: ActivityResult;
      try {
        result = await runActivity(ctx.input, d, requestFor(ctx.input, ctx.book, d, step, 'forward', action, step.attempts), ctx.activity);
      } finally {
        ctx.acting.delete(step.id);
      }
      if (result.outcome) {
        step.attempts = result.outcome.attempt;
        step.checks = result.outcome.checks;
        step.reconcile = result.outcome.reconcile;
        if (result.outcome.worker) step.worker = result.outcome.worker;
      } else if (result.ok || result.kind !== 'not_started' || !ctx.patches.retriesUnstarted) {
        step.attempts += 1;
      }
      if (result.ok) {
        step.status = step.treatment === 'simulate' ? 'simulated' : 'succeeded';
        step.endedAt = result.outcome.endedAt;
        step.error = undefined;
        step.outputTail = undefined;
        ctx.touch();
        return;
      }
      step.error = result.error;
      step.outputTail = result.outcome?.outputTail?.slice(-FAILED_OUTPUT_TAIL_CHARS);
      if (result.kind === 'unknown') {
        // The activity never reported back, so the attempt was not recorded: record it here.
        await ctx.record(step, 'forward', { status: 'failed', endedAt: ctx.now(), error: `outcome unknown: ${result.error}` });
        if (d.action?.kind === 'reconcile' && step.treatment === 'run' && lostComparisons < MAX_LOST_COMPARISONS) {
          lostComparisons += 1;
          ctx.touch();
          continue;
        }
      }
      if (
        ctx.patches.retriesUnstarted &&
        result.kind === 'not_started' &&
        unstarted < MAX_UNSTARTED &&
        (await storeAnswers(ctx, 'forward'))
      ) {
        unstarted += 1;
        ctx.touch();
        continue;
      }
      if (result.kind === 'failed' && failAutomatically(ctx, step, result.error)) return;
      lastFailure = result;
    }
    // Picked up from a hand-over, the step is already waiting: its resolution says why.
    const decision = await waitForResolution(
      ctx,
      step,
      'forward',
      lastFailure?.error ?? step.error ?? 'failed',
      lastFailure?.kind ?? 'failed',
    );
    step.waitingFor = undefined;
    if (decision === undefined) {
      step.status = 'failed';
      step.endedAt = ctx.now();
      ctx.touch();
      return;
    }
    if (decision === 'done') {
      step.status = 'succeeded';
      step.endedAt = ctx.now();
      ctx.touch();
      // Its own row: the failed attempt keeps its times, the hand-made one is marked as such.
      step.attempts += 1;
      await ctx.record(step, 'forward', {
        status: 'resolved',
        startedAt: step.endedAt,
        error: `done by hand (${step.completedBy}) after: ${step.error}`,
      });
      return;
    }
    if (ctx.run.backout.status !== 'not_requested') {
      // The lead said retry, but the run is backing out now: do not run it again.
      step.status = 'failed';
      step.endedAt = ctx.now();
      ctx.touch();
      return;
    }
    step.status = 'running';
    ctx.touch();
  }
}

/**
 * Waits until the record store answers the run again (a write of its state, retried until it is taken), for a step
 * whose start the store did not take: nothing ran, so it may simply go again. False when the store does not know the
 * run (no wait helps), and in executions from before {@link PATCHES.retriesUnstarted}, where such a step waited for
 * the lead.
 */
export async function storeAnswers(ctx: RunContext, stage: 'forward' | 'backout'): Promise<boolean> {
  if (!ctx.patches.retriesUnstarted) return false;
  try {
    await ctx.activity(() => recording.recordRunState(ctx.snapshot(stage)));
    return true;
  } catch (err) {
    if (isCancellation(err)) throw err;
    return false;
  }
}

/** Sleeps until the step's `waitUntil` (set on first entry, so a new execution sleeps only what is left). */
export function sleepUntil(step: StepState, duration: string): Promise<void> {
  step.waitUntil ??= new Date(Date.now() + durationMs(duration)).toISOString();
  return sleep(Math.max(0, Date.parse(step.waitUntil) - Date.now()));
}

/** Waits for the lead to resolve a failure; returns their decision, or undefined on back-out. */
export async function waitForResolution(
  ctx: RunContext,
  step: StepState,
  scope: 'forward' | 'backout',
  error: string,
  kind: 'failed' | 'unknown' | 'not_started',
) {
  // Once the run backs out, a failed forward step is simply one more step to undo.
  if (scope === 'forward' && ctx.run.backout.status !== 'not_requested') return undefined;
  if (!step.resolution) {
    step.resolution = { scope, error, kind, since: ctx.now() };
    if (scope === 'forward') {
      step.status = 'waiting';
      step.waitingFor = 'resolution';
      ctx.notices?.stepFailed(step, error);
    } else {
      step.backout = { ...step.backout!, status: 'waiting', error };
    }
    ctx.touch();
  }
  // Only a forward failure gives way to a back-out; a failed back-out must be resolved.
  const resolved = () => step.resolution?.decided !== undefined;
  if (scope === 'forward') {
    const ok = await ctx.cancellableWait(step.id, () => condition(resolved));
    if (!ok) {
      // The run backs out instead; nothing is waiting for the lead on this step any more.
      step.resolution = undefined;
      return undefined;
    }
  } else {
    await condition(resolved);
  }
  const action = step.resolution.decided!;
  step.resolution = undefined;
  return action;
}

/** A failed step under the automatic policy backs the run out; returns true when it did. */
function failAutomatically(ctx: RunContext, step: StepState, error: string): boolean {
  if (ctx.book.backout.policy !== 'automatic') return false;
  step.status = 'failed';
  step.endedAt = ctx.now();
  ctx.triggerBackout('step_failed', `step ${step.id} failed: ${error}`);
  ctx.touch();
  return true;
}

/**
 * Runs a manual step's or a wait's checks once the person or the timer is done. Returns true
 * when the step may count as done; on a failure it applies the back-out policy like any step.
 */
async function verifyAfterWait(ctx: RunContext, step: StepState): Promise<boolean> {
  const d = ctx.def(step.id);
  if (d.checks.length === 0 || step.treatment !== 'run') return true;
  for (;;) {
    if (!step.resolution) {
      const request = {
        ...requestFor(ctx.input, ctx.book, d, step, 'forward', { kind: 'simulate', duration: '0s', outcome: 'success' }, step.attempts),
        checks: d.checks,
      };
      const acts = checkActivities(ctx.input, d);
      let error: string;
      ctx.acting.add(step.id);
      try {
        const checked: CheckStepResult = await ctx.activity(() => acts.checkStep(request));
        step.checks = checked.checks;
        if (checked.unrecordedChecks)
          await ctx.activity(() => recording.recordChecks(ctx.input.runId, step.id, request.attemptOffset, step.checks));
        const failed = step.checks.filter((c) => !c.passed);
        if (failed.length === 0) return true;
        error = failedChecksError(failed);
      } catch (err) {
        if (isCancellation(err)) throw err;
        // The worker stopped while it asked: no answer, so ask again (checks are read-only).
        if (workerStopped(err)) continue;
        error = `checks could not run: ${failureMessage(err)}`;
      } finally {
        ctx.acting.delete(step.id);
      }
      step.error = error;
      if (failAutomatically(ctx, step, error)) return false;
    }
    const decision = await waitForResolution(ctx, step, 'forward', step.error ?? 'checks failed', 'failed');
    step.waitingFor = undefined;
    if (decision === undefined) {
      step.status = 'failed';
      step.endedAt = ctx.now();
      ctx.touch();
      return false;
    }
    if (decision === 'done') return true;
    step.status = 'running';
    ctx.touch();
  }
}
