/**
 * What people ask of a run, and how it answers: the two queries, and the five Updates (approve, reject, done,
 * back-out, resolve), each with a validator that refuses at the door what is plainly not allowed (a refused request
 * never enters the history) and a handler that checks again, makes the decision and answers. The lead's evidence
 * override, signed before the run starts, is decided here too.
 *
 * Every handler has the same shape: take the time the request arrived, wait for its check only when there is one (and
 * not a turn more: the first changes must happen before the next request's validator looks), change the run,
 * {@link RunContext.decide}, answer.
 */
import { ApplicationFailure, condition, currentUpdateInfo, patched, setHandler } from '@temporalio/workflow';
import { FAILURE_TYPE } from '../run/failures.js';
import { HANDED_OVER_REASON } from '../run/hypercare.js';
import { pageOfSteps, summarizeRun } from '../run/pages.js';
import type { BackoutState, Decision, EvidenceOverride, GateState, RunSummary, StepState } from '../run/state.js';
import type { RunChanges } from '../run/step-changes.js';
import { arrivedUnencrypted, unencryptedRefusal } from '../run/unencrypted.js';
import {
  checksSignature,
  FORGED_OVERRIDE_REASON,
  FORGED_REQUEST_REASON,
  OVERRIDE_TARGET,
  overrideRequest,
  refuseSignature,
  signatureCheck,
  signatureFields,
  signedText,
  type RequestSignature,
  type SignedKind,
} from '../run/signed-request.js';
import {
  applyVote,
  decisionRole,
  refuseAutomatic,
  refuseBackout,
  refuseManualDone,
  refuseOverride,
  refuseResolve,
  refuseVote,
  voteRole,
  type BackoutRequest,
  type ManualDoneRequest,
  type ResolveRequest,
  type VoteRequest,
} from '../run/transitions.js';
import { deputiesOf, refuseAcknowledge, rolesActing, waitingOnPeople, type AcknowledgeRequest } from '../run/acknowledge.js';
import { actingRunbook, refuseOffDuty, withRotaPeople } from '../run/duty.js';
import { nightStartMs } from '../runbook/fixed-starts.js';
import type { Runbook } from '../runbook/schema.js';
import { mayLogRefusal, refuseMalformedRequest, refuseUnknownTarget, type RequestKind } from '../run/request-limits.js';
import { verifier } from './activity-calls.js';
import {
  acknowledgeStepUpdate,
  approveGateUpdate,
  completeManualStepUpdate,
  rejectGateUpdate,
  requestBackoutUpdate,
  resolveStepUpdate,
  runChangesQuery,
  runStepsQuery,
  runSummaryQuery,
} from './messages.js';
import { PATCHES } from './patches.js';
import type { RunContext } from './run-context.js';

/** A request's rule: why it is refused, or undefined. `atMs`: when it arrived (the workflow's clock), as handlers pass it. */
type Rule<R> = (request: R, atMs?: number) => string | undefined;
type Request = { by: string; signature?: RequestSignature; automatic?: boolean };

const NOT_READY = 'the run is still reading its runbook; try again in a moment';

/**
 * Registers every query and Update of the run. Called before anything else, so no request arrives at a run that
 * cannot answer it.
 */
