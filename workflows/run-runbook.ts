/**
 * One run of a runbook (workflow type `cutoverRun`): the forward steps in dependency order
 * (independent ones in parallel), gates and manual steps waiting for people, and the back-out in
 * reverse order when a step fails, a gate says no-go, or the lead asks for it.
 *
 * Any size: the runbook is read from the record store in pages (no payload carries it whole),
 * and when this execution's history has used its budget the run continues as new, handing over
 * a compact checkpoint (run/checkpoint.ts). People's waits survive the hand-over; actions
 * that are running finish first (they are never cut off).
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
  currentUpdateInfo,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  patched,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { ActionSummary, CheckStepResult, StepOutcome, StepRecord, StepRequest } from '../activities/types.js';
import { applyCheckpoint, applyStepTimes, toCheckpoint } from '../run/checkpoint.js';
import { durationMs, formatDuration } from '../runbook/duration.js';
import { FAILURE_TYPE } from '../run/failures.js';
import { poolTaskQueue } from '../runbook/pools.js';
import { assembleRunbook, pageOfSteps, summarizeRun } from '../run/pages.js';
import {
  DEFAULT_HISTORY_BUDGET,
  FAILED_OUTPUT_TAIL_CHARS,
  type BackoutState,
  type EvidenceOverride,
  type RunCheckpoint,
  type RunInput,
  type RunResult,
  type RunState,
  type RunSummary,
  type StepState,
} from '../run/state.js';
import { BackoutPlan, ForwardPlan, type PlanGraph } from '../run/schedule.js';
import type { Action, Runbook, Step } from '../runbook/schema.js';
import { chainedText } from '../run/decision-log.js';
import { sha256Hex } from '../run/digest.js';
import { assembleEvidence, unmetCriteria, type GateEvidence } from '../run/evidence.js';
import {
  canonicalJson,
  checksSignature,
  OVERRIDE_TARGET,
  overrideRequest,
  refuseSignature,
  signedText,
  type RequestSignature,
  type SignedKind,
} from '../run/signed-request.js';
import { actionTimeoutMs, checksBudgetMs } from '../runbook/timeouts.js';
import {
  applyVote,
  decisionRole,
  deriveRunStatus,
  gateClosesAt,
  pointOfNoReturn,
  initialRunState,
  isDone,
  logDecision,
  refuseBackout,
  refuseManualDone,
  refuseOverride,
  refuseResolve,
  refuseVote,
  stepsInOrder,
  voteRole,
  type BackoutRequest,
  type ManualDoneRequest,
  type ResolveRequest,
  type VoteRequest,
} from '../run/transitions.js';
import {
  approveGateUpdate,
  completeManualStepUpdate,
  rejectGateUpdate,
  requestBackoutUpdate,
  resolveStepUpdate,
  runStepsQuery,
  runSummaryQuery,
} from './messages.js';

type Activities = ReturnType<typeof createActivities>;

/**
 * A worker that dies mid-action stops heartbeating; after this long the attempt counts as
 * lost and the step waits for a person (its outcome is unknown), instead of hanging for the
 * whole step timeout.
 */
const HEARTBEAT_TIMEOUT = '30s';

/**
 * A `reconcile` action whose worker was lost is run again by itself this many times (it only
 * reads); after that, a comparison that keeps killing its worker waits for the lead like any step.
 */
const MAX_LOST_COMPARISONS = 3;

/**
 * Recording never gives up: a record store that is down stalls the run (`cutover status` says
 * so) rather than losing the record of what happened.
 */
const recorder = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: {
    initialInterval: '1s',
    maximumInterval: '30s',
    backoffCoefficient: 2,
    nonRetryableErrorTypes: [FAILURE_TYPE.runNotRecorded, FAILURE_TYPE.invalidInput],
  },
});

/** Marks the executions whose gates assemble evidence (earlier ones replay without). */
const GATE_EVIDENCE_PATCH = 'gate-evidence';

/** Marks the executions whose open gates' evidence one watcher keeps current (earlier ones: a wait per gate). */
const EVIDENCE_WATCHER_PATCH = 'evidence-watcher';

/**
 * Marks the executions that log the refusal of a signed request (a person the runbook lists a key for) with its
 * reason: its validator checks only the signature's envelope and the handler the rest. Earlier executions refused it
 * in the validator, where nothing is recorded.
 */
const LOG_REFUSALS_PATCH = 'log-signed-refusals';

/**
 * Marks the executions that hash their decision log and gate evidence in the workflow (run/digest.ts); earlier
 * ones asked a local activity for each hash, and replay that way.
 */
const HASH_IN_WORKFLOW_PATCH = 'hash-in-workflow';

/** Marks the executions that hash their decision log into a chain (earlier ones replay without). */
const DECISION_CHAIN_PATCH = 'decision-hash-chain';

/**
 * Marks the executions that answer a person as soon as their decision is in the run's history, and hash and write it
 * to the record store behind the answer (earlier ones waited for both, up to {@link DECISION_ANSWER_WAIT}).
 */
const DECISION_EARLY_ANSWER_PATCH = 'decision-early-answer';

/**
 * Marks the executions that, as the run ends, copy who sent each decision's request (the client identity Temporal
 * recorded) to the record store; earlier ones left it in the history alone.
 */
const RECORD_SENDERS_PATCH = 'record-senders';

/**
 * Copies the senders of the run's requests to the store: worth a few tries, never worth holding the run's end (the
 * history still has them, for as long as Temporal keeps it).
 */
const sendersRecorder = proxyActivities<Activities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 3 } });

/** Checks a signed request's signature and hashes the decision log with Node's crypto, on the worker that hosts the run. */
const verifier = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s', retry: { maximumAttempts: 3 } });

/**
 * How long a person's request waits for its decision to reach the record store before it is
 * answered anyway. The decision is already durable in the run's history; the store catches up
 * when it answers again, and the run does not end before it has.
 */
const DECISION_ANSWER_WAIT = '10s';

/** Ids of finished steps whose times are read back from the store in one activity. */
const TIMES_PER_READ = 2000;

