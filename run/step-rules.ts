/**
 * Pure decisions the run workflow makes about its steps and its end: how a gate opens, what its deadline decides,
 * what a closed gate means for its step, which steps a back-out undoes, what a cancel leaves behind, and the sentence
 * a run ends with. No Temporal and no clock: callers pass `at` timestamps. The workflow (workflows/) calls these and
 * tells the story; the tests call them directly.
 *
 * Those that change the state change it in place, as the workflow's own code did, in the same order (the order of a
 * step's fields is the order of its JSON in the record store's snapshots).
 */
import { formatDuration } from '../runbook/duration.js';
import type { Gate, Runbook } from '../runbook/schema.js';
import type { CheckOutcome, Decision, GateState, RunInput, RunResult, RunState, StepState } from './state.js';
import { gateClosesAt, isDone, pointOfNoReturn } from './transitions.js';

/**
 * A gate whose dependencies are done opens for votes: when it closes (its deadline, if any) and the point of no
 * return (with the measured back-out when the run was started with one: the figure `cutover forecast` gives).
 */
export function openGate(
  gate: GateState,
  def: Gate,
  runbook: Runbook,
  input: Pick<RunInput, 'mode' | 'backoutP90Ms'>,
  runStartedAt: string,
  openedAt: string,
): GateState {
  const closesAt = gateClosesAt(def, runbook, input.mode, runStartedAt, openedAt);
  const noReturn = pointOfNoReturn(runbook, input.mode, runStartedAt, input.backoutP90Ms);
  return {
    ...gate,
    status: 'open',
    openedAt,
    ...(noReturn ? { pointOfNoReturn: noReturn } : {}),
    ...(closesAt ? { closesAt, onDeadline: def.deadline!.decides } : {}),
  };
}

/** Undecided at its deadline, a gate decides as the runbook says (no-go unless it says go), and the log says so. */
export function closeAtDeadline(gateId: string, gate: GateState, at: string): { gate: GateState; decision: Decision } {
  const outcome = gate.onDeadline ?? 'no-go';
  return {
    gate: { ...gate, status: outcome === 'go' ? 'approved' : 'rejected', decidedAt: at, closedByDeadline: true },
    decision: {
      kind: 'deadline',
      by: 'cutover',
      role: 'deadline',
      target: gateId,
      reason: `no decision by ${gate.closesAt}; the runbook says ${outcome}`,
      at,
      automatic: true,
    },
  };
}

/**
 * What a gate's end means for its step: cancelled with the run's back-out (`decided` false), succeeded on a go, or
 * failed on a no-go, with the reason the run then backs out for and who said no.
 */
export function gateVerdict(
  gate: GateState,
  decided: boolean,
): { status: 'cancelled'; gate: GateState } | { status: 'succeeded' } | { status: 'failed'; error: string; rejectedBy?: string } {
  if (!decided) return { status: 'cancelled', gate: { ...gate, status: 'cancelled' } };
  if (gate.status === 'approved') return { status: 'succeeded' };
  if (gate.closedByDeadline) return { status: 'failed', error: `no-go: nobody decided by the gate's deadline, ${gate.closesAt}` };
  const no = gate.votes.find((v) => v.decision === 'reject')!;
  return { status: 'failed', error: `no-go: rejected by ${no.by} (${no.role}): ${no.reason ?? ''}`.trim(), rejectedBy: no.by };
}

/** Why checks run after a manual step or a wait failed them, in one sentence. */
export function failedChecksError(failed: readonly CheckOutcome[]): string {
  return `check ${failed.map((c) => `"${c.name}" failed: ${c.detail}`).join('; check ')}`;
}

/** A step started or picked up again in this execution (it was waiting, sleeping or failed). */
export function resumable(step: StepState): boolean {
  return step.status === 'waiting' || (step.status === 'running' && (step.waitUntil !== undefined || step.resolution !== undefined));
}

/** The forward part is over: steps that never started are cancelled. */
export function cancelPending(state: RunState, at: string): void {
  for (const id of state.order) {
    const step = state.steps[id]!;
    if (step.status === 'pending') {
      step.status = 'cancelled';
      step.endedAt = at;
    }
  }
}

/**
 * The back-out begins: every step that ran (not a gate) is to be undone, or needs no undo when it has none
 * (`hasUndo`).
 */
