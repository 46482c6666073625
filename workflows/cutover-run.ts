/**
 * One run of a runbook (workflow type `cutoverRun`): the forward steps in dependency order
 * (independent ones in parallel), gates and manual steps waiting for people, and the back-out in
 * reverse order when a step fails, a gate says no-go, or the lead asks for it.
 *
 * Any size: the runbook is read from the record store in pages (no payload carries it whole),
 * and when this execution's history has used its budget the run continues as new, handing over
 * a compact checkpoint (run/checkpoint.ts). People's waits survive the hand-over; actions
 * that are running finish first (they are never cut off), and steps that do not depend on them go on meanwhile.
 *
 * This file is the story; the parts share one {@link RunContext} and live beside it: the person requests
 * (requests.ts), the steps (phases.ts, forward-steps.ts, gate-step.ts, backout-step.ts, activity-calls.ts), the
 * evidence watcher, the hand-over and the cancel. Every `patched()` id is in the ledger (patches.ts).
 *
 * Deterministic: imports only the run model, `@temporalio/workflow` and activity types.
 * Time comes from the workflow clock (`new Date()` is replay-safe in the sandbox).
 */
import { allHandlersFinished, ApplicationFailure, CancellationScope, condition, isCancellation, patched } from '@temporalio/workflow';
import { FAILURE_TYPE } from '../run/failures.js';
import { summarizeRun } from '../run/pages.js';
import type { RunInput, RunResult } from '../run/state.js';
import { arrivedUnencrypted, unencryptedRefusal } from '../run/unencrypted.js';
import { backedOutEnding, forwardEnding, simulatedSteps } from '../run/step-rules.js';
import { stepsInOrder } from '../run/transitions.js';
import type { Runbook } from '../runbook/schema.js';
import { failLoudly, recording, sendersRecording } from './activity-calls.js';
import { orderActivations } from './activation-order.js';
import { stopOnCancel } from './cancel.js';
import { handOver, loadCheckedRunbook, resume, takeUp } from './hand-over.js';
import { RunNotices } from './notices.js';
import { PATCHES } from './patches.js';
import { runBackout, runForward } from './phases.js';
import { decideOverride, refuseStart, registerRequests } from './requests.js';
import { registerHypercareRequests, runHypercare } from './hypercare.js';
import { hasHypercareStage } from '../runbook/hypercare-rules.js';
import { formatDuration } from '../runbook/duration.js';
import type { RunState } from '../run/state.js';
import { RunContext } from './run-context.js';

