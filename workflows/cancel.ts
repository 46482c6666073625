/**
 * What a Temporal cancel means on the night: stop orchestrating and change nothing more.
 * Nothing new starts, people's waits end, actions already running finish and are recorded
 * (they are never killed), and nothing is undone automatically: a cancel is not a no-go.
 * The decision log and the outcome say so, and what the lead does next.
 */
import { condition, patched } from '@temporalio/workflow';
import { cancelDecision, endAfterCancel, runningAtCancel } from '../run/step-rules.js';
import { recording } from './activity-calls.js';
import { PATCHES } from './patches.js';
import type { RunContext } from './run-context.js';

/** Stops the run after a Temporal cancel (called outside the cancelled scope: it still records). */
export async function stopOnCancel(ctx: RunContext): Promise<void> {
  const run = ctx.run;
  const running = runningAtCancel(run);
  run.cancel = { requestedAt: ctx.now(), running };
  const seq = ctx.log(cancelDecision(run, ctx.now()));
  // Hashed and written here, and waited for: nobody waits for an answer, and the run must not end without it. Written
  // out rather than behind a function: a function's own turn would move the commands that follow in the activation.
  if (patched(PATCHES.decisionHashChain.id)) await ctx.chainUpTo(seq);
  await ctx.activity(() => recording.recordDecision(ctx.input.runId, seq, run.decisions[seq]!));
  await condition(() => ctx.busy === 0);
  endAfterCancel(run, running, ctx.now());
}
