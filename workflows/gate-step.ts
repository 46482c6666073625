/**
 * A go/no-go gate: it opens when its dependencies are done, waits for its approvers (with its evidence kept current,
 * and its deadline, if any), and closes on their decision, its deadline's, or the run's back-out. A no-go backs the
 * run out.
 */
import { condition, patched } from '@temporalio/workflow';
import type { StepState } from '../run/state.js';
import { closeAtDeadline, gateVerdict, openGate } from '../run/step-rules.js';
import type { Gate } from '../runbook/schema.js';
import { refreshEvidence, watchEvidence } from './evidence-watcher.js';
import { PATCHES } from './patches.js';
import type { RunContext } from './run-context.js';

/** Runs a gate step from wherever it is: pending, or open for votes when handed over by an earlier execution. */
export async function runGateStep(ctx: RunContext, step: StepState, def: Gate): Promise<void> {
  if (step.gate!.status === 'pending') {
    step.gate = openGate(step.gate!, def, ctx.book, ctx.input, ctx.run.startedAt, step.startedAt!);
    step.status = 'waiting';
    step.waitingFor = 'approval';
    ctx.touch();
    ctx.storeSnapshot();
    ctx.notices?.gateOpened(step, def);
  }
  let stopWarnings: (() => void) | undefined;
  let stopEscalation: (() => void) | undefined;
  let stopNoReturn: (() => void) | undefined;
  const byPeople = () => step.gate!.status === 'approved' || step.gate!.status === 'rejected';
  const decided = await ctx.cancellableWait(step.id, async () => {
    // Reminders before the deadline, in the wait's scope (a back-out ends them with it).
    stopWarnings = ctx.notices?.warnBeforeDeadline(step, def);
    stopEscalation = ctx.notices?.watchAcknowledgement(step, 'approval', step.gate!.openedAt ?? step.startedAt);
    stopNoReturn = ctx.notices?.warnBeforeNoReturn(step, def);
    const closesAt = step.gate!.closesAt;
    const deadlineMs = closesAt === undefined ? undefined : Date.parse(closesAt);
    // Checked before anything is awaited: a run from before evidence replays its commands in the same order.
    const withEvidence = patched(PATCHES.gateEvidence.id);
    const watched = withEvidence && patched(PATCHES.evidenceWatcher.id);
    if (!withEvidence && deadlineMs === undefined) return condition(byPeople);
    if (watched) {
      // Its evidence now; from here on the run's one evidence watcher keeps it current.
      const hashing = refreshEvidence(ctx, step);
      if (hashing) await hashing;
      if (byPeople()) return;
      ctx.evidence.openGates.add(step.id);
      watchEvidence(ctx);
      try {
        const woke =
          deadlineMs === undefined ? (await condition(byPeople), true) : await condition(byPeople, Math.max(0, deadlineMs - Date.now()));
        if (woke || byPeople()) return;
      } finally {
        ctx.evidence.openGates.delete(step.id);
      }
    } else {
      // Executions from before the watcher: a wait per gate, woken by every change of the run.
      for (;;) {
        if (withEvidence) {
          const hashing = refreshEvidence(ctx, step);
          if (hashing) await hashing;
        }
        if (byPeople()) return;
        const seen = ctx.revision;
        const changed = () => byPeople() || (withEvidence && ctx.revision !== seen);
        const woke =
          deadlineMs === undefined ? (await condition(changed), true) : await condition(changed, Math.max(0, deadlineMs - Date.now()));
        if (byPeople()) return;
        if (!woke) break;
      }
    }
    // Undecided at the deadline: the gate decides as the runbook says, and says so.
    const { gate, decision } = closeAtDeadline(step.id, step.gate!, ctx.now());
    step.gate = gate;
    await ctx.decide(decision);
  });
  stopWarnings?.();
  stopEscalation?.();
  stopNoReturn?.();
  step.waitingFor = undefined;
  step.endedAt = ctx.now();
  step.attempts = 1;
  const verdict = gateVerdict(step.gate!, decided);
  step.status = verdict.status;
  if (verdict.status === 'cancelled') step.gate = verdict.gate;
  if (verdict.status === 'failed') {
    step.error = verdict.error;
    ctx.triggerBackout('gate_rejected', verdict.error, verdict.rejectedBy);
  }
  ctx.touch();
  ctx.storeSnapshot();
  await ctx.record(step, 'forward', {});
}
