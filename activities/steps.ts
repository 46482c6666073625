/**
 * The `runStep` activity: one attempt of a step's action (or its back-out), then its checks.
 * It records the attempt itself, before and after, so a step costs the workflow one activity
 * and the record never lags behind what ran.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FAILURE_TYPE } from '../run/failures.js';
import type { ActionContext, ActionResult } from './action-context.js';
import { performAction, UnsupportedActionError } from './actions.js';
import { ChecksInterruptedError, runChecks } from './checks.js';
import type { ActivityStore } from '../prisma/records.js';
import { resolveSecrets, SecretReferenceError } from './secrets.js';
import type { CheckOutcome, StepAttempt } from '../run/state.js';
import type { ActionSummary, CheckStepResult, StepOutcome, StepRequest } from './types.js';

/** Dependencies of the step activity; tests pass fakes. */
export interface StepDeps {
  store: ActivityStore;
  fetch?: typeof fetch;
  /** True once the hosting worker is shutting down. */
  workerStopping?: () => boolean;
  /** Recorded with each attempt this worker runs, so the lead sees which machine ran a step. */
  workerName?: string;
}

/** Builds the `runStep` activity. */
export function createStepActivities(deps: StepDeps) {
  return {
    async runStep(request: StepRequest): Promise<StepOutcome> {
      const context = activityContext();
      const attempt = request.attemptOffset + (context?.info.attempt ?? 1);
      const startedAt = new Date().toISOString();
      const row = attemptRow(request, attempt, startedAt, deps.workerName);
      // Written before the action runs: a store that does not answer means nothing ran yet.
      try {
        await withRetries(() => deps.store.recordStepAttempt(row), 'record the start of the step');
      } catch (err) {
        throw ApplicationFailure.create({
          type: FAILURE_TYPE.notStarted,
          message: `${(err as Error).message}; nothing ran`,
          nonRetryable: true,
        });
      }

      // References are resolved here, on the worker, never earlier: history holds only them.
      const secrets = resolveStep(request);
      // Every kind of action (an HTTP call waiting on a slow server too) heartbeats, so only a
      // worker that is really gone is taken for one.
      const beat = heartbeats(context);
      const ctx = { ...actionContext(request, attempt, deps, beat), connections: secrets.connections, redact: secrets.redact };
      const redact = secrets.redact;
      try {
        let result: ActionResult;
        try {
          // A reference this worker cannot resolve fails the attempt like a failed action (another
          // attempt, perhaps on another worker, may have it), before anything ran.
          result = secrets.failure ?? redactResult(await performAction(secrets.action, ctx), redact);
        } catch (err) {
          if (err instanceof UnsupportedActionError) {
            await finish(deps, row, { status: 'failed', error: err.message });
            throw ApplicationFailure.create({ type: FAILURE_TYPE.unsupportedAction, message: err.message, nonRetryable: true });
          }
          throw redactError(err, redact);
        }

        if (result.interrupted) {
          // Not a failure of the step: nobody knows how it ends. The workflow asks the lead.
          await finish(deps, row, { status: 'failed', error: `outcome unknown: ${result.detail}`, outputTail: result.outputTail });
          throw ApplicationFailure.create({ type: FAILURE_TYPE.workerStopped, message: result.detail, nonRetryable: true });
        }

        if (!result.ok) {
          const lastAttempt = attempt - request.attemptOffset >= request.maxAttempts;
          const unrecorded = await finish(deps, row, {
            status: 'failed',
            error: result.detail,
            exitCode: result.exitCode,
            outputTail: result.outputTail,
          });
          if (!lastAttempt) {
            // Retryable: Temporal schedules the next attempt with the step's backoff.
            throw ApplicationFailure.create({ type: FAILURE_TYPE.actionFailed, message: result.detail });
          }
          return {
            ...outcome(attempt, startedAt, 'failed', result, [], 'action'),
            ...(row.worker ? { worker: row.worker } : {}),
            ...(unrecorded ? { unrecorded } : {}),
          };
        }

        const actionEndedAt = new Date().toISOString();
        let checks: CheckOutcome[] = [];
        try {
          if (request.checks.length > 0) checks = redactChecks(await runChecks(secrets.checks, ctx), redact);
        } catch (err) {
          if (!(err instanceof ChecksInterruptedError)) throw redactError(err, redact);
          // The action is done; only its checks (read-only questions) were cut short. Asking
          // them again is safe, so the workflow does that instead of backing anything out.
          const done: ActionSummary = {
            attempt,
            startedAt,
            endedAt: actionEndedAt,
            ...(row.worker ? { worker: row.worker } : {}),
            ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
            ...(result.outputTail ? { outputTail: result.outputTail } : {}),
            ...(result.reconcile ? { reconcile: result.reconcile } : {}),
          };
          throw ApplicationFailure.create({
            type: FAILURE_TYPE.checksInterrupted,
            message: err.message,
            nonRetryable: true,
            details: [done],
          });
        }
        const checksRecorded = await recordChecks(deps, request, attempt, checks);
        return concludeAttempt(deps, request, row, result, checks, checksRecorded);
      } finally {
        beat.stop();
      }
    },
  };
}

