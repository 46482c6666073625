/* eslint-disable @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unnecessary-type-assertion, @typescript-eslint/only-throw-error -- FROZEN (see below): only formatting, type-only import changes and the one line below it are allowed here */
/**
 * FROZEN: the first version of the run workflow (type `runRunbook`), kept unchanged so that runs
 * it started finish on today's workers and its recorded histories replay (test/histories/earlier).
 * New runs use `cutoverRun` (workflows/run-runbook.ts). Delete this file once no `runRunbook`
 * execution is open anywhere. Do not fix bugs here: a changed command order breaks those runs.
 * The one exception, `orderActivations('settled')` below, lets a run whose history could not replay (a worker
 * kill, test/faults-histories/) move again; no recorded history of this type changes (workflows/activation-order.ts
 * says what it costs).
 *
 * One run of a runbook: the forward steps in dependency order (independent ones in parallel),
 * gates and manual steps waiting for people, and the back-out in reverse order when a step
 * fails, a gate says no-go, or the lead asks for it.
 *
 * Deterministic: imports only the runbook model, `@temporalio/workflow` and activity types.
 * Time comes from the workflow clock (`new Date()` is replay-safe in the sandbox).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { StepAttempt } from '../../run/state.js';
import type { createActivities } from '../../activities/index.js';
import type { StepOutcome, StepRequest } from '../../activities/types.js';
import { durationMs, formatDuration } from '../../runbook/duration.js';
import { backoutDependents } from '../../runbook/graph.js';
import { actionTimeoutMs, checksBudgetMs } from '../../runbook/timeouts.js';
import {
  FAILED_OUTPUT_TAIL_CHARS,
  type BackoutState,
  type CheckOutcome,
  type LegacyRunInput as RunInput,
  type RunResult,
  type RunState,
  type StepState,
} from '../../run/state.js';
import type { Action, Step } from '../../runbook/schema.js';
import {
  applyVote,
  decisionRole,
  deriveRunStatus,
  initialRunState,
  isDone,
  logDecision,
  refuseBackout,
  refuseManualDone,
  refuseResolve,
  refuseVote,
  stepsInOrder,
  voteRole,
  type VoteRequest,
} from '../../run/transitions.js';
import { FAILURE_TYPE } from '../../run/failures.js';
import { orderActivations } from '../activation-order.js';
import {
  approveGateUpdate,
  completeManualStepUpdate,
  rejectGateUpdate,
  requestBackoutUpdate,
  resolveStepUpdate,
  runStateQuery,
} from '../messages.js';

type Activities = ReturnType<typeof createActivities>;

/**
 * A worker that dies mid-action stops heartbeating; after this long the attempt counts as
 * lost and the step waits for a person (its outcome is unknown), instead of hanging for the
 * whole step timeout.
 */
const HEARTBEAT_TIMEOUT = '30s';

/**
 * Recording never gives up: a record store that is down stalls the run (visible in the
 * console) rather than losing the record of what happened.
 */
const recorder = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2 },
});