export function registerRequests(ctx: RunContext): void {
  const requests = new PersonRequests(ctx);
  setHandler(runSummaryQuery, (): RunSummary => {
    if (!ctx.state) throw new Error(ctx.runbookRefused ?? NOT_READY);
    const state = ctx.current();
    // A watcher reading the run whole starts with the summary: from here, it can be told what changed since.
    ctx.changes.look(state, ctx.revision);
    return summarizeRun(state, ctx.revision);
  });
  setHandler(runChangesQuery, ({ execution, since }): RunChanges => {
    if (!ctx.state) throw new Error(ctx.runbookRefused ?? NOT_READY);
    const state = ctx.current();
    const summary = summarizeRun(state, ctx.revision);
    const attention = new Set(summary.attention.map((step) => step.id));
    const steps = execution === ctx.execution ? ctx.changes.changedSince(state, ctx.revision, since, attention) : undefined;
    return { summary, execution: ctx.execution, ...(steps ? { steps } : {}) };
  });
  setHandler(runStepsQuery, ({ offset, limit }) => {
    if (!ctx.state) throw new Error(ctx.runbookRefused ?? NOT_READY);
    return pageOfSteps(ctx.current(), offset, limit, ctx.revision);
  });
  setHandler(approveGateUpdate, (request) => requests.vote(request, 'approve'), {
    validator: requests.validator('vote', requests.voteRule('approve')),
  });
  setHandler(rejectGateUpdate, (request) => requests.vote(request, 'reject'), {
    validator: requests.validator('vote', requests.voteRule('reject')),
  });
  setHandler(completeManualStepUpdate, (request) => requests.markDone(request), {
    validator: requests.validator('complete_manual', requests.manualRule),
  });
  setHandler(requestBackoutUpdate, (request) => requests.backOut(request), {
    validator: requests.validator('request_backout', requests.backoutRule),
  });
  setHandler(resolveStepUpdate, (request) => requests.resolve(request), { validator: requests.validator('resolve', requests.resolveRule) });
  setHandler(acknowledgeStepUpdate, (request) => requests.acknowledge(request), {
    validator: requests.validator('acknowledge', requests.acknowledgeRule),
  });
}

/** The five person requests: their rules, validators and handlers. */
class PersonRequests {
  constructor(private readonly ctx: RunContext) {}

  // ---- the rules: the signature's, then the request's own --------------------------------------------------------

  /** A rule, after the signature rule: who signed, with which key, when, and whether the nonce is fresh. */
  private signed<R extends Request>(rule: Rule<R>): Rule<R> {
    return (request, atMs) => refuseSignature(this.ctx.book, this.ctx.input.mode, this.ctx.run, request, Date.now()) ?? rule(request, atMs);
  }

  voteRule(decision: 'approve' | 'reject'): Rule<VoteRequest> {
    return this.signed((request: VoteRequest, atMs = Date.now()) => {
      const gate = this.stepAt(request.gateId)?.gate;
      return (
        refuseVote(this.everyone(), this.ctx.run, request, decision, Date.now()) ??
        this.offDuty(request.role ? [request.role] : gate?.approvers, request.by, atMs)
      );
    });
  }
  readonly manualRule = this.signed(
    (request: ManualDoneRequest, atMs = Date.now()) =>
      refuseManualDone(this.everyone(), this.ctx.run, request) ?? this.offDuty([this.stepAt(request.stepId)!.owner], request.by, atMs),
  );
  readonly backoutRule = this.signed((request: BackoutRequest) => refuseBackout(this.ctx.book, this.ctx.run, request));
  readonly resolveRule = this.signed((request: ResolveRequest) => refuseResolve(this.ctx.book, this.ctx.run, request));
  readonly acknowledgeRule = this.signed((request: AcknowledgeRequest, atMs = Date.now()) => {
    const why = refuseAcknowledge(this.ctx.book, this.ctx.run, request);
    if (why !== undefined || !this.ctx.dutyActs) return why;
    const step = this.stepAt(request.stepId)!;
    const roles = rolesActing(this.ctx.book, step, waitingOnPeople(step)!);
    // A deputy and the lead acknowledge as such at any hour (run/acknowledge.ts): the rota does not take that away.
    const keeps = [...deputiesOf(this.ctx.book, roles), ...(this.ctx.book.roles[this.ctx.book.lead] ?? [])];
    return this.offDuty(roles, request.by, atMs, keeps);
  });

  // ---- the rota: who is on duty decides who may act (from patch rota-acts, runs whose runbook has a rota) ------------

