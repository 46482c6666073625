/**
 * How a run crosses executions. Each execution reads the runbook from the record store page by page (no payload
 * carries it whole) and takes up the state: fresh, or from the compact checkpoint the previous execution handed over
 * (run/checkpoint.ts), with the times of finished steps read back from the store. When an execution has used its
 * history budget it hands over: people's waits carry over, actions that are running finish first.
 */
import { allHandlersFinished, condition, log, makeContinueAsNewFunc, patched, sleep, workflowInfo } from '@temporalio/workflow';
import { applyCheckpoint, applyStepTimes, toCheckpoint } from '../run/checkpoint.js';
import { assembleRunbook } from '../run/pages.js';
import type { StartClaim, StartVerdict } from '../run/start-check.js';
import { runbookMismatch } from '../run/version-hash.js';
import type { RunCheckpoint, RunInput, RunState } from '../run/state.js';
import { initialRunState, stepsInOrder } from '../run/transitions.js';
import type { Runbook } from '../runbook/schema.js';
import { recording } from './activity-calls.js';
import type { cutoverRun } from './cutover-run.js';
import { PATCHES, WORKFLOW_VERSION, WORKFLOW_VERSION_MEMO } from './patches.js';
import type { RunContext } from './run-context.js';

/** Ids of finished steps whose times are read back from the store in one activity. */
const TIMES_PER_READ = 2000;

/**
 * Reads the runbook from the record store, page by page (no payload holds a large one). Executions from patch
 * checks-start also get the store's verdict on their start with the first page (run/start-check.ts).
 */
export async function loadRunbook(ctx: RunContext): Promise<{ runbook: Runbook; start?: StartVerdict }> {
  const { runId } = ctx.input;
  // Checked before anything is awaited (an older execution replays its commands in the same order): the runbook's folder
  // is part of the claim from patch checks-base-dir on.
  const claim = ctx.patches.checksStart ? startClaim(ctx.input, patched(PATCHES.checksBaseDir.id)) : undefined;
  const first = await ctx.activity(() => (claim ? recording.loadRunbookPage(runId, 0, claim) : recording.loadRunbookPage(runId, 0)));
  const rest = await Promise.all(
    Array.from({ length: first.count - 1 }, (_, i) => ctx.activity(() => recording.loadRunbookPage(runId, i + 1))),
  );
  return { runbook: assembleRunbook([first, ...rest]), ...(first.start ? { start: first.start } : {}) };
}

/** The first wait before the runbook is read again after a mismatch; each wait doubles, up to {@link RECHECK_MAX_MS}. */
const RECHECK_FIRST_MS = 15_000;
const RECHECK_MAX_MS = 10 * 60_000;

/**
 * {@link loadRunbook}, and (executions from patch checks-runbook) the runbook checked against the run's version hash
 * before anything uses it. A runbook that does not match is not used: the run says why in its queries, and reads it
 * again, waiting longer each time, until the store holds the reserved text again or the lead cancels the run.
 */
export function loadCheckedRunbook(ctx: RunContext): Promise<{ runbook: Runbook; start?: StartVerdict }> {
  // Older executions get loadRunbook's own promise: not an await more, so their commands stay on the same turns.
  return ctx.patches.checksRunbook ? loadUntilItMatches(ctx) : loadRunbook(ctx);
}

async function loadUntilItMatches(ctx: RunContext): Promise<{ runbook: Runbook; start?: StartVerdict }> {
  let wait = RECHECK_FIRST_MS;
  for (;;) {
    const loaded = await loadRunbook(ctx);
    const mismatch = runbookMismatch(loaded.runbook, ctx.input.versionHash);
    if (mismatch === undefined) {
      ctx.runbookRefused = undefined;
      return loaded;
    }
    ctx.runbookRefused =
      `the runbook text the record store holds for ${ctx.input.runId} is not the version this run was started with: it ${mismatch}. ` +
      'It was changed in the store after the run was reserved; the run does not use it, and goes on once the store holds the reserved text again (or cancel the run)';
    log.error(ctx.runbookRefused);
    await sleep(wait);
    wait = Math.min(wait * 2, RECHECK_MAX_MS);
  }
}

/** What this execution's input claims about the run's start (with its runbook's folder, when `withBaseDir`). */
function startClaim(input: RunInput, withBaseDir: boolean): StartClaim {
  return {
    mode: input.mode,
    versionHash: input.versionHash,
    autoApprove: input.autoApprove === true,
    overridden: input.evidenceOverride !== undefined,
    fresh: input.checkpoint === undefined,
    ...(withBaseDir ? { baseDir: input.baseDir } : {}),
  };
}

/**
 * Takes up the run with its runbook read: the steps' definitions, and the state as it starts. The caller applies a
 * checkpoint to it, if one was handed over (the state is there for people's requests meanwhile).
 */
export function takeUp(ctx: RunContext, runbook: Runbook): RunState {
  ctx.runbook = runbook;
  ctx.defs = new Map(stepsInOrder(runbook).map(({ step }) => [step.id, step]));
  const fresh = initialRunState({ ...ctx.input, runbook }, ctx.now());
  ctx.state = fresh;
  return fresh;
}

/** Applies the checkpoint handed over, and reads back the times of finished steps it carried without them. */
export async function resume(ctx: RunContext, run: RunState, checkpoint: RunCheckpoint): Promise<void> {
  const ids = applyCheckpoint(run, checkpoint);
  for (let i = 0; i < ids.length; i += TIMES_PER_READ) {
    applyStepTimes(run, await ctx.activity(() => recording.loadStepTimes(ctx.input.runId, ids.slice(i, i + TIMES_PER_READ))));
  }
}

/**
 * Ends this execution and continues the run in a new one with the same id. The new execution's memo says which
 * version of the workflow code started it (workflows/patches.ts): Temporal would otherwise copy this one's.
 */
export async function handOver(ctx: RunContext, stage: RunCheckpoint['stage']): Promise<never> {
  // Requests already accepted are answered here; new ones go to the next execution.
  // Events told are with the notifier (it delivers them whatever this execution does).
  await condition(() => ctx.busy === 0 && allHandlersFinished() && !ctx.notices?.sending);
  const continueAsNew = makeContinueAsNewFunc<typeof cutoverRun>({
    memo: { ...workflowInfo().memo, [WORKFLOW_VERSION_MEMO]: WORKFLOW_VERSION },
  });
  // The checkpoint without the store snapshot's revision: the next execution counts its own.
  const checkpoint = toCheckpoint(ctx.current(), stage, ctx.execution);
  // With it, what the run's notices have under way: their timers end with this execution (notices.ts).
  const notices = ctx.notices && patched(PATCHES.carriesNotices.id) ? ctx.notices.carry() : undefined;
  ctx.handedOver = true;
  // A request handled from here on in this activation is refused, to be sent again to the next execution (requests.ts).
  ctx.refusesHandedOver = patched(PATCHES.refusesHandedOver.id);
  return continueAsNew({ ...ctx.input, checkpoint: notices ? { ...checkpoint, notices } : checkpoint });
}