export function markForBackout(state: RunState, hasUndo: (id: string) => boolean): void {
  for (const id of state.order) {
    const step = state.steps[id]!;
    const ran = step.kind !== 'gate' && (step.status === 'succeeded' || step.status === 'simulated' || step.status === 'failed');
    if (ran && !hasUndo(id)) step.backout = { status: 'not_needed', attempts: 0 };
    else if (ran) step.backout = { status: 'pending', attempts: 0 };
  }
}

/** The steps the back-out undoes, in runbook order. */
export function stepsToUndo(state: RunState): string[] {
  return state.order.filter((id) => state.steps[id]!.backout !== undefined && state.steps[id]!.backout.status !== 'not_needed');
}

/** Whether a step's undo is over (done, or done by hand). */
export function isUndone(step: StepState): boolean {
  return step.backout?.status === 'succeeded' || step.backout?.status === 'resolved';
}

type Ending = { status: RunResult['status']; outcome: string };

/** How a run that backed out ends. */
export function backedOutEnding(state: RunState): Ending {
  const undone = Object.values(state.steps).filter(isUndone).length;
  return { status: 'backed_out', outcome: `backed out (${state.backout.reason ?? 'no reason given'}); ${undone} step(s) undone` };
}

/** How a run ends whose forward part is over without a back-out: completed, or stopped with steps not done. */
export function forwardEnding(state: RunState, at: string): Ending {
  if (Object.values(state.steps).every(isDone)) {
    return { status: 'completed', outcome: `completed in ${formatDuration(Date.parse(at) - Date.parse(state.startedAt))}` };
  }
  const stuck = Object.values(state.steps)
    .filter((s) => !isDone(s))
    .map((s) => s.id);
  return { status: 'failed', outcome: `stopped with steps not done: ${stuck.join(', ')}` };
}

/** The steps running (forward or undo) when a Temporal cancel came: they finish first. */
export function runningAtCancel(run: RunState): string[] {
  return run.order.filter((id) => run.steps[id]!.status === 'running' || run.steps[id]!.backout?.status === 'running');
}

/** The decision a Temporal cancel logs. */
export function cancelDecision(run: RunState, at: string): Decision {
  return {
    kind: 'cancel',
    by: 'temporal',
    role: 'temporal',
    target: run.runId,
    reason: 'the workflow was cancelled through Temporal',
    at,
    automatic: false,
  };
}

/**
 * After a Temporal cancel, once what was running has finished: every step not finished is cancelled, the run has
 * failed, and its outcome says what was and was not undone, what still stands, and what the lead does next.
 */
export function endAfterCancel(run: RunState, running: readonly string[], stoppedAt: string): void {
  for (const id of run.order) {
    const step = run.steps[id]!;
    if (step.status === 'pending' || step.status === 'waiting' || step.status === 'running') {
      step.status = 'cancelled';
      step.waitingFor = undefined;
      step.resolution = undefined;
      step.endedAt ??= stoppedAt;
    }
  }
  const applied = run.order.filter((id) => {
    const step = run.steps[id]!;
    const kept =
      step.backout === undefined ||
      step.backout.status === 'pending' ||
      step.backout.status === 'waiting' ||
      step.backout.status === 'manual';
    return step.kind !== 'gate' && (step.status === 'succeeded' || step.status === 'failed') && kept;
  });
  run.status = 'failed';
  const undone = run.order.filter((id) => isUndone(run.steps[id]!));
  run.outcome =
    `cancelled through Temporal; ` +
    (run.backout.status === 'not_requested'
      ? 'nothing was backed out'
      : `the back-out stopped part-way (${undone.length > 0 ? `undone: ${undone.join(', ')}` : 'nothing undone yet'})`) +
    (running.length > 0 ? `; ${running.join(', ')} finished first` : '') +
    (applied.length > 0
      ? `; still applied: ${applied.join(', ')}: undo them by hand with their back-out actions, or start a new run`
      : '; no step had changed anything');
}

/** The steps of a live run that would only pretend (simulate actions are for rehearsals). */
export function simulatedSteps(steps: readonly { id: string; action?: { kind: string }; backout?: { kind: string } }[]): string[] {
  return steps.filter((s) => s.action?.kind === 'simulate' || s.backout?.kind === 'simulate').map((s) => s.id);
}