  private stepAt(id: string): StepState | undefined {
    return Object.hasOwn(this.ctx.run.steps, id) ? this.ctx.run.steps[id] : undefined;
  }

  /** The runbook with everyone who may act for a role at some hour (its rota's people too): the requests' own rules read it. */
  private everyone(): Runbook {
    return this.ctx.dutyActs ? withRotaPeople(this.ctx.book) : this.ctx.book;
  }

  /** The runbook as it stands for acting at `atMs` (see run/duty.ts): whose role a decision is logged under. */
  bookAt(atMs: number): Runbook {
    const { ctx } = this;
    return ctx.dutyActs ? actingRunbook(ctx.book, atMs, nightStartMs(ctx.book, ctx.input.mode, ctx.run.startedAt)) : ctx.book;
  }

  /** Why `by` may not act for `roles` at `atMs` because the rota has someone else on duty, or undefined. */
  private offDuty(roles: readonly string[] | undefined, by: string, atMs: number, keeps?: readonly string[]): string | undefined {
    const { ctx } = this;
    if (!ctx.dutyActs || !roles) return undefined;
    return refuseOffDuty(ctx.book, roles, by, atMs, nightStartMs(ctx.book, ctx.input.mode, ctx.run.startedAt), keeps);
  }

  /**
   * The validator of a request with `rule`. A request that arrives while a new execution is still reading
   * its runbook (the moment after a hand-over) is accepted and checked once the state is there,
   * so nobody is turned away for the engine's own housekeeping.
   */
  validator<R extends Request>(kind: RequestKind, rule: Rule<R>): (request: R) => void {
    return (request) => {
      const { ctx } = this;
      // From a client without the key, at a worker with it: refused before anything (validators do not run in replay).
      if (arrivedUnencrypted(request))
        throw ApplicationFailure.create({
          type: FAILURE_TYPE.unencryptedInput,
          message: unencryptedRefusal('request'),
          nonRetryable: true,
        });
      if (ctx.state?.cancel) refuse('the run was cancelled through Temporal; it takes no more requests');
      // Oversized or unknown fields, and a target the run does not have, never get further than the door: nothing of
      // such a request enters the history or the decision log (validators do not run in replay: every execution).
      refuse(refuseMalformedRequest(kind, request));
      refuse(refuseAutomatic(request, ctx.input));
      if (!ctx.state || !ctx.runbook) return;
      refuse(refuseUnknownTarget(kind, request, ctx.state));
      // A request signed by a person the runbook knows is let in when its signature's envelope holds (listed key, fresh
      // nonce, time): whether it is allowed is decided in the handler, after its signature is checked, so a refusal is
      // logged with its reason, as long as that person's logged refusals are under the rate limit. Anyone else's, and
      // theirs past the limit, is refused here, at the door, and never enters the run's history.
      const mayLog = !ctx.patches.boundsRequests || mayLogRefusal(ctx.state, request.by, Date.now());
      if (ctx.patches.logsRefusals && checksSignature(ctx.runbook, request) && mayLog)
        refuse(refuseSignature(ctx.runbook, ctx.input.mode, ctx.state, request, Date.now()));
      else refuse(rule(request));
    };
  }