/**
 * Runs a store write a few times before giving up: a busy SQLite file or a blip in the
 * database should not decide the fate of a step on the night.
 */
async function withRetries(write: () => Promise<void>, what: string): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 4; i += 1) {
    try {
      await write();
      return;
    } catch (err) {
      last = err;
      // A run the store does not know will not appear by waiting.
      if ((err as Error).name === 'RunNotFoundError') break;
      await sleep(250 * 2 ** i);
    }
  }
  throw new Error(`could not ${what} in the record store: ${(last as Error).message}`);
}

/** Writes a step attempt's check results; false when the store would not take them. */
async function recordChecks(deps: StepDeps, request: StepRequest, attempt: number, checks: CheckOutcome[]): Promise<boolean> {
  if (checks.length === 0) return true;
  return withRetries(() => deps.store.recordCheckResults(request.runId, request.stepId, attempt, checks), 'record the checks').then(
    () => true,
    () => false,
  );
}

/** Ends an attempt whose action succeeded: its checks decide, and the attempt's row says so. */
async function concludeAttempt(
  deps: StepDeps,
  request: StepRequest,
  row: StepAttempt,
  result: ActionResult,
  checks: CheckOutcome[],
  checksRecorded: boolean,
): Promise<StepOutcome> {
  const failed = checks.filter((c) => !c.passed);
  const error = failed.length > 0 ? `check ${failed.map((c) => `"${c.name}" failed: ${c.detail}`).join('; check ')}` : undefined;
  const status = error ? 'failed' : request.treatment === 'simulate' ? 'simulated' : 'succeeded';
  const unrecorded = await finish(deps, row, { status, error, exitCode: result.exitCode, outputTail: result.outputTail });
  return {
    ...outcome(
      row.attempt,
      row.startedAt!,
      error ? 'failed' : 'succeeded',
      { ...result, detail: error ?? result.detail },
      checks,
      error ? 'check' : undefined,
    ),
    ...(row.worker ? { worker: row.worker } : {}),
    ...(unrecorded ? { unrecorded } : {}),
    ...(checksRecorded ? {} : { unrecordedChecks: true }),
  };
}

/** Builds the `checkStep` activity: the checks alone, after a manual step or a wait. */
export function createCheckActivities(deps: StepDeps) {
  return {
    /**
     * Asks a step's checks and records them. With `after` (the action finished, but a worker
     * stop cut its checks short), they finish that attempt: its row is written as `runStep`
     * would have, and `outcome` is what `runStep` would have answered.
     *
     * A store that will not take the results is no reason to fail the step (the checks were
     * asked): they come back with `unrecordedChecks` and the workflow records them.
     */
    async checkStep(request: StepRequest, after?: ActionSummary): Promise<CheckStepResult> {
      const context = activityContext();
      const attempt = after?.attempt ?? request.attemptOffset;
      const beat = heartbeats(context);
      let checks: CheckOutcome[];
      const secrets = resolveStep(request);
      try {
        checks = secrets.failure
          ? request.checks.map((check) => ({
              name: check.name,
              kind: check.kind,
              passed: false,
              detail: secrets.failure.detail,
              at: new Date().toISOString(),
            }))
          : redactChecks(
              await runChecks(secrets.checks, {
                ...actionContext(request, attempt, deps, beat),
                connections: secrets.connections,
                redact: secrets.redact,
              }),
              secrets.redact,
            );
      } catch (err) {
        if (err instanceof ChecksInterruptedError) {
          throw ApplicationFailure.create({ type: FAILURE_TYPE.workerStopped, message: err.message, nonRetryable: true });
        }
        throw redactError(err, secrets.redact);
      } finally {
        beat.stop();
      }
      const recorded = await recordChecks(deps, request, attempt, checks);
      const answer: CheckStepResult = { checks, ...(recorded ? {} : { unrecordedChecks: true as const }) };
      if (!after) return answer;
      const result: ActionResult = {
        ok: true,
        detail: 'the action finished',
        ...(after.exitCode !== undefined ? { exitCode: after.exitCode } : {}),
        ...(after.outputTail ? { outputTail: after.outputTail } : {}),
        ...(after.reconcile ? { reconcile: after.reconcile } : {}),
      };
      return {
        ...answer,
        outcome: await concludeAttempt(
          deps,
          request,
          attemptRow(request, attempt, after.startedAt, after.worker ?? deps.workerName),
          result,
          checks,
          recorded,
        ),
      };
    },
  };
}

/** A step's references resolved, or why they could not be (as the failure of an action that never ran). */
function resolveStep(request: StepRequest) {
  try {
    return {
      ...resolveSecrets({ action: request.action, checks: request.checks, connections: request.connections, baseDir: request.baseDir }),
      failure: undefined,
    };
  } catch (err) {
    if (!(err instanceof SecretReferenceError)) throw err;
    const failure: ActionResult = { ok: false, detail: err.message };
    return {
      action: request.action,
      checks: request.checks,
      connections: request.connections,
      redact: (text: string) => text,
      any: false,
      failure,
    };
  }
}