/** Runs a runbook; one workflow id per run, one or more executions. */
export async function cutoverRun(input: RunInput): Promise<RunResult> {
  const now = (): string => new Date().toISOString();
  const execution = (input.checkpoint?.execution ?? 0) + 1;
  const budget = input.historyBudget ?? DEFAULT_HISTORY_BUDGET;
  // Decided once per execution, before anything else (validators cannot record a patch): see the patch.
  const logsRefusals = patched(LOG_REFUSALS_PATCH);
  const hashesHere = patched(HASH_IN_WORKFLOW_PATCH);

  // Filled once the runbook is read; until then people's requests are refused politely.
  let runbook: Runbook | undefined;
  let state: RunState | undefined;
  let defs = new Map<string, Step>();
  const def = (id: string): Step => defs.get(id)!;
  const stepOf = (id: string): StepState => state!.steps[id]!;
  /** Grows with every change a watcher could see. */
  let revision = 0;
  let statusStale = false;
  const touch = (): void => {
    statusStale = true;
    revision += 1;
  };
  /**
   * The state with its status brought up to date. Derived when someone looks (a query, a
   * snapshot), not on every change: deriving looks at every step, and a 10,000-step run changes
   * tens of thousands of times.
   */
  const current = (): RunState => {
    if (statusStale) {
      state!.status = deriveRunStatus(state!);
      statusStale = false;
    }
    return state!;
  };

  /** Activities this execution is waiting for: it hands over only when none is left. */
  let busy = 0;
  /**
   * Runs an activity, counted in {@link busy}, and never cancelled with the run: a Temporal
   * cancel stops the run from starting anything new, but an action already running finishes
   * and is recorded (killing a half-applied change is worse than letting it end).
   */
  const activity = <T>(call: () => Promise<T>): Promise<T> => {
    busy += 1;
    return CancellationScope.nonCancellable(call).finally(() => {
      busy -= 1;
    });
  };
  /** Set when this execution has used its history budget: nothing new starts, then it hands over. */
  let handingOver = false;
  /** Set once a step settles in this execution: each execution moves the run on before it hands over. */
  let progressed = false;
  /** Why the run did not start (a refused evidence override), when it did not. */
  let refusedToStart: string | undefined;
  const overBudget = (): boolean => progressed && (workflowInfo().historyLength >= budget || workflowInfo().continueAsNewSuggested);

  // ---- people's requests and watchers ---------------------------------------------------
  // Registered before anything else, so no request arrives at a run that cannot answer it.

  const notReady = 'the run is still reading its runbook; try again in a moment';
  setHandler(runSummaryQuery, (): RunSummary => {
    if (!state) throw new Error(notReady);
    return summarizeRun(current(), revision);
  });
  setHandler(runStepsQuery, ({ offset, limit }) => {
    if (!state) throw new Error(notReady);
    return pageOfSteps(current(), offset, limit, revision);
  });

  /**
   * Hashes the log's entries up to `seq` into the chain, in order (one local activity each: the
   * sandbox has no crypto). Runs started before the chain existed replay without it (callers check the patch).
   */
  let chainTail: Promise<void> = Promise.resolve();
  function chainUpTo(seq: number): Promise<void> {
    if (hashesHere) {
      const decisions = state!.decisions;
      for (let i = 0; i <= seq; i += 1) {
        decisions[i]!.hash ??= sha256Hex(chainedText(i === 0 ? '' : (decisions[i - 1]!.hash ?? ''), i, decisions[i]!));
      }
      return Promise.resolve();
    }
    chainTail = chainTail.then(async () => {
      const decisions = state!.decisions;
      for (let i = 0; i <= seq; i += 1) {
        if (decisions[i]!.hash !== undefined) continue;
        decisions[i]!.hash = await verifier.chainHash(chainedText(i === 0 ? '' : (decisions[i - 1]!.hash ?? ''), i, decisions[i]!));
      }
    });
    return chainTail;
  }

  /**
   * Logs the lead's evidence override as the run's first decision, signature and all, once its signature is checked;
   * or logs its refusal and returns why the run does not start. Nothing has run yet either way.
   */
  async function logOverride(run: RunState, book: Runbook, override: EvidenceOverride): Promise<string | undefined> {
    const at = now();
    const request = overrideRequest(override);
    const signature = override.signature;
    let why = refuseOverride(book, run, override, Date.now());
    // The sandbox has no crypto: a local activity checks the signature with Node's.
    if (why === undefined && signature) {
      const text = signedText(input.runId, 'override', request, signature.at, signature.nonce);
      if (!(await verifier.verifySignature({ text, key: signature.key, value: signature.value })))
        why = 'the signature does not match the override: it was changed after it was signed, signed for another run, or with another key';
    }
    const seq = logDecision(
      run,
      why === undefined
        ? {
            kind: 'override',
            by: override.by,
            role: book.lead,
            target: OVERRIDE_TARGET,
            reason: request.reason,
            at,
            automatic: false,
            signature,
            request,
          }
        : { kind: 'refused', by: override.by, role: 'override', target: OVERRIDE_TARGET, reason: why, at, automatic: false },
    );
    touch();
    await recordDecision(seq);
    return why === undefined ? undefined : `the evidence override was refused: ${why}`;
  }

  /**
   * Hashes decision `seq` into the chain and writes it to the record store. The person is answered at once: the
   * decision is durable in the run's history when the answer leaves (Temporal writes the Update's outcome before it
   * answers), the hash and the write follow, counted in {@link busy} so the run neither hands over nor ends before
   * they are done, and `cutover decisions` waits for the store to have what the run has.
   * Executions from before that answered after the write (or after {@link DECISION_ANSWER_WAIT} when the store was
   * slow), and replay that way.
   */
  async function recordDecision(seq: number): Promise<void> {
    // Checked before anything is awaited: a run from before replays its commands in the same order.
    const chained = patched(DECISION_CHAIN_PATCH);
    if (patched(DECISION_EARLY_ANSWER_PATCH)) {
      // Hashed now when the workflow hashes itself: the state has the chain's head when the person is answered.
      if (chained && hashesHere) void chainUpTo(seq);
      busy += 1;
      void CancellationScope.nonCancellable(async () => {
        if (chained) await chainUpTo(seq);
        await recorder.recordDecision(input.runId, seq, state!.decisions[seq]!);
      })
        // A write the store refused for good is as the old path left it: in history, not in the store.
        .catch(() => undefined)
        .finally(() => {
          busy -= 1;
        });
      return;
    }
    if (chained) await chainUpTo(seq);
    const decision = state!.decisions[seq]!;
    let written = false;
    const done = () => {
      written = true;
    };
    void activity(() => recorder.recordDecision(input.runId, seq, decision)).then(done, done);
    await condition(() => written, DECISION_ANSWER_WAIT);
  }

  const vote = async (request: VoteRequest, decision: 'approve' | 'reject', at: string) => {
    const step = stepOf(request.gateId);
    const role = voteRole(runbook!, step.gate!, request);
    const reason = request.reason?.trim() || undefined;
    step.gate = applyVote(step.gate!, {
      by: request.by,
      role,
      decision,
      at,
      automatic: request.automatic === true,
      ...(reason ? { reason } : {}),
    });
    const seq = logDecision(state!, {
      kind: decision,
      by: request.by,
      role,
      target: request.gateId,
      at,
      automatic: request.automatic === true,
      ...(request.evidence ? { evidence: request.evidence } : {}),
      ...signatureOf(request),
      ...(reason ? { reason } : {}),
      ...sentBy(),
    });
    touch();
    await recordDecision(seq);
    return step.gate;
  };
  /**
   * Checks a request with `rule`. A request that arrives while a new execution is still reading
   * its runbook (the moment after a hand-over) is accepted and checked once the state is there,
   * so nobody is turned away for the engine's own housekeeping.
   */
  const check =
    <R extends { by: string; signature?: RequestSignature; automatic?: boolean }>(rule: (request: R) => string | undefined) =>
    (request: R): void => {
      if (state?.cancel) refuse('the run was cancelled through Temporal; it takes no more requests');
      refuse(refuseAutomatic(request));
      if (!state || !runbook) return;
      // A request signed by a person the runbook knows is let in when its signature's envelope holds (listed key, fresh
      // nonce, time): whether it is allowed is decided in the handler, after its signature is checked, so a refusal is
      // logged with its reason. Anyone else's is refused here, at the door, and never enters the run's history.
      if (logsRefusals && checksSignature(runbook, request)) refuse(refuseSignature(runbook, input.mode, state, request, Date.now()));
      else refuse(rule(request));
    };
  /**
   * `automatic` says a request was cast by `rehearse --auto-approve`, not by a person: any client
   * could claim it, so it is believed only in a rehearsal started that way.
   */
  const refuseAutomatic = (request: unknown): string | undefined =>
    (request as { automatic?: unknown } | null)?.automatic === true && !(input.autoApprove === true && input.mode === 'rehearsal')
      ? `automatic requests are accepted only in rehearsals started with --auto-approve, and ${input.runId} was not; send it as a person (without "automatic")`
      : undefined;
  /**
   * The same check in the handler, for a request accepted before the state was there. Returns
   * nothing when the state was there: the handler must then go on without awaiting, so that
   * its first changes happen before the next request's validator looks (that is what refuses a
   * second `done` sent in the same moment).
   */
  const recheck = <R extends { by: string; signature?: RequestSignature }>(
    rule: (request: R) => string | undefined,
    request: R,
    kind: SignedKind,
  ): Promise<void> | undefined => {
    if (state && runbook && !request.signature) return undefined;
    const refused = (why: string) => ApplicationFailure.create({ type: FAILURE_TYPE.requestRefused, message: why, nonRetryable: true });
    return (async () => {
      if (state === undefined || runbook === undefined) await condition(() => state !== undefined && runbook !== undefined);
      const signature = checksSignature(runbook!, request) ? request.signature : undefined;
      const target = (request as { gateId?: string; stepId?: string }).gateId ?? (request as { stepId?: string }).stepId;
      /** Logs the refusal of this request (who it claimed to be, what for, why) and answers with it. */
      const logRefusal = async (why: string): Promise<never> => {
        const seq = logDecision(state!, {
          kind: 'refused',
          by: request.by,
          role: kind,
          ...(target ? { target } : {}),
          reason: why,
          at: now(),
          automatic: false,
          ...sentBy(),
        });
        touch();
        await recordDecision(seq);
        throw refused(why);
      };
      if (signature) {
        if (!logsRefusals) {
          const before = rule(request);
          if (before !== undefined) throw refused(before);
        }
        // The sandbox has no crypto: a local activity checks the signature with Node's.
        const text = signedText(input.runId, kind, request, signature.at, signature.nonce);
        if (!(await verifier.verifySignature({ text, key: signature.key, value: signature.value }))) {
          // A forged or altered request is worth an entry in the log: who it claimed to be, what for, and why it was refused.
          await logRefusal(
            'the signature does not match the request: it was changed after it was signed, signed for another run, step or decision, or with another key',
          );
        }
      }
      // Checked again: another request may have changed the run (or used this nonce) meanwhile.
      const why = rule(request);
      if (why !== undefined) {
        if (signature && logsRefusals) await logRefusal(why);
        throw refused(why);
      }
    })();
  };
  /** A rule, after the signature rule: who signed, with which key, when, and whether the nonce is fresh. */
  const signed =
    <R extends { by: string; signature?: RequestSignature; automatic?: boolean }>(rule: (request: R) => string | undefined) =>
    (request: R): string | undefined =>
      refuseSignature(runbook!, input.mode, state!, request, Date.now()) ?? rule(request);
  const voteRule = (decision: 'approve' | 'reject') =>
    signed((request: VoteRequest) => refuseVote(runbook!, state!, request, decision, Date.now()));
  const manualRule = signed((request: ManualDoneRequest) => refuseManualDone(runbook!, state!, request));
  const backoutRule = signed((request: BackoutRequest) => refuseBackout(runbook!, state!, request));
  const resolveRule = signed((request: ResolveRequest) => refuseResolve(runbook!, state!, request));
  /** The Update carrying the request being handled, kept with its decision (its history entry names the sender). */
  const sentBy = (): { updateId?: string } => {
    const id = currentUpdateInfo()?.id;
    return id ? { updateId: id } : {};
  };
  /** A signed request's signature and the fields it covers, kept with its decision. */
  const signatureOf = (request: { by: string; signature?: RequestSignature }) => {
    if (!checksSignature(runbook!, request)) return {};
    const fields = Object.fromEntries(Object.entries(request).filter(([key]) => key !== 'signature'));
    return { signature: request.signature, request: fields };
  };
  // Each handler takes its time when the request arrives, before a signature check: the workflow time of the
  // activation that resolves a local activity is not the same when the run is replayed (a query on an ended run).
  setHandler(
    approveGateUpdate,
    (request) => {
      const at = now();
      return afterCheck(recheck(voteRule('approve'), request, 'approve'), () => vote(request, 'approve', at));
    },
    {
      validator: check(voteRule('approve')),
    },
  );
  setHandler(
    rejectGateUpdate,
    (request) => {
      const at = now();
      return afterCheck(recheck(voteRule('reject'), request, 'reject'), () => vote(request, 'reject', at));
    },
    { validator: check(voteRule('reject')) },
  );

  setHandler(
    completeManualStepUpdate,
    async (request) => {
      const at = now();
      const checking = recheck(manualRule, request, 'complete_manual');
      if (checking) await checking;
      const step = stepOf(request.stepId);
      const forward = step.status === 'waiting' && step.waitingFor === 'manual';
      // Both changes happen before anything is awaited, so a second `done` in the same moment
      // sees them and is refused by the validator.
      if (forward) step.completedBy = request.by;
      else step.backout = { ...step.backout!, status: 'succeeded', endedAt: at };
      const reason = request.reason?.trim() || undefined;
      const seq = logDecision(state!, {
        kind: 'complete_manual',
        by: request.by,
        role: decisionRole(runbook!, request.by, [step.owner]),
        target: forward ? step.id : `${step.id} (back-out)`,
        at,
        automatic: request.automatic === true,
        ...signatureOf(request),
        ...(reason ? { reason } : {}),
        ...sentBy(),
      });
      touch();
      await recordDecision(seq);
      return step;
    },
    { validator: check(manualRule) },
  );

  setHandler(
    requestBackoutUpdate,
    async (request) => {
      const at = now();
      const checking = recheck(backoutRule, request, 'request_backout');
      if (checking) await checking;
      const seq = logDecision(state!, {
        kind: 'request_backout',
        by: request.by,
        role: runbook!.lead,
        reason: request.reason.trim(),
        at,
        automatic: false,
        ...signatureOf(request),
        ...sentBy(),
      });
      triggerBackout('requested', request.reason.trim(), request.by, at);
      await recordDecision(seq);
      return state!.backout;
    },
    { validator: check(backoutRule) },
  );

  setHandler(
    resolveStepUpdate,
    async (request) => {
      const at = now();
      const checking = recheck(resolveRule, request, 'resolve');
      if (checking) await checking;
      const step = stepOf(request.stepId);
      const scope = step.resolution?.scope;
      const seq = logDecision(state!, {
        kind: 'resolve',
        by: request.by,
        role: runbook!.lead,
        target: `${step.id}: ${request.action}${scope === 'backout' ? ' (back-out)' : ''}`,
        reason: request.reason.trim(),
        at,
        automatic: false,
        ...signatureOf(request),
        ...sentBy(),
      });
      if (request.action === 'done') step.completedBy = request.by;
      // Decided now, before anything is awaited: a second `resolve` or a racing `done` on the
      // undo is refused (nothing waits any more), so the undo cannot run twice. The decision is
      // part of the step's state, so it survives a hand-over to the next execution.
      step.resolution = { ...step.resolution!, decided: request.action };
      if (scope === 'backout') step.backout = { ...step.backout!, status: request.action === 'done' ? 'resolved' : 'running' };
      touch();
      await recordDecision(seq);
      return step;
    },
    { validator: check(resolveRule) },
  );

  /** Waits that the back-out (or a cancel) ends: gates, manual steps, timers. */
  const waits = new Map<string, CancellationScope>();

  function triggerBackout(trigger: NonNullable<BackoutState['trigger']>, reason: string, by?: string, at: string = now()): void {
    if (state!.backout.status !== 'not_requested' || state!.cancel) return;
    state!.backout = {
      status: 'running',
      trigger,
      reason,
      requestedAt: at,
      ...(by ? { requestedBy: by } : {}),
    };
    // Waiting for a person or a timer makes no sense once the run backs out; actions
    // already running are left to finish, because stopping a half-applied change is worse.
    for (const scope of waits.values()) scope.cancel();
    touch();
  }

  // ---- recording ----------------------------------------------------------------------

  const record = (step: StepState, purpose: 'forward' | 'backout', fields: Partial<StepRecord>): Promise<void> =>
    activity(() =>
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
      }),
    );

  /** The store's copy of the run's state, sent compact: the worker expands it. */
  const snapshot = (stage: RunCheckpoint['stage']): RunCheckpoint => toCheckpoint(current(), stage, execution);

  // ---- running one step ------------------------------------------------------------

  /** Waits inside a scope the back-out can cancel; returns false when cancelled. */
  async function cancellableWait(id: string, fn: () => Promise<unknown>): Promise<boolean> {
    const scope = new CancellationScope();
    waits.set(id, scope);
    try {
      await scope.run(fn);
      return true;
    } catch (err) {
      if (isCancellation(err) && !CancellationScope.current().consideredCancelled) return false;
      throw err;
    } finally {
      waits.delete(id);
    }
  }

  /** Sleeps until the step's `waitUntil` (set on first entry, so a new execution sleeps only what is left). */
  function sleepUntil(step: StepState, duration: string): Promise<void> {
    step.waitUntil ??= new Date(Date.now() + durationMs(duration)).toISOString();
    return sleep(Math.max(0, Date.parse(step.waitUntil) - Date.now()));
  }

  /** Waits for the lead to resolve a failure; returns their decision, or undefined on back-out. */
  async function waitForResolution(
    step: StepState,
    scope: 'forward' | 'backout',
    error: string,
    kind: 'failed' | 'unknown' | 'not_started',
  ) {
    // Once the run backs out, a failed forward step is simply one more step to undo.
    if (scope === 'forward' && state!.backout.status !== 'not_requested') return undefined;
    if (!step.resolution) {
      step.resolution = { scope, error, kind, since: now() };
      if (scope === 'forward') {
        step.status = 'waiting';
        step.waitingFor = 'resolution';
      } else {
        step.backout = { ...step.backout!, status: 'waiting', error };
      }
      touch();
    }
    // Only a forward failure gives way to a back-out; a failed back-out must be resolved.
    const resolved = () => step.resolution?.decided !== undefined;
    if (scope === 'forward') {
      const ok = await cancellableWait(step.id, () => condition(resolved));
      if (!ok) {
        // The run backs out instead; nothing is waiting for the lead on this step any more.
        step.resolution = undefined;
        return undefined;
      }
    } else {
      await condition(resolved);
    }
    const action = step.resolution.decided!;
    step.resolution = undefined;
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
      connections: runbook!.connections,
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
  function stepQueue(d: Step): { taskQueue?: string } {
    return d.runs_on && !input.oneMachine ? { taskQueue: poolTaskQueue(workflowInfo().taskQueue, d.runs_on) } : {};
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
      // A simulated step touches no system, so any worker may pretend it.
      ...(request.treatment === 'run' ? stepQueue(d) : {}),
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
        if (!(
          err instanceof ActivityFailure &&
          err.cause instanceof ApplicationFailure &&
          err.cause.type === FAILURE_TYPE.checksInterrupted
        ))
          throw err;
        const summary = err.cause.details![0] as ActionSummary;
        return (await activity(() => acts.checkStep(request, summary))).outcome!;
      });
      if (outcome.unrecorded) await activity(() => recorder.recordStep(outcome.unrecorded!));
      if (outcome.unrecordedChecks)
        await activity(() => recorder.recordChecks(request.runId, request.stepId, outcome.attempt, outcome.checks));
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

  /** A failed step under the automatic policy backs the run out; returns true when it did. */
  function failAutomatically(step: StepState, error: string): boolean {
    if (runbook!.backout.policy !== 'automatic') return false;
    step.status = 'failed';
    step.endedAt = now();
    triggerBackout('step_failed', `step ${step.id} failed: ${error}`);
    touch();
    return true;
  }

  /**
   * Runs a manual step's or a wait's checks once the person or the timer is done. Returns true
   * when the step may count as done; on a failure it applies the back-out policy like any step.
   */
  async function verifyAfterWait(step: StepState): Promise<boolean> {
    const d = def(step.id);
    if (d.checks.length === 0 || step.treatment !== 'run') return true;
    for (;;) {
      if (!step.resolution) {
        const request = {
          ...requestFor(step, 'forward', { kind: 'simulate', duration: '0s', outcome: 'success' }, step.attempts),
          checks: d.checks,
        };
        const acts = proxyActivities<Activities>({
          ...stepQueue(d),
          startToCloseTimeout: checksBudgetMs(d.checks) + 60_000,
          heartbeatTimeout: HEARTBEAT_TIMEOUT,
          retry: { maximumAttempts: 1 },
        });
        let error: string;
        try {
          const checked: CheckStepResult = await activity(() => acts.checkStep(request));
          step.checks = checked.checks;
          if (checked.unrecordedChecks)
            await activity(() => recorder.recordChecks(input.runId, step.id, request.attemptOffset, step.checks));
          const failed = step.checks.filter((c) => !c.passed);
          if (failed.length === 0) return true;
          error = `check ${failed.map((c) => `"${c.name}" failed: ${c.detail}`).join('; check ')}`;
        } catch (err) {
          if (isCancellation(err)) throw err;
          // The worker stopped while it asked: no answer, so ask again (checks are read-only).
          if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FAILURE_TYPE.workerStopped)
            continue;
          const cause = err instanceof ActivityFailure ? err.cause : err;
          error = `checks could not run: ${cause instanceof Error ? cause.message : String(cause)}`;
        }
        step.error = error;
        if (failAutomatically(step, error)) return false;
      }
      const decision = await waitForResolution(step, 'forward', step.error ?? 'checks failed', 'failed');
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

  /** The canonical text of each open gate's evidence as last hashed (a new execution hashes it once more). */
  const evidenceTexts = new Map<string, string>();

  /** The gates open for votes whose evidence {@link watchEvidence} keeps current. */
  const openGates = new Set<string>();
  let watchingEvidence = false;

  /**
   * Starts the run's one evidence watcher (once): whenever the run changes, it refreshes every open gate's evidence and
   * criteria, and hashes what changed. One watcher rather than a wait per gate: a change then costs one wake-up,
   * however many gates are open (each wait is promises, and the SDK records a stack trace for every one).
   * Never cancelled (a cancelled run's gates stop waiting by themselves); a hash that fails is tried at the next change.
   */
  function watchEvidence(): void {
    if (watchingEvidence) return;
    watchingEvidence = true;
    void CancellationScope.nonCancellable(async () => {
      for (;;) {
        const seen = revision;
        await condition(() => revision !== seen && openGates.size > 0);
        const hashing = [...openGates].flatMap((id) => refreshEvidence(stepOf(id)) ?? []);
        if (hashing.length > 0) await Promise.all(hashing).catch(() => undefined);
      }
    });
  }

  /**
   * Assembles an open gate's evidence and brings its unmet criteria up to date. Returns what is left to do when the
   * evidence changed (hash it, a local activity: the sandbox has no crypto), and nothing otherwise: every open gate
   * looks each time the run changes, and the SDK records a stack trace for every promise a workflow makes, so the
   * common case (nothing new for this gate) must not make one.
   */
  function refreshEvidence(step: StepState): Promise<void> | undefined {
    const evidence = assembleEvidence(state!, step.id);
    const unmet = unmetCriteria(def(step.id).gate!.criteria, state!, evidence);
    if (unmet.join('\n') !== (step.gate!.unmetCriteria ?? []).join('\n')) {
      step.gate = { ...step.gate!, unmetCriteria: unmet };
      touch();
    }
    const text = canonicalJson(evidence);
    if (step.gate!.evidence && evidenceTexts.get(step.id) === text) return undefined;
    if (hashesHere) {
      evidenceTexts.set(step.id, text);
      const digest = sha256Hex(text);
      if (step.gate!.evidence?.digest !== digest) {
        step.gate = { ...step.gate!, evidence: { ...evidence, digest, at: now() } };
        touch();
      }
      return undefined;
    }
    return hashEvidence(step, evidence, text);
  }

  async function hashEvidence(step: StepState, evidence: GateEvidence, text: string): Promise<void> {
    const digest = await verifier.chainHash(text);
    evidenceTexts.set(step.id, text);
    if (step.gate!.evidence?.digest === digest) return;
    step.gate = { ...step.gate!, evidence: { ...evidence, digest, at: now() } };
    touch();
  }

  /**
   * One forward step, from wherever it is: a fresh step starts at the top; a step handed over by
   * an earlier execution (a gate open for votes, a manual step or a failure waiting for someone,
   * a timer) picks up where it was.
   */
  async function runForwardStep(step: StepState): Promise<void> {
    const d = def(step.id);
    step.startedAt ??= now();
    if (step.treatment === 'skip') {
      step.status = 'skipped';
      step.endedAt = step.startedAt;
      touch();
      await record(step, 'forward', { attempt: 1 });
      return;
    }

    if (d.gate && step.treatment === 'run') {
      if (step.gate!.status === 'pending') {
        const closesAt = gateClosesAt(d.gate, runbook!, input.mode, state!.startedAt, step.startedAt);
        // The measured back-out when the run was started with one: the figure `cutover forecast` gives.
        const noReturn = pointOfNoReturn(runbook!, input.mode, state!.startedAt, input.backoutP90Ms);
        step.gate = {
          ...step.gate!,
          status: 'open',
          openedAt: step.startedAt,
          ...(noReturn ? { pointOfNoReturn: noReturn } : {}),
          ...(closesAt ? { closesAt, onDeadline: d.gate.deadline!.decides } : {}),
        };
        step.status = 'waiting';
        step.waitingFor = 'approval';
        touch();
      }
      const byPeople = () => step.gate!.status === 'approved' || step.gate!.status === 'rejected';
      const decided = await cancellableWait(step.id, async () => {
        const closesAt = step.gate!.closesAt;
        const deadlineMs = closesAt === undefined ? undefined : Date.parse(closesAt);
        // Checked before anything is awaited: a run from before evidence replays its commands in the same order.
        const withEvidence = patched(GATE_EVIDENCE_PATCH);
        const watched = withEvidence && patched(EVIDENCE_WATCHER_PATCH);
        if (!withEvidence && deadlineMs === undefined) return condition(byPeople);
        if (watched) {
          // Its evidence now; from here on the run's one evidence watcher keeps it current.
          const hashing = refreshEvidence(step);
          if (hashing) await hashing;
          if (byPeople()) return;
          openGates.add(step.id);
          watchEvidence();
          try {
            const woke =
              deadlineMs === undefined
                ? (await condition(byPeople), true)
                : await condition(byPeople, Math.max(0, deadlineMs - Date.now()));
            if (woke || byPeople()) return;
          } finally {
            openGates.delete(step.id);
          }
        } else {
          for (;;) {
            if (withEvidence) {
              const hashing = refreshEvidence(step);
              if (hashing) await hashing;
            }
            if (byPeople()) return;
            const seen = revision;
            const changed = () => byPeople() || (withEvidence && revision !== seen);
            const woke =
              deadlineMs === undefined ? (await condition(changed), true) : await condition(changed, Math.max(0, deadlineMs - Date.now()));
            if (byPeople()) return;
            if (!woke) break;
          }
        }
        // Undecided at the deadline: the gate decides as the runbook says, and says so.
        const outcome = step.gate!.onDeadline ?? 'no-go';
        step.gate = { ...step.gate!, status: outcome === 'go' ? 'approved' : 'rejected', decidedAt: now(), closedByDeadline: true };
        const seq = logDecision(state!, {
          kind: 'deadline',
          by: 'cutover',
          role: 'deadline',
          target: step.id,
          reason: `no decision by ${closesAt}; the runbook says ${outcome}`,
          at: now(),
          automatic: true,
        });
        touch();
        await recordDecision(seq);
      });
      step.waitingFor = undefined;
      step.endedAt = now();
      step.attempts = 1;
      if (!decided) {
        step.status = 'cancelled';
        step.gate = { ...step.gate!, status: 'cancelled' };
      } else if (step.gate!.status === 'approved') {
        step.status = 'succeeded';
      } else if (step.gate!.closedByDeadline) {
        step.status = 'failed';
        step.error = `no-go: nobody decided by the gate's deadline, ${step.gate!.closesAt}`;
        triggerBackout('gate_rejected', step.error);
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
      let finished = true;
      if (!step.resolution) {
        if (step.status === 'pending') {
          step.status = action.kind === 'manual' ? 'waiting' : 'running';
          if (action.kind === 'manual') step.waitingFor = 'manual';
          touch();
        }
        finished = await cancellableWait(step.id, () =>
          action.kind === 'manual' ? condition(() => step.completedBy !== undefined) : sleepUntil(step, action.duration),
        );
        step.waitingFor = undefined;
        step.waitUntil = undefined;
        step.attempts = 1;
      }
      if (!finished || (await verifyAfterWait(step))) {
        step.endedAt = now();
        step.status = finished ? 'succeeded' : 'cancelled';
        touch();
      }
      await record(step, 'forward', {});
      return;
    }

    // Everything else is an activity: shell, http, sql, simulate, and simulated treatment.
    if (step.status === 'pending') {
      step.status = 'running';
      touch();
    }
    let lastFailure: { error: string; kind: 'failed' | 'unknown' | 'not_started' } | undefined;
    // A comparison only reads, so one whose worker was lost is simply run again, a few times.
    let lostComparisons = 0;
    for (;;) {
      if (!step.resolution) {
        const result = await runActivity(requestFor(step, 'forward', d.action!, step.attempts));
        if (result.outcome) {
          step.attempts = result.outcome.attempt;
          step.checks = result.outcome.checks;
          step.reconcile = result.outcome.reconcile;
          if (result.outcome.worker) step.worker = result.outcome.worker;
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
          if (d.action?.kind === 'reconcile' && step.treatment === 'run' && lostComparisons < MAX_LOST_COMPARISONS) {
            lostComparisons += 1;
            touch();
            continue;
          }
        }
        if (result.kind === 'failed' && failAutomatically(step, result.error)) return;
        lastFailure = result;
      }
      // Picked up from a hand-over, the step is already waiting: its resolution says why.
      const decision = await waitForResolution(
        step,
        'forward',
        lastFailure?.error ?? step.error ?? 'failed',
        lastFailure?.kind ?? 'failed',
      );
      step.waitingFor = undefined;
      if (decision === undefined) {
        step.status = 'failed';
        step.endedAt = now();
        touch();
        return;
      }
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
      if (state!.backout.status !== 'not_requested') {
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

  /** One step's undo, from wherever it is (see {@link runForwardStep}). */
  async function runBackoutStep(step: StepState): Promise<void> {
    const undo = def(step.id).backout!;
    if (!step.backout || step.backout.status === 'pending') {
      step.backout = { status: 'running', attempts: 0, startedAt: now() };
      touch();
    }
    if (undo.kind === 'manual' && step.treatment !== 'simulate') {
      if (step.backout.status === 'running') {
        step.backout = { ...step.backout, status: 'manual', attempts: 1 };
        touch();
      }
      await condition(() => step.backout!.status === 'succeeded');
      await record(step, 'backout', {});
      return;
    }
    if (undo.kind === 'wait' && step.treatment !== 'simulate') {
      await sleepUntil(step, undo.duration);
      step.waitUntil = undefined;
      step.backout = { ...step.backout, status: 'succeeded', attempts: 1, endedAt: now() };
      touch();
      await record(step, 'backout', {});
      return;
    }
    for (;;) {
      if (step.backout.status === 'running') {
        const attempts: number = step.backout.attempts;
        const result = await runActivity(requestFor(step, 'backout', undo, attempts));
        const made: number = result.outcome?.attempt ?? attempts + 1;
        if (result.ok) {
          step.backout = {
            ...step.backout,
            status: 'succeeded',
            attempts: made,
            endedAt: result.outcome.endedAt,
            error: undefined,
            outputTail: undefined,
          };
          touch();
          return;
        }
        step.backout = { ...step.backout, attempts: made, outputTail: result.outcome?.outputTail?.slice(-FAILED_OUTPUT_TAIL_CHARS) };
        if (result.kind === 'unknown')
          await record(step, 'backout', { status: 'failed', endedAt: now(), error: `outcome unknown: ${result.error}` });
        // A failing back-out never skips silently: it waits until the lead retries it or
        // records that it was done by hand.
        step.resolution = { scope: 'backout', error: result.error, kind: result.kind, since: now() };
        step.backout = { ...step.backout, status: 'waiting', error: result.error };
        touch();
      }
      const decision = await waitForResolution(step, 'backout', step.backout.error ?? 'failed', step.resolution?.kind ?? 'failed');
      if (decision === 'done') {
        step.backout = { ...step.backout, status: 'resolved', endedAt: now() };
        touch();
        await record(step, 'backout', { status: 'resolved' });
        return;
      }
      step.backout = { ...step.backout, status: 'running', error: undefined };
      touch();
    }
  }

  // ---- the run ---------------------------------------------------------------------

  const graph: PlanGraph = {
    get order() {
      return state!.order;
    },
    dependsOn: (id) => stepOf(id).dependsOn,
  };

  /** A step started or picked up again in this execution. */
  const resumable = (step: StepState): boolean =>
    step.status === 'waiting' || (step.status === 'running' && (step.waitUntil !== undefined || step.resolution !== undefined));

  /**
   * The forward part. Returns 'handover' when this execution used its budget and the run must
   * continue as new (nothing of its own is still running then).
   */
  async function runForward(): Promise<'done' | 'handover'> {
    const plan = new ForwardPlan(graph, (id) => isDone(stepOf(id)));
    const ready: string[] = [];
    let inFlight = 0;
    let stepError: unknown;
    for (const id of state!.order) {
      const step = stepOf(id);
      if (resumable(step)) launch(id);
      else if (step.status === 'pending' && plan.isReady(id)) ready.push(id);
    }

    function launch(id: string): void {
      inFlight += 1;
      runForwardStep(stepOf(id)).then(
        () => {
          inFlight -= 1;
          progressed = true;
          if (isDone(stepOf(id))) ready.push(...plan.markDone(id));
        },
        (err: unknown) => {
          // Cancelled with the whole run (Temporal cancel): the main flow reports that. Any
          // other error is a bug; keep it to fail the workflow task visibly.
          inFlight -= 1;
          if (!isCancellation(err)) stepError ??= err;
        },
      );
    }

    for (;;) {
      if (state!.backout.status !== 'not_requested') break;
      if (overBudget()) {
        handingOver = true;
        break;
      }
      while (ready.length > 0) launch(ready.shift()!);
      await condition(() => ready.length > 0 || inFlight === 0 || state!.backout.status !== 'not_requested' || overBudget());
      if (inFlight === 0 && ready.length === 0) break; // finished, or nothing more can start
    }
    // Actions already running finish before anything is undone or handed over.
    await condition(() => busy === 0 && (handingOver || inFlight === 0 || state!.backout.status !== 'not_requested'));
    if (handingOver) return 'handover';
    await condition(() => inFlight === 0);
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows the first step failure as it was caught
    if (stepError !== undefined) throw stepError;
    const stoppedAt = now();
    for (const id of state!.order) {
      const step = stepOf(id);
      if (step.status === 'pending') {
        step.status = 'cancelled';
        step.endedAt = stoppedAt;
      }
    }
    touch();
    return 'done';
  }

  /** Undoes what ran, in reverse dependency order. Returns 'handover' like {@link runForward}. */
  async function runBackout(): Promise<'done' | 'handover'> {
    if (state!.backout.startedAt === undefined) {
      state!.backout = { ...state!.backout, status: 'running', startedAt: now() };
      for (const id of state!.order) {
        const step = stepOf(id);
        const ran = step.kind !== 'gate' && (step.status === 'succeeded' || step.status === 'simulated' || step.status === 'failed');
        if (ran && !def(id).backout) step.backout = { status: 'not_needed', attempts: 0 };
        else if (ran) step.backout = { status: 'pending', attempts: 0 };
      }
      touch();
      await activity(() => recorder.recordRunState(snapshot('backout')));
    }
    const toUndo = state!.order.filter((id) => stepOf(id).backout !== undefined && stepOf(id).backout!.status !== 'not_needed');
    const finished = (id: string) => {
      const status = stepOf(id).backout?.status;
      return status === 'succeeded' || status === 'resolved';
    };
    const plan = new BackoutPlan(graph, toUndo, finished);
    let inFlight = 0;
    let stepError: unknown;
    const launch = (id: string): void => {
      inFlight += 1;
      runBackoutStep(stepOf(id)).then(
        () => {
          inFlight -= 1;
          progressed = true;
          plan.markUndone(id);
        },
        (err: unknown) => {
          inFlight -= 1;
          if (!isCancellation(err)) stepError ??= err;
        },
      );
    };
    for (;;) {
      if (overBudget()) {
        handingOver = true;
        break;
      }
      for (const id of plan.takeReady()) launch(id);
      if (inFlight === 0 && !plan.hasReady()) break;
      await condition(() => plan.hasReady() || inFlight === 0 || overBudget());
    }
    if (handingOver) {
      // Undos waiting for people carry over; running ones finish first.
      await condition(() => busy === 0);
      return 'handover';
    }
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows the first step failure as it was caught
    if (stepError !== undefined) throw stepError;
    state!.backout = { ...state!.backout, status: 'completed', endedAt: now() };
    touch();
    return 'done';
  }

  /** Ends this execution and continues the run in a new one with the same id. */
  async function handOver(stage: RunCheckpoint['stage']): Promise<never> {
    // Requests already accepted are answered here; new ones go to the next execution.
    await condition(() => busy === 0 && allHandlersFinished());
    return continueAsNew<typeof cutoverRun>({ ...input, checkpoint: snapshot(stage) });
  }

  // ---- the story of a run ------------------------------------------------------------

  try {
    runbook = await failLoudly(() => loadRunbook(input.runId));
    defs = new Map(stepsInOrder(runbook).map(({ step }) => [step.id, step]));
    const fresh = initialRunState({ ...input, runbook }, now());
    state = fresh;
    if (input.checkpoint) {
      const needTimes = applyCheckpoint(fresh, input.checkpoint);
      await readTimes(fresh, needTimes);
    }
    state.execution = execution;
    touch();
    if (!input.checkpoint) {
      if (input.mode === 'live') refuseSimulatedLive(runbook);
      await failLoudly(() => activity(() => recorder.recordRunStarted(snapshot('forward'))));
      // Only runs started with --override-evidence carry it: runs from before it replay unchanged.
      if (input.evidenceOverride) refusedToStart = await logOverride(state, runbook, input.evidenceOverride);
    }

    if (refusedToStart === undefined && input.checkpoint?.stage !== 'backout' && (await runForward()) === 'handover')
      return await handOver('forward');
    if (refusedToStart !== undefined) {
      state.status = 'failed';
      state.outcome = `did not start: ${refusedToStart}`;
    } else if (state.backout.status !== 'not_requested') {
      if ((await runBackout()) === 'handover') return await handOver('backout');
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
    if (!isCancellation(err) || !state) throw err;
    await CancellationScope.nonCancellable(() => stopOnCancel(state!));
  }
  state = state!;
  state.endedAt = now();
  revision += 1;
  // Even a cancelled run writes its end, and answers the Updates it already accepted.
  await CancellationScope.nonCancellable(async () => {
    await activity(() => recorder.recordRunFinished(snapshot(state.backout.status === 'not_requested' ? 'forward' : 'backout')));
    await condition(() => busy === 0 && allHandlersFinished());
    if (state.decisions.some((d) => d.updateId !== undefined) && patched(RECORD_SENDERS_PATCH)) {
      await sendersRecorder.recordSenders(input.runId).catch(() => undefined);
      // A request that arrived meanwhile (refused: the run has ended) is answered before the run returns.
      await condition(() => busy === 0 && allHandlersFinished());
    }
  });
  // The result is small at any size: the whole state is in the record store and the queries.
  return { status: state.status as RunResult['status'], outcome: state.outcome ?? '', summary: summarizeRun(state, revision) };

  /**
   * What a Temporal cancel means on the night: stop orchestrating and change nothing more.
   * Nothing new starts, people's waits end, actions already running finish and are recorded
   * (they are never killed), and nothing is undone automatically: a cancel is not a no-go.
   * The decision log and the outcome say so, and what the lead does next.
   */
  async function stopOnCancel(run: RunState): Promise<void> {
    const running = run.order.filter((id) => run.steps[id]!.status === 'running' || run.steps[id]!.backout?.status === 'running');
    run.cancel = { requestedAt: now(), running };
    const seq = logDecision(run, {
      kind: 'cancel',
      by: 'temporal',
      role: 'temporal',
      target: run.runId,
      reason: 'the workflow was cancelled through Temporal',
      at: now(),
      automatic: false,
    });
    revision += 1;
    if (patched(DECISION_CHAIN_PATCH)) await chainUpTo(seq);
    await activity(() => recorder.recordDecision(input.runId, seq, run.decisions[seq]!));
    await condition(() => busy === 0);
    const stoppedAt = now();
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
    const undone = run.order.filter(
      (id) => run.steps[id]!.backout?.status === 'succeeded' || run.steps[id]!.backout?.status === 'resolved',
    );
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

  /** Reads the runbook from the record store, page by page (no payload holds a large one). */
  async function loadRunbook(runId: string): Promise<Runbook> {
    const first = await activity(() => recorder.loadRunbookPage(runId, 0));
    const rest = await Promise.all(
      Array.from({ length: first.count - 1 }, (_, i) => activity(() => recorder.loadRunbookPage(runId, i + 1))),
    );
    return assembleRunbook([first, ...rest]);
  }

  /** Times of finished steps handed over without them, read back from the record store. */
  async function readTimes(run: RunState, ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += TIMES_PER_READ) {
      applyStepTimes(run, await activity(() => recorder.loadStepTimes(input.runId, ids.slice(i, i + TIMES_PER_READ))));
    }
  }
}

/**
 * Runs `fn`; when an activity in it failed for a reason no retry can fix (the record store does
 * not know the run, the runbook in it is invalid), fails the run at once with that reason.
 */
async function failLoudly<T>(fn: () => Promise<T>): Promise<T> {
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

/** A live run may not pretend: simulate actions are for rehearsals. */
function refuseSimulatedLive(runbook: Runbook): void {
  const simulated = stepsInOrder(runbook)
    .map(({ step }) => step)
    .filter((s) => s.action?.kind === 'simulate' || s.backout?.kind === 'simulate');
  if (simulated.length > 0) {
    throw ApplicationFailure.create({
      type: FAILURE_TYPE.invalidInput,
      message: `a live run cannot contain simulate actions (steps ${simulated.map((s) => s.id).join(', ')})`,
      nonRetryable: true,
    });
  }
}

/** Runs `then` at once, or after `checking` when there is a check to wait for. */
function afterCheck<T>(checking: Promise<void> | undefined, then: () => Promise<T>): Promise<T> {
  return checking ? checking.then(then) : then();
}

/** Turns a validator's refusal into the Update's rejection (it never enters history). */
function refuse(reason: string | undefined): void {
  if (reason !== undefined) throw new Error(reason);
}