  /**
   * The same check in the handler, for a request accepted before the state was there or signed. Returns
   * nothing when the state was there and the request is not signed: the handler must then go on without awaiting, so
   * that its first changes happen before the next request's validator looks (that is what refuses a second `done`
   * sent in the same moment).
   */
  private recheck<R extends Request>(rule: Rule<R>, request: R, kind: SignedKind, at: string): Promise<void> | undefined {
    const { ctx } = this;
    if (ctx.state && ctx.runbook && !request.signature) return undefined;
    const refused = (why: string) => ApplicationFailure.create({ type: FAILURE_TYPE.requestRefused, message: why, nonRetryable: true });
    return (async () => {
      if (ctx.state === undefined || ctx.runbook === undefined) await condition(() => ctx.state !== undefined && ctx.runbook !== undefined);
      // A request let in before the state was there: its target is checked now, and an unknown one is not logged.
      if (ctx.patches.boundsRequests) {
        const unknown = refuseUnknownTarget(requestKind(kind), request, ctx.run);
        if (unknown !== undefined) throw refused(unknown);
      }
      const signature = checksSignature(ctx.book, request) ? request.signature : undefined;
      const target = (request as { gateId?: string; stepId?: string }).gateId ?? (request as { stepId?: string }).stepId;
      /**
       * Logs the refusal of this request (who it claimed to be, what for, why, and the key its signature named) and
       * answers with it. `verified`: whether the signature matched that key.
       */
      const logRefusal = async (why: string, verified: boolean): Promise<never> => {
        // Past the rate limit a person's refusals are answered, not logged: nobody fills the log in their name.
        if (ctx.patches.boundsRequests && !mayLogRefusal(ctx.run, request.by, Date.parse(ctx.now()))) throw refused(why);
        await ctx.decide({
          kind: 'refused',
          by: request.by,
          role: kind,
          ...(target ? { target } : {}),
          reason: why,
          at: ctx.now(),
          automatic: false,
          ...sentBy(),
          ...claimedKey(signature, verified),
        });
        throw refused(why);
      };
      if (signature) {
        if (!ctx.patches.logsRefusals) {
          const before = rule(request, Date.parse(at));
          if (before !== undefined) throw refused(before);
        }
        // The sandbox has no crypto: a local activity checks the signature with Node's.
        const text = signedText(ctx.input.runId, kind, request, signature.at, signature.nonce);
        if (!(await verifier.verifySignature(signatureCheck(text, signature)))) {
          // A forged or altered request is worth an entry in the log: who it claimed to be, what for, and why it was refused.
          await logRefusal(FORGED_REQUEST_REASON, false);
        }
      }
      // Checked again: another request may have changed the run (or used this nonce) meanwhile.
      const why = rule(request, Date.parse(at));
      if (why !== undefined) {
        if (signature && ctx.patches.logsRefusals) await logRefusal(why, true);
        throw refused(why);
      }
    })();
  }

  /**
   * Refuses a request whose handler runs after this execution took its hand-over checkpoint (executions from patch
   * refuses-handed-over): what it changed would not reach the next execution, yet it was answered as done. Checked with
   * nothing awaited before the change; the client sends it again (common/person-requests.ts).
   */
  private refuseHandedOver(): void {
    if (this.ctx.handedOver && this.ctx.refusesHandedOver)
      throw ApplicationFailure.create({ type: FAILURE_TYPE.requestRefused, message: HANDED_OVER_REASON, nonRetryable: true });
  }

  // ---- the handlers ------------------------------------------------------------------------------------------------
  // Each takes its time when the request arrives, before a signature check: the workflow time of the activation that
  // resolves a local activity is not the same when the run is replayed (a query on an ended run).

  /** An approver's go or no-go on an open gate; answers the gate after the vote. */
  async vote(request: VoteRequest, decision: 'approve' | 'reject'): Promise<GateState> {
    const { ctx } = this;
    const at = ctx.now();
    const checking = this.recheck(this.voteRule(decision), request, decision, at);
    if (checking) await checking;
    this.refuseHandedOver();
    const step = ctx.stepOf(request.gateId);
    const role = voteRole(this.bookAt(Date.parse(at)), step.gate!, request);
    const reason = request.reason?.trim() || undefined;
    step.gate = applyVote(step.gate!, {
      by: request.by,
      role,
      decision,
      at,
      automatic: request.automatic === true,
      ...(reason ? { reason } : {}),
    });
    await ctx.decide({
      kind: decision,
      by: request.by,
      role,
      target: request.gateId,
      at,
      automatic: request.automatic === true,
      ...(request.evidence ? { evidence: request.evidence } : {}),
      ...signatureFields(ctx.book, request),
      ...(reason ? { reason } : {}),
      ...sentBy(),
    });
    const gate = step.gate;
    if (checking) await oneTurn();
    return gate;
  }