/** What an action reports, with resolved secrets masked: this is what is recorded and returned. */
function redactResult(result: ActionResult, redact: (text: string) => string): ActionResult {
  return {
    ...result,
    detail: redact(result.detail),
    ...(result.outputTail !== undefined ? { outputTail: redact(result.outputTail) } : {}),
  };
}

function redactChecks(checks: CheckOutcome[], redact: (text: string) => string): CheckOutcome[] {
  return checks.map((check) => ({ ...check, detail: redact(check.detail) }));
}

/** An unexpected error, masked before Temporal records its message and stack in history. */
function redactError(err: unknown, redact: (text: string) => string): unknown {
  if (err instanceof Error) {
    err.message = redact(err.message);
    if (err.stack) err.stack = redact(err.stack);
  }
  return err;
}

/** The record of one attempt of a step, as it starts. */
function attemptRow(request: StepRequest, attempt: number, startedAt: string, worker: string | undefined): StepAttempt {
  return {
    runId: request.runId,
    stepId: request.stepId,
    phaseId: request.phaseId,
    title: request.title,
    owner: request.owner,
    kind: request.kind,
    purpose: request.purpose,
    attempt,
    treatment: request.treatment,
    status: 'running',
    plannedStartMs: request.plannedStartMs,
    plannedDurationMs: request.plannedDurationMs,
    startedAt,
    idempotencyKey: request.idempotencyKey,
    ...(worker ? { worker } : {}),
  };
}

/**
 * An activity's heartbeat every 5 s, carrying the latest progress a long action reported (a
 * comparison's rows read), which `cutover status` reads from the pending activity.
 */
interface Heartbeats {
  context: Context | undefined;
  progress(details: unknown): void;
  progressDetails(): unknown;
  stop(): void;
}

function heartbeats(context: Context | undefined): Heartbeats {
  let details: unknown;
  const timer = context ? setInterval(() => context.heartbeat(details), 5000) : undefined;
  return {
    context,
    progress: (next) => {
      details = next;
    },
    progressDetails: () => details,
    stop: () => {
      if (timer) clearInterval(timer);
    },
  };
}

/** Where and for whom a step's action or checks run: the directory, connections, run variables and record store. */
function actionContext(request: StepRequest, attempt: number, deps: StepDeps, beat: Heartbeats): ActionContext {
  const context = beat.context;
  const { runId, stepId } = request;
  return {
    baseDir: request.baseDir,
    connections: request.connections,
    timeoutMs: request.timeoutMs,
    env: {
      CUTOVER_RUN_ID: request.runId,
      CUTOVER_STEP_ID: request.stepId,
      CUTOVER_MODE: request.mode,
      CUTOVER_PURPOSE: request.purpose,
      CUTOVER_ATTEMPT: String(attempt),
      CUTOVER_IDEMPOTENCY_KEY: request.idempotencyKey,
    },
    ...(context
      ? {
          signal: context.cancellationSignal,
          heartbeat: () => context.heartbeat(beat.progressDetails()),
          progress: (details: unknown) => beat.progress(details),
        }
      : {}),
    reconciliations: {
      record: (check, round, startedAt, result) =>
        deps.store.recordReconcileResult({ runId, stepId, attempt, check, round, startedAt, endedAt: new Date().toISOString(), result }),
      rounds: (check) => deps.store.reconcileResults(runId, { stepId, attempt, check }),
    },
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    // Checks need it too: a worker stop during a check is an interruption, not a failed check.
    ...(deps.workerStopping ? { workerStopping: deps.workerStopping } : {}),
  };
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // Called outside an activity (pure tests).
  }
}

/**
 * Records how the attempt ended. The action has already run, so a failing store must not make
 * Temporal retry the activity (that would run the action twice): after a few tries the row is
 * handed back to the workflow, whose recording activity retries until the store answers.
 */
async function finish(deps: StepDeps, row: StepAttempt, fields: Partial<StepAttempt>): Promise<StepAttempt | undefined> {
  const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  const full: StepAttempt = { ...row, ...clean, endedAt: new Date().toISOString() };
  for (let i = 0; i < 3; i += 1) {
    try {
      await deps.store.recordStepAttempt(full);
      return undefined;
    } catch {
      await sleep(250 * (i + 1));
    }
  }
  return full;
}

function outcome(
  attempt: number,
  startedAt: string,
  status: StepOutcome['status'],
  result: ActionResult,
  checks: StepOutcome['checks'],
  failedAt?: StepOutcome['failedAt'],
): StepOutcome {
  return {
    status,
    attempt,
    startedAt,
    endedAt: new Date().toISOString(),
    checks,
    ...(status === 'failed' ? { error: result.detail } : {}),
    ...(failedAt ? { failedAt } : {}),
    ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
    ...(result.outputTail ? { outputTail: result.outputTail } : {}),
    ...(result.reconcile ? { reconcile: result.reconcile } : {}),
  };
}