/** Runs a runbook; one workflow id per run, one or more executions. */
export async function cutoverRun(input: RunInput): Promise<RunResult> {
  // A start that reached a worker with CUTOVER_PAYLOAD_KEY unencrypted (the stock CLI, an SDK client without the codec)
  // ends here, before anything. The patch is evaluated only then: runs started before the key replay as they ran.
  if (arrivedUnencrypted(input) && patched(PATCHES.refusesUnencrypted.id))
    throw ApplicationFailure.create({ type: FAILURE_TYPE.unencryptedInput, message: unencryptedRefusal('start'), nonRetryable: true });
  // How an Update meets the other jobs of its activation: decided first, before any of them can (activation-order.ts).
  orderActivations(patched(PATCHES.settledUpdates.id) ? 'settled' : 'as-recorded');
  // Decided once per execution, before anything else (validators cannot record a patch): see the ledger.
  const ctx = new RunContext(input, {
    logsRefusals: patched(PATCHES.logSignedRefusals.id),
    hashesHere: patched(PATCHES.hashInWorkflow.id),
    keepsGoing: patched(PATCHES.handoverKeepsGoing.id),
    retriesUnstarted: patched(PATCHES.retriesUnstarted.id),
    checksStart: patched(PATCHES.checksStart.id),
    boundsRequests: patched(PATCHES.boundedRequests.id),
    checksRunbook: patched(PATCHES.checksRunbook.id),
    snapshotsGates: patched(PATCHES.gateSnapshots.id),
  });
  // People's requests and the queries, before anything else: no request arrives at a run that cannot answer it.
  registerRequests(ctx);
  registerHypercareRequests(ctx);

  /** Why the run did not start (a refused evidence override), when it did not. */
  let refusedToStart: string | undefined;
  try {
    // The runbook, and the state: fresh, or as the previous execution handed it over. A start the record store did
    // not reserve ends here, before anything is written: the store's run is someone else's (start-check.ts).
    const { runbook, start } = await failLoudly(() => loadCheckedRunbook(ctx));
    if (start?.ok === false && !start.own)
      throw ApplicationFailure.create({ type: FAILURE_TYPE.startRefused, message: `start refused: ${start.why}`, nonRetryable: true });
    const run = takeUp(ctx, runbook);
    // Runs whose runbook says whom to tell; evaluated only for them, so every other run replays unchanged.
    if (runbook.notifications && patched(PATCHES.notifies.id)) ctx.notices = new RunNotices(ctx);
    // Runs whose runbook has a rota: whoever is on duty acts for a role (evaluated only for them, before any request is
    // checked against the runbook: the validators look at ctx.runbook, set on the same turn).
    if (runbook.rota && runbook.rota.length > 0 && patched(PATCHES.rotaActs.id)) ctx.dutyActs = true;
    if (input.checkpoint) await resume(ctx, run, input.checkpoint);
    // What the execution before had under way for people (its ready-soon warnings), with the state now there.
    if (input.checkpoint?.notices) ctx.notices?.takeUp();
    run.execution = ctx.execution;
    ctx.touch();

    // A new run: recorded as started, and the lead's evidence override, if any, decided first.
    if (!input.checkpoint) {
      if (input.mode === 'live') refuseSimulatedLive(ctx.book);
      await failLoudly(() => ctx.activity(() => recording.recordRunStarted(ctx.snapshot('forward'))));
      ctx.notices?.runStarted();
      // A live run without the evidence it needs (and no override) is refused, logged; only runs started with
      // --override-evidence carry an override: runs from before either replay unchanged.
      if (start?.ok === false) refusedToStart = await refuseStart(ctx, start.why);
      else if (input.evidenceOverride) refusedToStart = await decideOverride(ctx, input.evidenceOverride);
    }

    // Forward, unless it did not start or was handed over backing out (or in hypercare); then back out if it must.
    const forward = input.checkpoint?.stage !== 'backout' && input.checkpoint?.stage !== 'hypercare';
    if (refusedToStart === undefined && forward && (await runForward(ctx)) === 'handover') return await handOver(ctx, 'forward');
    if (refusedToStart !== undefined) {
      run.status = 'failed';
      run.outcome = `did not start: ${refusedToStart}`;
    } else if (run.backout.status !== 'not_requested') {
      if ((await runBackout(ctx)) === 'handover') return await handOver(ctx, 'backout');
      Object.assign(run, backedOutEnding(run));
    } else if (goesIntoHypercare(ctx)) {
      // Went live, and the runbook has a hypercare exit: the run goes on until the exit gate is approved.
      if ((await runHypercare(ctx)) === 'handover') return await handOver(ctx, 'hypercare');
      Object.assign(run, hypercareEnding(run, ctx.now()));
    } else {
      Object.assign(run, forwardEnding(run, ctx.now()));
    }
  } catch (err) {
    if (!isCancellation(err) || !ctx.state) throw err;
    // A Temporal cancel: nothing new starts, nothing is undone, what runs finishes (cancel.ts).
    await CancellationScope.nonCancellable(() => stopOnCancel(ctx));
  }

  // The end, even of a cancelled run: recorded, and the Updates it already accepted answered.
  const state = ctx.run;
  state.endedAt = ctx.now();
  ctx.revision += 1;
  await CancellationScope.nonCancellable(async () => {
    await ctx.activity(() => recording.recordRunFinished(ctx.snapshot(state.backout.status === 'not_requested' ? 'forward' : 'backout')));
    ctx.notices?.runEnded();
    // The notifier has every event before the run returns (it delivers them after, on its own).
    await condition(() => ctx.busy === 0 && allHandlersFinished() && !ctx.notices?.sending);
    if (state.decisions.some((d) => d.updateId !== undefined) && patched(PATCHES.recordSenders.id)) {
      await sendersRecording.recordSenders(input.runId).catch(() => undefined);
      // A request that arrived meanwhile (refused: the run has ended) is answered before the run returns.
      await condition(() => ctx.busy === 0 && allHandlersFinished());
    }
  });
  // The result is small at any size: the whole state is in the record store and the queries.
  return { status: state.status as RunResult['status'], outcome: state.outcome ?? '', summary: summarizeRun(state, ctx.revision) };
}

/**
 * Whether the run goes on into hypercare: it is in hypercare already (handed over), or its forward steps completed and
 * its runbook has a hypercare exit. The patch is evaluated only there, so runs without one replay unchanged.
 */
function goesIntoHypercare(ctx: RunContext): boolean {
  if (ctx.run.hypercare) return true;
  if (!hasHypercareStage(ctx.book) || forwardEnding(ctx.run, ctx.now()).status !== 'completed') return false;
  return patched(PATCHES.hypercareStage.id);
}

/** How a run that went through hypercare ends: completed, with how long the night and the hypercare took. */
function hypercareEnding(run: RunState, at: string): { status: 'completed'; outcome: string } {
  const began = run.hypercare!.startedAt;
  const night = formatDuration(Date.parse(began) - Date.parse(run.startedAt));
  return {
    status: 'completed',
    outcome: `went live in ${night}; hypercare exited after ${formatDuration(Date.parse(at) - Date.parse(began))}`,
  };
}

/** A live run may not pretend: simulate actions are for rehearsals. */
function refuseSimulatedLive(runbook: Runbook): void {
  const simulated = simulatedSteps(stepsInOrder(runbook).map(({ step }) => step));
  if (simulated.length > 0) {
    throw ApplicationFailure.create({
      type: FAILURE_TYPE.invalidInput,
      message: `a live run cannot contain simulate actions (steps ${simulated.join(', ')})`,
      nonRetryable: true,
    });
  }
}