  /** The owner marks a manual step, or a manual undo, done. */
  async markDone(request: ManualDoneRequest): Promise<StepState> {
    const { ctx } = this;
    const at = ctx.now();
    const checking = this.recheck(this.manualRule, request, 'complete_manual', at);
    if (checking) await checking;
    this.refuseHandedOver();
    const step = ctx.stepOf(request.stepId);
    const forward = step.status === 'waiting' && step.waitingFor === 'manual';
    // Both changes happen before anything is awaited, so a second `done` in the same moment
    // sees them and is refused by the validator.
    if (forward) step.completedBy = request.by;
    else step.backout = { ...step.backout!, status: 'succeeded', endedAt: at };
    const reason = request.reason?.trim() || undefined;
    await ctx.decide({
      kind: 'complete_manual',
      by: request.by,
      role: decisionRole(this.bookAt(Date.parse(at)), request.by, [step.owner]),
      target: forward ? step.id : `${step.id} (back-out)`,
      at,
      automatic: request.automatic === true,
      ...signatureFields(ctx.book, request),
      ...(reason ? { reason } : {}),
      ...sentBy(),
    });
    return step;
  }

  /** A person acknowledges a wait: kept with the step (which ends its escalation) and in the decision log. */
  async acknowledge(request: AcknowledgeRequest): Promise<StepState> {
    const { ctx } = this;
    const at = ctx.now();
    const checking = this.recheck(this.acknowledgeRule, request, 'acknowledge', at);
    if (checking) await checking;
    this.refuseHandedOver();
    const step = ctx.stepOf(request.stepId);
    // Kept before anything is awaited: a second acknowledgement by the same person in the same moment is refused.
    step.acks = [...(step.acks ?? []), { by: request.by, at, for: waitingOnPeople(step)! }];
    await ctx.decide({
      kind: 'acknowledge',
      by: request.by,
      role: decisionRole(this.bookAt(Date.parse(at)), request.by, [step.owner, ctx.book.lead]),
      target: step.id,
      at,
      automatic: false,
      ...signatureFields(ctx.book, request),
      ...sentBy(),
    });
    return step;
  }

  /** The lead backs the run out. */
  async backOut(request: BackoutRequest): Promise<BackoutState> {
    const { ctx } = this;
    const at = ctx.now();
    const checking = this.recheck(this.backoutRule, request, 'request_backout', at);
    if (checking) await checking;
    this.refuseHandedOver();
    await ctx.decide(
      {
        kind: 'request_backout',
        by: request.by,
        role: ctx.book.lead,
        reason: request.reason.trim(),
        at,
        automatic: false,
        ...signatureFields(ctx.book, request),
        ...sentBy(),
      },
      { apply: () => ctx.triggerBackout('requested', request.reason.trim(), request.by, at) },
    );
    return ctx.run.backout;
  }

  /** The lead resolves a failed step or undo: retry it, or record it done by hand. */
  async resolve(request: ResolveRequest): Promise<StepState> {
    const { ctx } = this;
    const at = ctx.now();
    const checking = this.recheck(this.resolveRule, request, 'resolve', at);
    if (checking) await checking;
    this.refuseHandedOver();
    const step = ctx.stepOf(request.stepId);
    const scope = step.resolution?.scope;
    const entry: Decision = {
      kind: 'resolve',
      by: request.by,
      role: ctx.book.lead,
      target: `${step.id}: ${request.action}${scope === 'backout' ? ' (back-out)' : ''}`,
      reason: request.reason.trim(),
      at,
      automatic: false,
      ...signatureFields(ctx.book, request),
      ...sentBy(),
    };
    if (request.action === 'done') step.completedBy = request.by;
    // Decided now, before anything is awaited: a second `resolve` or a racing `done` on the
    // undo is refused (nothing waits any more), so the undo cannot run twice. The decision is
    // part of the step's state, so it survives a hand-over to the next execution.
    step.resolution = { ...step.resolution!, decided: request.action };
    if (scope === 'backout') step.backout = { ...step.backout!, status: request.action === 'done' ? 'resolved' : 'running' };
    await ctx.decide(entry);
    return step;
  }
}

