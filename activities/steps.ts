/**
 * The `runStep` activity: one attempt of a step's action (or its back-out), then its checks.
 * It records the attempt itself, before and after, so a step costs the workflow one activity
 * and the record never lags behind what ran.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FAILURE_TYPE } from '../runbook/failures.js';
import { performAction, UnsupportedActionError, type ActionContext, type ActionResult } from './actions.js';
import { runChecks } from './checks.js';
import type { RunRecorder } from './recording.js';
import type { CheckOutcome } from '../runbook/run-state.js';
import type { StepOutcome, StepRecord, StepRequest } from './types.js';

/** Dependencies of the step activity; tests pass fakes. */
export interface StepDeps {
  recorder: RunRecorder;
  fetch?: typeof fetch;
  /** True once the hosting worker is shutting down. */
  workerStopping?: () => boolean;
}

/** Builds the `runStep` activity. */
export function createStepActivities(deps: StepDeps) {
  return {
    async runStep(request: StepRequest): Promise<StepOutcome> {
      const context = activityContext();
      const attempt = request.attemptOffset + (context?.info.attempt ?? 1);
      const startedAt = new Date().toISOString();
      const row: StepRecord = {
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
      };
      // Written before the action runs: a store that does not answer means nothing ran yet.
      try {
        await withRetries(() => deps.recorder.recordStepAttempt(row), 'record the start of the step');
      } catch (err) {
        throw ApplicationFailure.create({ type: FAILURE_TYPE.notStarted, message: `${(err as Error).message}; nothing ran`, nonRetryable: true });
      }

      const ctx: ActionContext = {
        ...actionContext(request, attempt, deps, context),
        ...(deps.workerStopping ? { workerStopping: deps.workerStopping } : {}),
      };

      // Every kind of action (an HTTP call waiting on a slow server too) heartbeats, so only a
      // worker that is really gone is taken for one.
      const beat = context ? setInterval(() => context.heartbeat(), 5000) : undefined;
      try {
        let result: ActionResult;
        try {
          result = await performAction(request.action, ctx);
        } catch (err) {
          if (err instanceof UnsupportedActionError) {
            await finish(deps, row, { status: 'failed', error: err.message });
            throw ApplicationFailure.create({ type: FAILURE_TYPE.unsupportedAction, message: err.message, nonRetryable: true });
          }
          throw err;
        }

        if (result.interrupted) {
          // Not a failure of the step: nobody knows how it ends. The workflow asks the lead.
          await finish(deps, row, { status: 'failed', error: `outcome unknown: ${result.detail}`, outputTail: result.outputTail });
          throw ApplicationFailure.create({ type: FAILURE_TYPE.workerStopped, message: result.detail, nonRetryable: true });
        }

        if (!result.ok) {
          const lastAttempt = attempt - request.attemptOffset >= request.maxAttempts;
          const unrecorded = await finish(deps, row, { status: 'failed', error: result.detail, exitCode: result.exitCode, outputTail: result.outputTail });
          if (!lastAttempt) {
            // Retryable: Temporal schedules the next attempt with the step's backoff.
            throw ApplicationFailure.create({ type: FAILURE_TYPE.actionFailed, message: result.detail });
          }
          return { ...outcome(attempt, startedAt, 'failed', result, [], 'action'), ...(unrecorded ? { unrecorded } : {}) };
        }

        const checks = request.checks.length > 0 ? await runChecks(request.checks, ctx) : [];
        const failed = checks.filter((c) => !c.passed);
        const checksRecorded =
          checks.length === 0 ||
          (await withRetries(() => deps.recorder.recordCheckResults(request.runId, request.stepId, attempt, checks), 'record the checks').then(
            () => true,
            () => false,
          ));
        const error = failed.length > 0 ? `check ${failed.map((c) => `"${c.name}" failed: ${c.detail}`).join('; check ')}` : undefined;
        const status = error ? 'failed' : request.treatment === 'simulate' ? 'simulated' : 'succeeded';
        const unrecorded = await finish(deps, row, { status, error, exitCode: result.exitCode, outputTail: result.outputTail });
        return {
          ...outcome(attempt, startedAt, error ? 'failed' : 'succeeded', { ...result, detail: error ?? result.detail }, checks, error ? 'check' : undefined),
          ...(unrecorded ? { unrecorded } : {}),
          ...(checksRecorded ? {} : { unrecordedChecks: true }),
        };
      } finally {
        if (beat) clearInterval(beat);
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

/** Builds the `checkStep` activity: the checks alone, after a manual step or a wait. */
export function createCheckActivities(deps: StepDeps) {
  return {
    async checkStep(request: StepRequest): Promise<CheckOutcome[]> {
      const context = activityContext();
      const checks = await runChecks(request.checks, actionContext(request, request.attemptOffset, deps, context));
      await withRetries(() => deps.recorder.recordCheckResults(request.runId, request.stepId, request.attemptOffset, checks), 'record the checks');
      return checks;
    },
  };
}

/** Where and for whom a step's action or checks run: the directory, connections and run variables. */
function actionContext(request: StepRequest, attempt: number, deps: StepDeps, context: Context | undefined): ActionContext {
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
    ...(context ? { signal: context.cancellationSignal, heartbeat: () => context.heartbeat() } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
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
async function finish(deps: StepDeps, row: StepRecord, fields: Partial<StepRecord>): Promise<StepRecord | undefined> {
  const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  const full: StepRecord = { ...row, ...clean, endedAt: new Date().toISOString() };
  for (let i = 0; i < 3; i += 1) {
    try {
      await deps.recorder.recordStepAttempt(full);
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
  };
}
