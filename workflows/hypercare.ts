/**
 * Hypercare on the run's own workflow: after the forward steps completed, a runbook whose `hypercare` has an `exit`
 * keeps its run going. People open, update and resolve incidents (signed Updates, logged in the decision log like
 * votes); the run raises each open incident's approaching-breach and breach markers at the minute they are due (a
 * durable timer), checks each KPI's freshness on its `repeat` (a stale one opens an incident for its owner, never a
 * back-out), and opens the exit gate while its criteria hold. The approvers' go ends the run. A weeks-long hypercare
 * hands over to a new execution like any long run (hand-over.ts): its state rides in the checkpoint.
 *
 * Deterministic: the workflow clock, timers through `condition`, activities for the checks.
 */
import { ApplicationFailure, condition, currentUpdateInfo, log, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { FAILURE_TYPE } from '../run/failures.js';
import {
  applyIncident,
  configTimes,
  incidentEntry,
  kpisDue,
  nextKpiAt,
  nextMarkerAt,
  openKpiIncident,
  raiseMarkers,
  refuseExitVote,
  refuseIncident,
  reviewExitGate,
  startHypercare,
  takeReading,
  unmetExitCriteria,
  HANDED_OVER_REASON,
  HYPERCARE_ACTOR,
  HYPERCARE_EXIT_ID,
  type HypercareState,
  type Incident,
  type IncidentRequest,
} from '../run/hypercare.js';
import { nextReconcileAt, reconcilesDue, startReconciles, takeDriftRound } from '../run/hypercare-drift.js';
import { refuseMalformedRequest, type RequestKind } from '../run/request-limits.js';
import {
  checksSignature,
  FORGED_REQUEST_REASON,
  isPasskeySignature,
  refuseSignature,
  signatureCheck,
  signatureFields,
  signedText,
  type SignedKind,
} from '../run/signed-request.js';
import type { GateState } from '../run/state.js';
import { applyVote, decisionRole, refuseAutomatic, voteRole, type VoteRequest } from '../run/transitions.js';
import { verifier } from './activity-calls.js';
import { approveHypercareExitUpdate, changeIncidentUpdate, rejectHypercareExitUpdate } from './messages.js';
import { PATCHES } from './patches.js';
import type { RunContext } from './run-context.js';

type Activities = ReturnType<typeof createActivities>;

/** A freshness check is a question: asked again a few times, then the KPI is reported as not telling. */
const freshness = proxyActivities<Activities>({ startToCloseTimeout: '2m', retry: { maximumAttempts: 3 } });

/** Registers the incident and exit-gate Updates; a run not in hypercare refuses them politely. */
export function registerHypercareRequests(ctx: RunContext): void {
  const refused = (why: string) => ApplicationFailure.create({ type: FAILURE_TYPE.requestRefused, message: why, nonRetryable: true });
  const door = (kind: RequestKind, request: { by: string; signature?: unknown; automatic?: boolean }, rule: () => string | undefined) => {
    if (ctx.state?.cancel) throw new Error('the run was cancelled through Temporal; it takes no more requests');
    const malformed = refuseMalformedRequest(kind, request) ?? refuseAutomatic(request, ctx.input);
    if (malformed) throw new Error(malformed);
    if (!ctx.state || !ctx.runbook) return;
    const why = refuseSignature(ctx.runbook, ctx.input.mode, ctx.state, request as never, Date.now()) ?? rule();
    if (why) throw new Error(why);
  };

  /** Waits for the state, checks the signature (a forged one is logged), and checks the rule again. */
  const recheck = async (kind: SignedKind, request: IncidentRequest | VoteRequest, rule: () => string | undefined, at: string) => {
    if (!ctx.state || !ctx.runbook) await condition(() => ctx.state !== undefined && ctx.runbook !== undefined);
    const signature = checksSignature(ctx.book, request) ? request.signature : undefined;
    if (signature) {
      const text = signedText(ctx.input.runId, kind, request, signature.at, signature.nonce);
      // A passkey's assertion is checked with its authenticator and client data (a request from the page); evaluated only
      // for passkey signatures, so runs whose incidents were signed with keys replay as they were.
      const check =
        isPasskeySignature(signature) && patched(PATCHES.passkeyHypercare.id)
          ? signatureCheck(text, signature)
          : { text, key: signature.key, value: signature.value };
      if (!(await verifier.verifySignature(check))) {
        await ctx.decide({
          kind: 'refused',
          by: request.by,
          role: kind,
          reason: FORGED_REQUEST_REASON,
          at,
          automatic: false,
          claimed: { key: signature.key, verified: false },
        });
        throw refused(FORGED_REQUEST_REASON);
      }
    }
    const why = refuseSignature(ctx.book, ctx.input.mode, ctx.run, request, Date.now()) ?? rule();
    if (why) throw refused(why);
    // Checked last, with nothing awaited before the change: the checkpoint the next execution got does not have it.
    if (ctx.handedOver) throw refused(HANDED_OVER_REASON);
  };

  const incidentRule = (request: IncidentRequest) => () => refuseIncident(ctx.book, ctx.run.hypercare, request);
  setHandler(
    changeIncidentUpdate,
    async (request): Promise<Incident> => {
      const at = ctx.now();
      await recheck('incident', request, incidentRule(request), at);
      const hypercare = ctx.run.hypercare!;
      const incident = applyIncident(hypercare, request, at);
      await ctx.decide({
        kind: 'incident',
        by: request.by,
        role: decisionRole(ctx.book, request.by, [incident.owner, ctx.book.lead]),
        ...incidentEntry(request, incident.id),
        at,
        automatic: false,
        ...signatureFields(ctx.book, request),
        ...sentBy(),
      });
      return { ...incident };
    },
    { validator: (request: IncidentRequest) => door('incident', request, () => refuseIncident(ctx.book, ctx.run.hypercare, request)) },
  );

  const vote = async (request: VoteRequest, decision: 'approve' | 'reject'): Promise<GateState> => {
    const at = ctx.now();
    const rule = () => refuseExitVote(ctx.book, ctx.run.hypercare, request, decision);
    await recheck(decision, request, rule, at);
    const hypercare = ctx.run.hypercare!;
    const role = voteRole(ctx.book, hypercare.exit, request);
    const reason = request.reason?.trim() || undefined;
    const after = applyVote(hypercare.exit, {
      by: request.by,
      role,
      decision,
      at,
      automatic: request.automatic === true,
      ...(reason ? { reason } : {}),
    });
    // A "not yet" drops the approvals given so far; the gate stays open while its criteria hold.
    hypercare.exit = decision === 'reject' ? { ...after, status: 'open', votes: [], awaiting: [...after.approvers] } : after;
    delete hypercare.exit.decidedAt;
    if (hypercare.exit.status === 'approved') hypercare.exit.decidedAt = at;
    hypercare.changes += 1;
    await ctx.decide({
      kind: decision,
      by: request.by,
      role,
      target: HYPERCARE_EXIT_ID,
      at,
      automatic: request.automatic === true,
      ...signatureFields(ctx.book, request),
      ...(reason ? { reason } : {}),
      ...sentBy(),
    });
    return hypercare.exit;
  };
  const voteDoor = (decision: 'approve' | 'reject') => (request: VoteRequest) =>
    door('vote', request, () => refuseExitVote(ctx.book, ctx.run.hypercare, request, decision));
  setHandler(approveHypercareExitUpdate, (request) => vote(request, 'approve'), { validator: voteDoor('approve') });
  setHandler(rejectHypercareExitUpdate, (request) => vote(request, 'reject'), { validator: voteDoor('reject') });
}

/**
 * Runs hypercare until its exit gate is approved (`exited`) or this execution has used its history budget
 * (`handover`: the next execution takes it up from the checkpoint).
 */
export async function runHypercare(ctx: RunContext): Promise<'exited' | 'handover'> {
  const run = ctx.run;
  if (!run.hypercare) {
    run.hypercare = startHypercare(ctx.book, ctx.now());
    log.info(`${ctx.input.runId} went live and is in hypercare until its exit gate is decided`);
  }
  const hypercare: HypercareState = run.hypercare;
  const times = configTimes(ctx.book);
  // Runs that tell people also send each marker as an event; evaluated only for them, so every other run replays as it was.
  const notices = ctx.notices && patched(PATCHES.hypercareNotices.id) ? ctx.notices : undefined;
  // Only runbooks with `hypercare.reconcile` evaluate it, so every other run replays as it was.
  const drift = (ctx.book.hypercare!.reconcile?.length ?? 0) > 0 && patched(PATCHES.hypercareDrift.id);
  if (drift) hypercare.reconciles ??= startReconciles(ctx.book);
  ctx.touch();
  for (;;) {
    // Each round moves the run on: an execution hands over only once it did something.
    ctx.progressed = true;
    await kpiRounds(ctx, hypercare);
    if (drift) await driftRounds(ctx, hypercare);
    const unmarked = notices ? markersDue(hypercare) : undefined;
    for (const incident of raiseMarkers(hypercare, times, Date.parse(ctx.now()))) {
      log.warn(
        `${incident.id} (sev${incident.severity}) ${incident.breachedAt ? 'breached its MTTR target' : 'is approaching its MTTR target'}`,
      );
      const targetMs = times.targets[incident.severity]!;
      if (notices && unmarked?.has(`${incident.id}:approaching`) && incident.approachingAt)
        notices.incidentMarker(incident, 'approaching', incident.approachingAt, targetMs);
      if (notices && unmarked?.has(`${incident.id}:breached`) && incident.breachedAt)
        notices.incidentMarker(incident, 'breached', incident.breachedAt, targetMs);
      ctx.touch();
    }
    if (reviewExitGate(hypercare, unmetExitCriteria(ctx.book, hypercare, Date.parse(ctx.now())), ctx.now())) ctx.touch();
    if (hypercare.exit.status === 'approved') {
      hypercare.status = 'exited';
      ctx.touch();
      return 'exited';
    }
    if (ctx.handOverDue()) return 'handover';
    const seen = hypercare.changes;
    const wakes = [
      nextKpiAt(ctx.book, hypercare),
      nextMarkerAt(hypercare, times),
      drift ? nextReconcileAt(ctx.book, hypercare) : undefined,
    ].filter((t): t is number => t !== undefined);
    const waitMs = wakes.length === 0 ? undefined : Math.min(...wakes) - Date.parse(ctx.now());
    if (waitMs === undefined) await condition(() => hypercare.changes !== seen);
    else if (waitMs > 0) await condition(() => hypercare.changes !== seen, waitMs);
  }
}

/** Checks the KPIs that are due, in parallel, and opens an incident for each that is stale. */
async function kpiRounds(ctx: RunContext, hypercare: HypercareState): Promise<void> {
  const due = kpisDue(ctx.book, hypercare, Date.parse(ctx.now()));
  if (due.length === 0) return;
  const kpis = ctx.book.hypercare!.kpis;
  const readings = await Promise.all(
    due.map((id) =>
      ctx.activity(() =>
        freshness
          .checkFreshness({
            runId: ctx.input.runId,
            kpi: kpis.find((k) => k.id === id)!,
            connections: ctx.book.connections,
            baseDir: ctx.input.baseDir,
          })
          .catch((err: unknown) => ({ kpiId: id, error: err instanceof Error ? err.message : String(err) })),
      ),
    ),
  );
  const at = ctx.now();
  for (const reading of readings) {
    const request = takeReading(ctx.book, hypercare, { ...reading, at });
    ctx.touch();
    if (!request || request.action !== 'open') continue;
    const incident = openKpiIncident(hypercare, reading.kpiId, request, at);
    // Logged like a person's incident, as the run's own (automatic: nobody signed it).
    await ctx.decide({ kind: 'incident', by: HYPERCARE_ACTOR, role: 'kpi', ...incidentEntry(request, incident.id), at, automatic: true });
  }
}

/** A comparison is slow work: a round may take up to its timeout, and one that cannot run is an answer, not a retry loop. */
const parallelRun = proxyActivities<Activities>({ startToCloseTimeout: '2h', retry: { maximumAttempts: 2 } });

/** Compares the parallel-run reconciliations that are due, in parallel, and keeps each round's drift. */
async function driftRounds(ctx: RunContext, hypercare: HypercareState): Promise<void> {
  const due = reconcilesDue(ctx.book, hypercare, Date.parse(ctx.now()));
  if (due.length === 0) return;
  const config = ctx.book.hypercare!.reconcile ?? [];
  const readings = await Promise.all(
    due.map((id) =>
      ctx.activity(() =>
        parallelRun
          .compareParallelRun({
            runId: ctx.input.runId,
            reconcile: config.find((r) => r.id === id)!,
            connections: ctx.book.connections,
            baseDir: ctx.input.baseDir,
          })
          .catch((err: unknown) => ({ reconcileId: id, error: err instanceof Error ? err.message : String(err) })),
      ),
    ),
  );
  const at = ctx.now();
  for (const reading of readings) {
    takeDriftRound(ctx.book, hypercare, { ...reading, at });
    ctx.touch();
  }
}

/** The markers not yet raised on open incidents, as `INC-1:approaching` and `INC-1:breached`. */
function markersDue(hypercare: HypercareState): Set<string> {
  const due = new Set<string>();
  for (const incident of hypercare.incidents) {
    if (incident.status !== 'open') continue;
    if (incident.approachingAt === undefined) due.add(`${incident.id}:approaching`);
    if (incident.breachedAt === undefined) due.add(`${incident.id}:breached`);
  }
  return due;
}

/** The Update carrying the request being handled, kept with its decision. */
function sentBy(): { updateId?: string } {
  const id = currentUpdateInfo()?.id;
  return id ? { updateId: id } : {};
}
