/**
 * The run's activities, as the workflow calls them: the proxies with their timeouts and retries, the request a
 * step's action becomes, and what a failed call means (failed, outcome unknown, never started).
 *
 * Deterministic: activity *types* only; the calls go through `@temporalio/workflow`'s proxies.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { ActionSummary, StepOutcome, StepRequest } from '../activities/types.js';
import { FAILURE_TYPE } from '../run/failures.js';
import type { RunInput, StepState } from '../run/state.js';
import { durationMs } from '../runbook/duration.js';
import { poolTaskQueue } from '../runbook/pools.js';
import type { Action, Runbook, Step } from '../runbook/schema.js';
import { actionTimeoutMs, checksBudgetMs } from '../runbook/timeouts.js';

type Activities = ReturnType<typeof createActivities>;

/**
 * A worker that dies mid-action stops heartbeating; after this long the attempt counts as
 * lost and the step waits for a person (its outcome is unknown), instead of hanging for the
 * whole step timeout.
 */
export const HEARTBEAT_TIMEOUT = '30s';

/**
 * Recording never gives up: a record store that is down stalls the run (`cutover status` says
 * so) rather than losing the record of what happened.
 */
export const recording = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: {
    initialInterval: '1s',
    maximumInterval: '30s',
    backoffCoefficient: 2,
    nonRetryableErrorTypes: [FAILURE_TYPE.runNotRecorded, FAILURE_TYPE.invalidInput],
  },
});

/**
 * Copies the senders of the run's requests to the store: worth a few tries, never worth holding the run's end (the
 * history still has them, for as long as Temporal keeps it).
 */
export const sendersRecording = proxyActivities<Activities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 3 } });

/** Checks a signed request's signature and hashes the decision log with Node's crypto, on the worker that hosts the run. */
export const verifier = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s', retry: { maximumAttempts: 3 } });

/** What a step's action (or undo) came to: its outcome, or why it has none. */
export type ActivityResult =
  { ok: true; outcome: StepOutcome } | { ok: false; error: string; kind: 'failed' | 'unknown' | 'not_started'; outcome?: StepOutcome };

/** The request a step's action (or its undo) becomes for the activity that runs it. */
export function requestFor(
  input: RunInput,
  runbook: Runbook,
  d: Step,
  step: StepState,
  purpose: 'forward' | 'backout',
  action: Action,
  attemptOffset: number,
): StepRequest {
  const simulated = step.treatment === 'simulate';
  return {
    runId: input.runId,
    stepId: step.id,
    phaseId: step.phaseId,
    title: step.title,
    owner: step.owner,
    kind: step.kind,
    mode: input.mode,
    purpose,
    treatment: simulated ? 'simulate' : 'run',
    action: simulated ? { kind: 'simulate', duration: purpose === 'forward' ? (d.expected ?? '0s') : '0s', outcome: 'success' } : action,
    checks: simulated || purpose === 'backout' ? [] : d.checks,
    baseDir: input.baseDir,
    connections: runbook.connections,
    idempotencyKey: purpose === 'forward' ? step.idempotencyKey : `${step.idempotencyKey}/backout`,
    attemptOffset,
    maxAttempts: purpose === 'forward' && !simulated ? (d.retry?.attempts ?? 1) : 1,
    timeoutMs: actionTimeoutMs(simulated ? undefined : action, d.timeout),
    plannedStartMs: step.plannedStartMs,
    plannedDurationMs: step.plannedDurationMs,
  };
}

/**
 * A step pinned to a pool (`runs_on`) runs its action, checks and back-out on that pool's workers only; the
 * workers of the run's own queue take every other step (and every step of a run on one machine).
 */
export function stepQueue(input: RunInput, d: Step): { taskQueue?: string } {
  return d.runs_on && !input.oneMachine ? { taskQueue: poolTaskQueue(workflowInfo().taskQueue, d.runs_on) } : {};
}

/** The activities that check a step after a person or a timer is done with it (read-only, asked once). */
export function checkActivities(input: RunInput, d: Step): Activities {
  return proxyActivities<Activities>({
    ...stepQueue(input, d),
    startToCloseTimeout: checksBudgetMs(d.checks) + 60_000,
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: { maximumAttempts: 1 },
  });
}

/**
 * Runs an action as an activity (through `activity`, the run's non-cancellable counted wrapper); failures come back
 * as a message, lost workers as `unknown`.
 */
export async function runActivity(
  input: RunInput,
  d: Step,
  request: StepRequest,
  activity: <T>(call: () => Promise<T>) => Promise<T>,
): Promise<ActivityResult> {
  const checkBudget = checksBudgetMs(request.checks);
  const actionTimeout = request.action.kind === 'simulate' ? durationMs(request.action.duration) : request.timeoutMs;
  const retry = d.retry;
  const acts = proxyActivities<Activities>({
    // A simulated step touches no system, so any worker may pretend it.
    ...(request.treatment === 'run' ? stepQueue(input, d) : {}),
    startToCloseTimeout: actionTimeout + checkBudget + 60_000,
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: {
      maximumAttempts: request.maxAttempts,
      initialInterval: retry?.interval ?? '5s',
      backoffCoefficient: retry?.backoff ?? 2,
    },
  });
  try {
    // A worker stop cut the checks short after the action finished: ask them again (read-only).
    const outcome = await activity(() => acts.runStep(request)).catch(async (err: unknown) => {
      if (!(err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FAILURE_TYPE.checksInterrupted))
        throw err;
      const summary = err.cause.details![0] as ActionSummary;
      return (await activity(() => acts.checkStep(request, summary))).outcome!;
    });
    if (outcome.unrecorded) await activity(() => recording.recordStep(outcome.unrecorded!));
    if (outcome.unrecordedChecks)
      await activity(() => recording.recordChecks(request.runId, request.stepId, outcome.attempt, outcome.checks));
    if (outcome.status === 'succeeded') return { ok: true, outcome };
    return { ok: false, error: outcome.error ?? 'failed', kind: 'failed', outcome };
  } catch (err) {
    if (isCancellation(err)) throw err;
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FAILURE_TYPE.workerStopped) {
      return { ok: false, kind: 'unknown', error: err.cause.message };
    }
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FAILURE_TYPE.notStarted) {
      return { ok: false, kind: 'not_started', error: err.cause.message };
    }
    if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) {
      return {
        ok: false,
        kind: 'unknown',
        error: `the worker running it stopped answering (${err.cause.timeoutType === 'HEARTBEAT' ? 'no heartbeat' : 'timed out'}); it may or may not have applied`,
      };
    }
    return { ok: false, kind: 'failed', error: failureMessage(err) };
  }
}

/** The message of an activity's failure (its cause's), or of any error. */
export function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

/** Whether an activity failed because its worker stopped before it could answer. */
export function workerStopped(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FAILURE_TYPE.workerStopped;
}

/**
 * Runs `fn`; when an activity in it failed for a reason no retry can fix (the record store does
 * not know the run, the runbook in it is invalid), fails the run at once with that reason.
 */
export async function failLoudly<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && (cause.type === FAILURE_TYPE.runNotRecorded || cause.type === FAILURE_TYPE.invalidInput)) {
      throw ApplicationFailure.create({ type: cause.type, message: cause.message, nonRetryable: true });
    }
    throw err;
  }
}
