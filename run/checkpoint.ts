/**
 * The hand-over between two executions of one run (continue-as-new): what to carry, and how the
 * next execution rebuilds its state from it. Pure: the workflow bundle imports it.
 */
import type { RunCheckpoint, RunState, StepProgress, StepState, StepStatus } from './state.js';

/** One letter per step status in a checkpoint. */
export const STATUS_LETTER: Record<StepStatus, string> = {
  pending: 'p',
  running: 'r',
  waiting: 'w',
  succeeded: 's',
  simulated: 'm',
  skipped: 'k',
  failed: 'f',
  cancelled: 'c',
};
const STATUS_OF_LETTER = Object.fromEntries(Object.entries(STATUS_LETTER).map(([status, letter]) => [letter, status])) as Record<
  string,
  StepStatus
>;

const PROGRESS_FIELDS = [
  'status',
  'waitingFor',
  'attempts',
  'startedAt',
  'endedAt',
  'error',
  'outputTail',
  'checks',
  'gate',
  'completedBy',
  'acks',
  'resolution',
  'backout',
  'waitUntil',
  'worker',
  'reconcile',
] as const satisfies ReadonlyArray<keyof StepProgress>;

/**
 * A step that its letter says all about, apart from its times (which the record store has):
 * not started, or finished in one attempt with nothing to note.
 */
export function isPlain(step: StepState): boolean {
  const noted =
    step.gate !== undefined ||
    step.error !== undefined ||
    step.outputTail !== undefined ||
    step.completedBy !== undefined ||
    step.acks !== undefined ||
    step.resolution !== undefined ||
    step.backout !== undefined ||
    step.waitingFor !== undefined ||
    step.waitUntil !== undefined ||
    step.reconcile !== undefined ||
    step.checks.some((check) => !check.passed || check.reconcile !== undefined);
  if (noted) return false;
  if (step.status === 'pending') return step.attempts === 0;
  return (step.status === 'succeeded' || step.status === 'simulated' || step.status === 'skipped') && step.attempts === 1;
}

/** The checkpoint of `state` for the next execution. */
export function toCheckpoint(state: RunState, stage: RunCheckpoint['stage'], execution: number): RunCheckpoint {
  const { order, steps, ...run } = state;
  let codes = '';
  const progress: RunCheckpoint['progress'] = {};
  for (const id of order) {
    const step = steps[id]!;
    codes += STATUS_LETTER[step.status];
    if (isPlain(step)) continue;
    const carried: Partial<StepProgress> = {};
    for (const field of PROGRESS_FIELDS) {
      if (step[field] !== undefined) (carried as Record<string, unknown>)[field] = step[field];
    }
    progress[id] = carried;
  }
  return { execution, stage, run, codes, progress };
}

/**
 * Applies a checkpoint to a run's initial state (built from the same runbook). Returns the ids of
 * finished plain steps, whose times the caller reads back from the record store.
 *
 * @throws Error when the checkpoint does not fit the runbook (another number of steps).
 */
export function applyCheckpoint(state: RunState, checkpoint: RunCheckpoint): string[] {
  if (checkpoint.codes.length !== state.order.length) {
    throw new Error(`the checkpoint has ${checkpoint.codes.length} steps, the runbook ${state.order.length}`);
  }
  Object.assign(state, checkpoint.run);
  const needTimes: string[] = [];
  state.order.forEach((id, i) => {
    const step = state.steps[id]!;
    const status = STATUS_OF_LETTER[checkpoint.codes[i]!]!;
    const carried = checkpoint.progress[id];
    if (carried) {
      Object.assign(step, carried);
      return;
    }
    step.status = status;
    if (status !== 'pending') {
      step.attempts = 1;
      needTimes.push(id);
    }
  });
  return needTimes;
}

/** When each step first started and last ended going forward, by id, as the record store has it. */
export type StepTimes = Record<string, [startedAt: string | null, endedAt: string | null, worker?: string | null]>;

/** Puts times read back from the record store on the steps a checkpoint carried without them. */
export function applyStepTimes(state: RunState, times: StepTimes): void {
  for (const [id, [startedAt, endedAt, worker]] of Object.entries(times)) {
    const step = state.steps[id];
    if (!step) continue;
    if (startedAt) step.startedAt = startedAt;
    if (endedAt) step.endedAt = endedAt;
    if (worker) step.worker = worker;
  }
}