/**
 * Logs the lead's evidence override as the run's first decision, signature and all, once its signature is checked;
 * or logs its refusal and returns why the run does not start. Nothing has run yet either way.
 */
export async function decideOverride(ctx: RunContext, override: EvidenceOverride): Promise<string | undefined> {
  const at = ctx.now();
  const request = overrideRequest(override);
  const signature = override.signature;
  let why = refuseOverride(ctx.book, ctx.run, override, Date.now());
  let forged: RequestSignature | undefined;
  // The sandbox has no crypto: a local activity checks the signature with Node's.
  if (why === undefined && signature) {
    const text = signedText(ctx.input.runId, 'override', request, signature.at, signature.nonce);
    if (!(await verifier.verifySignature({ text, key: signature.key, value: signature.value }))) {
      why = FORGED_OVERRIDE_REASON;
      forged = signature;
    }
  }
  await ctx.decide(
    why === undefined
      ? {
          kind: 'override',
          by: override.by,
          role: ctx.book.lead,
          target: OVERRIDE_TARGET,
          reason: request.reason,
          at,
          automatic: false,
          signature,
          request,
        }
      : {
          kind: 'refused',
          by: override.by,
          role: 'override',
          target: OVERRIDE_TARGET,
          reason: why,
          at,
          automatic: false,
          ...claimedKey(forged, false),
        },
  );
  return why === undefined ? undefined : `the evidence override was refused: ${why}`;
}

/**
 * What a refusal logs of the signature it refused: the key it named, and whether it verified. An auditor reading
 * "refused" must tell a forged request (any key, proving nothing) from a person's own refused one. Executions from
 * before logged neither, and replay that way: the patch is evaluated only where such an entry is made.
 */
function claimedKey(signature: RequestSignature | undefined, verified: boolean): Pick<Decision, 'claimed'> {
  if (!signature || !patched(PATCHES.refusalClaimedKey.id)) return {};
  return { claimed: { key: signature.key, verified } };
}

/**
 * Logs that the run refused its own start (a live run without the evidence it needs and no override: the record
 * store's verdict, run/start-check.ts) and returns why it does not start. Nothing has run.
 */
export async function refuseStart(ctx: RunContext, why: string): Promise<string> {
  await ctx.decide({
    kind: 'refused',
    by: ctx.input.startedBy,
    role: 'start',
    target: OVERRIDE_TARGET,
    reason: why,
    at: ctx.now(),
    automatic: false,
  });
  return why;
}

/**
 * One microtask turn. A vote that waited for its check used to be answered one turn later than the other requests
 * (through `then`); the order of the commands an activation produces follows from such turns, and runs in flight
 * replay that order, so the votes keep it. It can go with the patch that makes an activation's commands independent
 * of the order of its jobs (issue 16).
 */
function oneTurn(): Promise<void> {
  return Promise.resolve();
}

/** The request kind whose field rules a signed kind follows. */
function requestKind(kind: SignedKind): RequestKind {
  return kind === 'approve' || kind === 'reject' ? 'vote' : (kind as Exclude<RequestKind, 'vote'>);
}

/** The Update carrying the request being handled, kept with its decision (its history entry names the sender). */
function sentBy(): { updateId?: string } {
  const id = currentUpdateInfo()?.id;
  return id ? { updateId: id } : {};
}

/** Turns a validator's refusal into the Update's rejection (it never enters history). */
function refuse(reason: string | undefined): void {
  if (reason !== undefined) throw new Error(reason);
}