/** Runs a runbook; one workflow execution per run. */
export async function runRunbook(input: RunInput): Promise<RunResult> {
  orderActivations('settled');
  const { runbook } = input;
  const now = (): string => new Date().toISOString();
  const state: RunState = initialRunState(input, now());
  const defs = new Map<string, Step>(stepsInOrder(runbook).map(({ step }) => [step.id, step]));
  const def = (id: string): Step => defs.get(id)!;
  const stepOf = (id: string): StepState => state.steps[id]!;

  if (input.mode === 'live') {
    const simulated = [...defs.values()].filter((s) => s.action?.kind === 'simulate' || s.backout?.kind === 'simulate');
    if (simulated.length > 0) {
      throw ApplicationFailure.create({
        type: FAILURE_TYPE.invalidInput,
        message: `a live run cannot contain simulate actions (steps ${simulated.map((s) => s.id).join(', ')})`,
        nonRetryable: true,
      });
    }
  }

  /** Steps whose waits (gates, manual steps, timers) are cancelled when the run backs out. */
  const waits = new Map<string, CancellationScope>();
  const touch = (): void => {
    state.status = deriveRunStatus(state);
  };

  const record = (step: StepState, purpose: 'forward' | 'backout', fields: Partial<StepAttempt>): Promise<void> =>
    recorder.recordStep({
      runId: input.runId,
      stepId: step.id,
      phaseId: step.phaseId,
      title: step.title,
      owner: step.owner,
      kind: step.kind,
      purpose,
      attempt: Math.max(1, purpose === 'forward' ? step.attempts : (step.backout?.attempts ?? 1)),
      treatment: step.treatment,
      status: purpose === 'forward' ? step.status : (step.backout?.status ?? 'pending'),
      plannedStartMs: step.plannedStartMs,
      plannedDurationMs: step.plannedDurationMs,
      idempotencyKey: purpose === 'forward' ? step.idempotencyKey : `${step.idempotencyKey}/backout`,
      ...(purpose === 'forward'
        ? { startedAt: step.startedAt, endedAt: step.endedAt, error: step.error }
        : { startedAt: step.backout?.startedAt, endedAt: step.backout?.endedAt, error: step.backout?.error }),
      ...fields,
    });

  // ---- people's requests -------------------------------------------------------------

  setHandler(runStateQuery, () => state);

  const vote = async (request: VoteRequest, decision: 'approve' | 'reject') => {
    const step = stepOf(request.gateId);
    const at = now();
    const role = voteRole(runbook, step.gate!, request);
    const reason = request.reason?.trim() || undefined;
    step.gate = applyVote(step.gate!, {
      by: request.by,
      role,
      decision,
      at,
      automatic: request.automatic === true,
      ...(reason ? { reason } : {}),
    });
    const seq = logDecision(state, {
      kind: decision,
      by: request.by,
      role,
      target: request.gateId,
      at,
      automatic: request.automatic === true,
      ...(reason ? { reason } : {}),
    });
    touch();
    // The caller's answer waits for the durable record: "approved" means written down.
    await recorder.recordDecision(input.runId, seq, state.decisions[seq]!);
    return step.gate;
  };
  setHandler(approveGateUpdate, (request) => vote(request, 'approve'), {
    validator: (request) => refuse(refuseVote(runbook, state, request, 'approve')),
  });
  setHandler(rejectGateUpdate, (request) => vote(request, 'reject'), {
    validator: (request) => refuse(refuseVote(runbook, state, request, 'reject')),
  });

  setHandler(
    completeManualStepUpdate,
    async (request) => {
      const step = stepOf(request.stepId);
      const at = now();
      const forward = step.status === 'waiting' && step.waitingFor === 'manual';
      if (forward) step.completedBy = request.by;
      else step.backout = { ...step.backout!, status: 'succeeded', endedAt: at };
      const reason = request.reason?.trim() || undefined;
      const seq = logDecision(state, {
        kind: 'complete_manual',
        by: request.by,
        role: decisionRole(runbook, request.by, [step.owner]),
        target: forward ? step.id : `${step.id} (back-out)`,
        at,
        automatic: request.automatic === true,
        ...(reason ? { reason } : {}),
      });
      touch();
      await recorder.recordDecision(input.runId, seq, state.decisions[seq]!);
      return step;
    },
    { validator: (request) => refuse(refuseManualDone(runbook, state, request)) },
  );

  setHandler(
    requestBackoutUpdate,
    async (request) => {
      const at = now();
      const seq = logDecision(state, {
        kind: 'request_backout',
        by: request.by,
        role: runbook.lead,
        reason: request.reason.trim(),
        at,
        automatic: false,
      });
      triggerBackout('requested', request.reason.trim(), request.by);
      await recorder.recordDecision(input.runId, seq, state.decisions[seq]!);
      return state.backout;
    },
    { validator: (request) => refuse(refuseBackout(runbook, state, request)) },
  );

  setHandler(
    resolveStepUpdate,
    async (request) => {
      const step = stepOf(request.stepId);
      const at = now();
      const seq = logDecision(state, {
        kind: 'resolve',
        by: request.by,
        role: runbook.lead,
        target: `${step.id}: ${request.action}${step.resolution?.scope === 'backout' ? ' (back-out)' : ''}`,
        reason: request.reason.trim(),
        at,
        automatic: false,
      });
      resolutions.set(step.id, request.action);
      if (request.action === 'done') step.completedBy = request.by;
      step.resolution = undefined;
      touch();
      await recorder.recordDecision(input.runId, seq, state.decisions[seq]!);
      return step;
    },
    { validator: (request) => refuse(refuseResolve(runbook, state, request)) },
  );

  /** What the lead decided for a failed step, consumed by the step's lifecycle. */
  const resolutions = new Map<string, 'retry' | 'done'>();

  function triggerBackout(trigger: NonNullable<BackoutState['trigger']>, reason: string, by?: string): void {
    if (state.backout.status !== 'not_requested') return;
    state.backout = {
      status: 'running',
      trigger,
      reason,
      requestedAt: now(),
      ...(by ? { requestedBy: by } : {}),
    };
    // Waiting for a person or a timer makes no sense once the run backs out; actions
    // already running are left to finish, because stopping a half-applied change is worse.
    for (const scope of waits.values()) scope.cancel();
    touch();
  }

  // ---- running one step ------------------------------------------------------------

  /** Waits inside a scope the back-out can cancel; returns false when cancelled. */
  async function cancellableWait(id: string, fn: () => Promise<unknown>): Promise<boolean> {
    const scope = new CancellationScope();
    waits.set(id, scope);
    try {
      await scope.run(fn);
      return true;
    } catch (err) {
      if (isCancellation(err)) return false;
      throw err;
    } finally {
      waits.delete(id);
    }
  }

  /** Waits for the lead to resolve a failure; returns their decision, or undefined on back-out. */
  async function waitForResolution(
    step: StepState,
    scope: 'forward' | 'backout',
    error: string,
    kind: 'failed' | 'unknown' | 'not_started',
  ) {
    // Once the run backs out, a failed forward step is simply one more step to undo.
    if (scope === 'forward' && state.backout.status !== 'not_requested') return undefined;
    step.resolution = { scope, error, kind, since: now() };
    if (scope === 'forward') {
      step.status = 'waiting';
      step.waitingFor = 'resolution';
    } else {
      step.backout = { ...step.backout!, status: 'waiting', error };
    }
    touch();
    // Only a forward failure gives way to a back-out; a failed back-out must be resolved.
    const resolved = () => resolutions.has(step.id);
    if (scope === 'forward') {
      const ok = await cancellableWait(step.id, () => condition(resolved));
      if (!ok) {
        // The run backs out instead; nothing is waiting for the lead on this step any more.
        step.resolution = undefined;
        resolutions.delete(step.id);
        return undefined;
      }
    } else {
      await condition(resolved);
    }
    const action = resolutions.get(step.id)!;
    resolutions.delete(step.id);
    return action;
  }

  function requestFor(step: StepState, purpose: 'forward' | 'backout', action: Action, attemptOffset: number): StepRequest {
    const d = def(step.id);
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

  /** Runs an action as an activity; failures come back as a message, lost workers as `unknown`. */
  async function runActivity(
    request: StepRequest,
  ): Promise<
    { ok: true; outcome: StepOutcome } | { ok: false; error: string; kind: 'failed' | 'unknown' | 'not_started'; outcome?: StepOutcome }
  > {
    const d = def(request.stepId);
    const checkBudget = checksBudgetMs(request.checks);
    const actionTimeout = request.action.kind === 'simulate' ? durationMs(request.action.duration) : request.timeoutMs;
    const retry = d.retry;
    const acts = proxyActivities<Activities>({
      startToCloseTimeout: actionTimeout + checkBudget + 60_000,
      heartbeatTimeout: HEARTBEAT_TIMEOUT,
      retry: {
        maximumAttempts: request.maxAttempts,
        initialInterval: retry?.interval ?? '5s',
        backoffCoefficient: retry?.backoff ?? 2,
      },
    });
    try {
      const outcome = await acts.runStep(request);
      if (outcome.unrecorded) await recorder.recordStep(outcome.unrecorded);
      if (outcome.unrecordedChecks) await recorder.recordChecks(request.runId, request.stepId, outcome.attempt, outcome.checks);
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
      const cause = err instanceof ActivityFailure ? err.cause : err;
      return { ok: false, kind: 'failed', error: cause instanceof Error ? cause.message : String(cause) };
    }
  }

  /**
   * Runs a manual step's or a wait's checks once the person or the timer is done. Returns true
   * when the step may count as done; on a failure it applies the back-out policy like any step.
   */
  async function verifyAfterWait(step: StepState): Promise<boolean> {
    const d = def(step.id);
    if (d.checks.length === 0 || step.treatment !== 'run') return true;
    for (;;) {
      const request = {
        ...requestFor(step, 'forward', { kind: 'simulate', duration: '0s', outcome: 'success' }, step.attempts),
        checks: d.checks,
      };
      const checkBudget = checksBudgetMs(d.checks);
      const acts = proxyActivities<Activities>({
        startToCloseTimeout: checkBudget + 60_000,
        heartbeatTimeout: HEARTBEAT_TIMEOUT,
        retry: { maximumAttempts: 1 },
      });
      let error: string;
      try {
        // checkStep now answers { checks }; old recorded answers are bare arrays. (Data only: the
        // commands this version sends are unchanged.)
        const checked = (await acts.checkStep(request)) as CheckOutcome[] | { checks: CheckOutcome[] };
        step.checks = Array.isArray(checked) ? checked : checked.checks;
        const failed = step.checks.filter((c) => !c.passed);
        if (failed.length === 0) return true;
        error = `check ${failed.map((c) => `"${c.name}" failed: ${c.detail}`).join('; check ')}`;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const cause = err instanceof ActivityFailure ? err.cause : err;
        error = `checks could not run: ${cause instanceof Error ? cause.message : String(cause)}`;
      }
      step.error = error;
      if (runbook.backout.policy === 'automatic') {
        step.status = 'failed';
        step.endedAt = now();
        triggerBackout('step_failed', `step ${step.id} failed: ${error}`);
        touch();
        return false;
      }
      const decision = await waitForResolution(step, 'forward', error, 'failed');
      step.waitingFor = undefined;
      if (decision === undefined) {
        step.status = 'failed';
        step.endedAt = now();
        touch();
        return false;
      }
      if (decision === 'done') return true;
      step.status = 'running';
      touch();
    }
  }

  async function runForwardStep(step: StepState): Promise<void> {
    const d = def(step.id);
    step.startedAt = now();
    if (step.treatment === 'skip') {
      step.status = 'skipped';
      step.endedAt = step.startedAt;
      touch();
      await record(step, 'forward', { attempt: 1 });
      return;
    }

    if (d.gate && step.treatment === 'run') {
      step.gate = { ...step.gate!, status: 'open', openedAt: step.startedAt };
      step.status = 'waiting';
      step.waitingFor = 'approval';
      touch();
      const decided = await cancellableWait(step.id, () =>
        condition(() => step.gate!.status === 'approved' || step.gate!.status === 'rejected'),
      );
      step.waitingFor = undefined;
      step.endedAt = now();
      step.attempts = 1;
      if (!decided) {
        step.status = 'cancelled';
        step.gate = { ...step.gate!, status: 'cancelled' };
      } else if (step.gate!.status === 'approved') {
        step.status = 'succeeded';
      } else {
        const no = step.gate!.votes.find((v) => v.decision === 'reject')!;
        step.status = 'failed';
        step.error = `no-go: rejected by ${no.by} (${no.role}): ${no.reason ?? ''}`.trim();
        triggerBackout('gate_rejected', step.error, no.by);
      }
      touch();
      await record(step, 'forward', {});
      return;
    }

    const action = d.action;
    if ((action?.kind === 'manual' || action?.kind === 'wait') && step.treatment === 'run') {
      // A person marks it done, or a durable timer runs out; then its checks, if any.
      step.status = action.kind === 'manual' ? 'waiting' : 'running';
      if (action.kind === 'manual') step.waitingFor = 'manual';
      touch();
      const finished = await cancellableWait(step.id, () =>
        action.kind === 'manual' ? condition(() => step.completedBy !== undefined) : sleep(durationMs(action.duration)),
      );
      step.waitingFor = undefined;
      step.attempts = 1;
      if (!finished || (await verifyAfterWait(step))) {
        step.endedAt = now();
        step.status = finished ? 'succeeded' : 'cancelled';
        touch();
      }
      await record(step, 'forward', {});
      return;
    }

    // Everything else is an activity: shell, http, sql, simulate, and simulated treatment.
    step.status = 'running';
    touch();
    for (;;) {
      const result = await runActivity(requestFor(step, 'forward', d.action!, step.attempts));
      if (result.outcome) {
        step.attempts = result.outcome.attempt;
        step.checks = result.outcome.checks;
      } else {
        step.attempts += 1;
      }
      if (result.ok) {
        step.status = step.treatment === 'simulate' ? 'simulated' : 'succeeded';
        step.endedAt = result.outcome.endedAt;
        step.error = undefined;
        step.outputTail = undefined;
        touch();
        return;
      }
      step.error = result.error;
      step.outputTail = result.outcome?.outputTail?.slice(-FAILED_OUTPUT_TAIL_CHARS);
      if (result.kind === 'unknown') {
        // The activity never reported back, so the attempt was not recorded: record it here.
        await record(step, 'forward', { status: 'failed', endedAt: now(), error: `outcome unknown: ${result.error}` });
      }
      if (result.kind === 'failed' && runbook.backout.policy === 'automatic') {
        step.status = 'failed';
        step.endedAt = now();
        triggerBackout('step_failed', `step ${step.id} failed: ${result.error}`);
        return;
      }
      const decision = await waitForResolution(step, 'forward', result.error, result.kind);
      if (decision === undefined) {
        step.status = 'failed';
        step.waitingFor = undefined;
        step.endedAt = now();
        touch();
        return;
      }
      step.waitingFor = undefined;
      if (decision === 'done') {
        step.status = 'succeeded';
        step.endedAt = now();
        touch();
        // Its own row: the failed attempt keeps its times, the hand-made one is marked as such.
        step.attempts += 1;
        await record(step, 'forward', {
          status: 'resolved',
          startedAt: step.endedAt,
          error: `done by hand (${step.completedBy}) after: ${step.error}`,
        });
        return;
      }
      if (state.backout.status !== 'not_requested') {
        // The lead said retry, but the run is backing out now: do not run it again.
        step.status = 'failed';
        step.endedAt = now();
        touch();
        return;
      }
      step.status = 'running';
      touch();
    }
  }

  async function runBackoutStep(step: StepState): Promise<void> {
    const undo = def(step.id).backout!;
    const startedAt = now();
    step.backout = { status: 'running', attempts: 0, startedAt };
    touch();
    if (undo.kind === 'manual' && step.treatment !== 'simulate') {
      step.backout = { ...step.backout, status: 'waiting', attempts: 1 };
      touch();
      await condition(() => step.backout!.status === 'succeeded');
      await record(step, 'backout', {});
      return;
    }
    if (undo.kind === 'wait' && step.treatment !== 'simulate') {
      await sleep(durationMs(undo.duration));
      step.backout = { ...step.backout, status: 'succeeded', attempts: 1, endedAt: now() };
      touch();
      await record(step, 'backout', {});
      return;
    }
    let attempts = 0;
    for (;;) {
      const result = await runActivity(requestFor(step, 'backout', undo, attempts));
      attempts = result.outcome?.attempt ?? attempts + 1;
      if (result.ok) {
        step.backout = {
          ...step.backout!,
          status: 'succeeded',
          attempts,
          endedAt: result.outcome.endedAt,
          error: undefined,
          outputTail: undefined,
        };
        touch();
        return;
      }
      step.backout = { ...step.backout!, attempts, outputTail: result.outcome?.outputTail?.slice(-FAILED_OUTPUT_TAIL_CHARS) };
      if (result.kind === 'unknown')
        await record(step, 'backout', { status: 'failed', endedAt: now(), error: `outcome unknown: ${result.error}` });
      // A failing back-out never skips silently: it waits until the lead retries it or
      // records that it was done by hand.
      const decision = await waitForResolution(step, 'backout', result.error, result.kind);
      if (decision === 'done') {
        step.backout = { ...step.backout!, status: 'resolved', endedAt: now() };
        touch();
        await record(step, 'backout', { status: 'resolved' });
        return;
      }
      step.backout = { ...step.backout!, status: 'running', error: undefined };
      touch();
    }
  }

  // ---- the run ---------------------------------------------------------------------

  async function runForward(): Promise<void> {
    const remaining = new Map<string, number>();
    const dependents = new Map<string, string[]>();
    for (const id of state.order) {
      const deps = stepOf(id).dependsOn;
      remaining.set(id, deps.length);
      for (const dep of deps) dependents.set(dep, [...(dependents.get(dep) ?? []), id]);
    }
    const ready: string[] = state.order.filter((id) => remaining.get(id) === 0);
    let inFlight = 0;
    let settled = 0;
    let stepError: unknown;
    const total = state.order.length;

    const launch = (id: string): void => {
      inFlight += 1;
      runForwardStep(stepOf(id)).then(
        () => {
          inFlight -= 1;
          settled += 1;
          const step = stepOf(id);
          if (!isDone(step)) return;
          for (const next of dependents.get(id) ?? []) {
            const left = remaining.get(next)! - 1;
            remaining.set(next, left);
            if (left === 0) ready.push(next);
          }
        },
        (err: unknown) => {
          // Cancelled with the whole run (Temporal cancel): the main flow reports that. Any
          // other error is a bug; keep it to fail the workflow task visibly.
          inFlight -= 1;
          settled += 1;
          if (!isCancellation(err)) stepError ??= err;
        },
      );
    };

    while (settled < total) {
      if (state.backout.status !== 'not_requested') break;
      while (ready.length > 0) launch(ready.shift()!);
      await condition(() => ready.length > 0 || inFlight === 0 || state.backout.status !== 'not_requested');
      if (inFlight === 0 && ready.length === 0 && settled < total) {
        // Nothing can start: every remaining step hangs off one that did not finish.
        break;
      }
    }
    // Let actions already running finish before anything is undone.
    await condition(() => inFlight === 0);
    if (stepError !== undefined) throw stepError;
    const stoppedAt = now();
    for (const id of state.order) {
      const step = stepOf(id);
      if (step.status === 'pending') {
        step.status = 'cancelled';
        step.endedAt = stoppedAt;
      }
    }
    touch();
  }

  async function runBackout(): Promise<void> {
    state.backout = { ...state.backout, status: 'running', startedAt: now() };
    const ran = state.order.filter((id) => {
      const step = stepOf(id);
      return step.kind !== 'gate' && (step.status === 'succeeded' || step.status === 'simulated' || step.status === 'failed');
    });
    const toUndo = ran.filter((id) => def(id).backout !== undefined);
    for (const id of ran) {
      if (!def(id).backout) stepOf(id).backout = { status: 'not_needed', attempts: 0 };
    }
    touch();
    await recorder.recordRunState(state);

    const waitFor = backoutDependents(runbook, toUndo);
    const finished = (id: string) => {
      const status = stepOf(id).backout?.status;
      return status === 'succeeded' || status === 'resolved';
    };
    const started = new Set<string>();
    const running: Promise<void>[] = [];
    while (started.size < toUndo.length) {
      const ready = toUndo.filter((id) => !started.has(id) && (waitFor[id] ?? []).every(finished));
      for (const id of ready) {
        started.add(id);
        running.push(runBackoutStep(stepOf(id)));
      }
      if (started.size < toUndo.length) {
        await condition(() => toUndo.some((id) => !started.has(id) && (waitFor[id] ?? []).every(finished)));
      }
    }
    await Promise.all(running);
    state.backout = { ...state.backout, status: 'completed', endedAt: now() };
    touch();
  }

  try {
    try {
      await recorder.recordRunStarted(state);
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === FAILURE_TYPE.runNotRecorded) {
        // Nothing can be recorded for this run, so nothing may run: fail loudly, at once.
        throw ApplicationFailure.create({ type: FAILURE_TYPE.runNotRecorded, message: cause.message, nonRetryable: true });
      }
      throw err;
    }
    await runForward();
    if (state.backout.status !== 'not_requested') {
      await runBackout();
      const undone = Object.values(state.steps).filter((s) => s.backout?.status === 'succeeded' || s.backout?.status === 'resolved').length;
      state.status = 'backed_out';
      state.outcome = `backed out (${state.backout.reason ?? 'no reason given'}); ${undone} step(s) undone`;
    } else if (Object.values(state.steps).every(isDone)) {
      state.status = 'completed';
      const took = Date.parse(now()) - Date.parse(state.startedAt);
      state.outcome = `completed in ${formatDuration(took)}`;
    } else {
      const stuck = Object.values(state.steps)
        .filter((s) => !isDone(s))
        .map((s) => s.id);
      state.status = 'failed';
      state.outcome = `stopped with steps not done: ${stuck.join(', ')}`;
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    state.status = 'failed';
    state.outcome = 'the run was cancelled through Temporal';
  }
  state.endedAt = now();
  // Even a cancelled run writes its end, and answers the Updates it already accepted.
  await CancellationScope.nonCancellable(async () => {
    await recorder.recordRunFinished(state);
    await condition(allHandlersFinished);
  });
  return { status: state.status as RunResult['status'], outcome: state.outcome ?? '', state };
}

/** Turns a validator's refusal into the Update's rejection (it never enters history). */
function refuse(reason: string | undefined): void {
  if (reason !== undefined) throw new Error(reason);
}
