/**
 * One step's undo: a manual undo waits for its owner, a wait undo for its timer, anything else runs as an activity;
 * a failing undo never skips silently, it waits until the lead retries it or records that it was done by hand.
 */
import { condition } from '@temporalio/workflow';
import { FAILED_OUTPUT_TAIL_CHARS, type StepState } from '../run/state.js';
import { requestFor, runActivity, type ActivityResult } from './activity-calls.js';
import { MAX_UNSTARTED, sleepUntil, storeAnswers, waitForResolution } from './forward-steps.js';
import type { RunContext } from './run-context.js';

/** One step's undo, from wherever it is (see forward-steps.ts). */
export async function runBackoutStep(ctx: RunContext, step: StepState): Promise<void> {
  const d = ctx.def(step.id);
  const undo = d.backout!;
  if (!step.backout || step.backout.status === 'pending') {
    step.backout = { status: 'running', attempts: 0, startedAt: ctx.now() };
    ctx.touch();
  }
  if (undo.kind === 'manual' && step.treatment !== 'simulate') {
    if (step.backout.status === 'running') {
      step.backout = { ...step.backout, status: 'manual', attempts: 1 };
      ctx.touch();
      ctx.notices?.manualWaiting(step, true);
    }
    await condition(() => step.backout!.status === 'succeeded');
    await ctx.record(step, 'backout', {});
    return;
  }
  if (undo.kind === 'notify' && step.treatment !== 'simulate') {
    // A comms undo (tell them the change is being rolled back): sent, and done.
    ctx.notices?.comms(step, undo, true);
    step.backout = { ...step.backout, status: 'succeeded', attempts: 1, endedAt: ctx.now() };
    ctx.touch();
    await ctx.record(step, 'backout', {});
    return;
  }
  if (undo.kind === 'wait' && step.treatment !== 'simulate') {
    await sleepUntil(step, undo.duration);
    step.waitUntil = undefined;
    step.backout = { ...step.backout, status: 'succeeded', attempts: 1, endedAt: ctx.now() };
    ctx.touch();
    await ctx.record(step, 'backout', {});
    return;
  }
  let unstartedTries = 0;
  for (;;) {
    if (step.backout.status === 'running') {
      const attempts: number = step.backout.attempts;
      ctx.acting.add(step.id);
      let result: ActivityResult;
      try {
        result = await runActivity(ctx.input, d, requestFor(ctx.input, ctx.book, d, step, 'backout', undo, attempts), ctx.activity);
      } finally {
        ctx.acting.delete(step.id);
      }
      // An undo whose start the store did not take never ran: it goes again once the store answers (see storeAnswers).
      const unstarted = !result.ok && result.kind === 'not_started' && ctx.patches.retriesUnstarted;
      const made: number = result.outcome?.attempt ?? (unstarted ? attempts : attempts + 1);
      if (result.ok) {
        step.backout = {
          ...step.backout,
          status: 'succeeded',
          attempts: made,
          endedAt: result.outcome.endedAt,
          error: undefined,
          outputTail: undefined,
        };
        ctx.touch();
        return;
      }
      step.backout = { ...step.backout, attempts: made, outputTail: result.outcome?.outputTail?.slice(-FAILED_OUTPUT_TAIL_CHARS) };
      if (unstarted && unstartedTries < MAX_UNSTARTED && (await storeAnswers(ctx, 'backout'))) {
        unstartedTries += 1;
        ctx.touch();
        continue;
      }
      if (result.kind === 'unknown')
        await ctx.record(step, 'backout', { status: 'failed', endedAt: ctx.now(), error: `outcome unknown: ${result.error}` });
      // A failing back-out never skips silently: it waits until the lead retries it or
      // records that it was done by hand.
      step.resolution = { scope: 'backout', error: result.error, kind: result.kind, since: ctx.now() };
      step.backout = { ...step.backout, status: 'waiting', error: result.error };
      ctx.touch();
      ctx.notices?.backoutHalted(step, result.error);
    }
    const decision = await waitForResolution(ctx, step, 'backout', step.backout.error ?? 'failed', step.resolution?.kind ?? 'failed');
    if (decision === 'done') {
      step.backout = { ...step.backout, status: 'resolved', endedAt: ctx.now() };
      ctx.touch();
      await ctx.record(step, 'backout', { status: 'resolved' });
      return;
    }
    step.backout = { ...step.backout, status: 'running', error: undefined };
    ctx.touch();
  }
}
