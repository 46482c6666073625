/**
 * Pure rules of a run: the initial state, who may do what, and how a vote changes a gate.
 * The workflow calls these from its Update validators and handlers; the tests call them
 * without Temporal. No Node imports, no clock: callers pass `at` timestamps.
 */
import { durationMs } from '../runbook/duration.js';
import { effectiveDependencies, plannedSchedule } from '../runbook/graph.js';
import type {
  Decision,
  EvidenceOverride,
  GateState,
  LegacyRunInput,
  RunInput,
  RunMode,
  RunState,
  RunStatus,
  StepState,
  Vote,
} from './state.js';
import type { Gate, Runbook, Step } from '../runbook/schema.js';
import { refuseSignature, type RequestSignature } from './signed-request.js';

/** The people holding `role`, or none. */
export function peopleIn(runbook: Runbook, role: string): string[] {
  return runbook.roles[role] ?? [];
}

/** The people holding a role that owns one of `stepIds`: who may not approve a gate deciding on them. */
function selfApprovers(runbook: Runbook, stepIds: readonly string[]): string[] {
  const owners = new Set(
    runbook.phases
      .flatMap((phase) => phase.steps)
      .filter((step) => stepIds.includes(step.id))
      .map((step) => step.owner),
  );
  return [...new Set([...owners].flatMap((role) => peopleIn(runbook, role)))];
}

/** The roles `person` holds, in the order the runbook lists roles. */
export function rolesOf(runbook: Runbook, person: string): string[] {
  return Object.entries(runbook.roles)
    .filter(([, people]) => people.includes(person))
    .map(([role]) => role);
}

/** Every step with its phase, in runbook order. */
export function stepsInOrder(runbook: Runbook): Array<{ step: Step; phaseId: string; phaseKind: StepState['phaseKind'] }> {
  return runbook.phases.flatMap((phase) => phase.steps.map((step) => ({ step, phaseId: phase.id, phaseKind: phase.kind })));
}

/** How a step is treated in this mode: live runs run everything. */
export function treatmentOf(step: Step, mode: RunInput['mode']): StepState['treatment'] {
  return mode === 'live' ? 'run' : step.rehearsal;
}

/** The state of a run before its first step. */
export function initialRunState(
  input: Pick<LegacyRunInput, 'runId' | 'runbook' | 'versionHash' | 'mode' | 'startedBy'> & Partial<LegacyRunInput>,
  at: string,
): RunState {
  const { runbook } = input;
  const schedule = plannedSchedule(runbook);
  const deps = effectiveDependencies(runbook);
  const steps: Record<string, StepState> = {};
  const order: string[] = [];
  for (const { step, phaseId, phaseKind } of stepsInOrder(runbook)) {
    order.push(step.id);
    const planned = schedule.steps[step.id];
    steps[step.id] = {
      id: step.id,
      phaseId,
      phaseKind,
      title: step.title,
      owner: step.owner,
      kind: step.gate ? 'gate' : (step.action?.kind ?? 'manual'),
      dependsOn: deps[step.id] ?? [],
      status: 'pending',
      treatment: treatmentOf(step, input.mode),
      attempts: 0,
      plannedStartMs: planned?.startMs ?? 0,
      plannedDurationMs: planned?.durationMs ?? (step.expected ? durationMs(step.expected) : 0),
      checks: [],
      idempotencyKey: `${input.runId}/${step.id}`,
      ...(step.runs_on ? { runsOn: step.runs_on } : {}),
      ...(step.gate
        ? {
            gate: {
              approvers: [...step.gate.approvers],
              rule: step.gate.rule,
              ...(step.gate.question ? { question: step.gate.question } : {}),
              status: 'pending',
              votes: [],
              awaiting: [...step.gate.approvers],
              ...(step.gate.require
                ? {
                    require: step.gate.require.map((r) =>
                      'all_of' in r ? { at_least: r.all_of.length, of: [...r.all_of] } : { at_least: r.at_least, of: [...r.of] },
                    ),
                  }
                : {}),
              ...(step.gate.self_approval ? {} : { selfApprovers: selfApprovers(runbook, deps[step.id] ?? []) }),
            },
          }
        : {}),
    };
  }
  return {
    runId: input.runId,
    runbookName: runbook.name,
    runbookVersion: runbook.version,
    versionHash: input.versionHash,
    mode: input.mode,
    status: 'running',
    startedAt: at,
    startedBy: input.startedBy,
    order,
    steps,
    backout: { status: 'not_requested' },
    decisions: [],
  };
}

/** A step that no longer holds up the steps after it. */
export function isDone(step: StepState): boolean {
  return step.status === 'succeeded' || step.status === 'simulated' || step.status === 'skipped';
}

/** A step that will not change any more in the forward part of the run. */
export function isSettled(step: StepState): boolean {
  return isDone(step) || step.status === 'failed' || step.status === 'cancelled';
}

/** The run's status as people see it, from its steps and back-out. */
export function deriveRunStatus(state: RunState): RunStatus {
  if (state.status === 'completed' || state.status === 'backed_out' || state.status === 'failed') {
    return state.status;
  }
  // In hypercare the steps are done; the run waits for people while its exit gate is open.
  if (state.hypercare && state.hypercare.status !== 'exited') return state.hypercare.exit.status === 'open' ? 'waiting' : 'running';
  const steps = Object.values(state.steps);
  if (state.backout.status === 'running' || state.backout.status === 'waiting') {
    return steps.some((s) => s.backout?.status === 'waiting' || s.backout?.status === 'manual' || s.resolution) ? 'waiting' : 'backing_out';
  }
  return steps.some((s) => s.status === 'waiting') ? 'waiting' : 'running';
}

/** A request to vote on a gate. `role` picks one when the person holds several approver roles. */
export interface VoteRequest {
  /** The digest of the evidence the person decided on (`cutover gate` shows it); a vote on older evidence is refused. */
  evidence?: string;
  gateId: string;
  by: string;
  role?: string;
  reason?: string;
  automatic?: boolean;
  /** The person's signature of the request (see signed-request.ts). */
  signature?: RequestSignature;
}

/**
 * When a gate that opens at `openedAt` stops taking votes, or undefined without a `deadline`. In a
 * rehearsal, times on the night (`at`, and `after_window_start` from `window.start`) are moved so
 * the window starts when the rehearsal did: a rehearsal today rehearses the night's timing.
 */
export function gateClosesAt(gate: Gate, runbook: Runbook, mode: RunMode, runStartedAt: string, openedAt: string): string | undefined {
  const deadline = gate.deadline;
  if (!deadline) return undefined;
  if (deadline.after_opening !== undefined) return new Date(Date.parse(openedAt) + durationMs(deadline.after_opening)).toISOString();
  const windowStart = runbook.window?.start !== undefined ? Date.parse(runbook.window.start) : undefined;
  const night = mode === 'live' || windowStart === undefined ? 0 : Date.parse(runStartedAt) - windowStart;
  if (deadline.after_window_start !== undefined && windowStart !== undefined) {
    return new Date(windowStart + night + durationMs(deadline.after_window_start)).toISOString();
  }
  if (deadline.at !== undefined) return new Date(Date.parse(deadline.at) + night).toISOString();
  return undefined;
}

/**
 * The latest time a go still leaves room to back out inside the window: the window's end less the
 * back-out. That is the P90 back-out the forecast measured in rehearsals that backed out, when the
 * run was started with one (`measuredBackoutMs`, the same figure as `cutover forecast`'s latest safe
 * go/no-go), else the planned back-out (the expected durations of the steps that have an undo, one
 * after the other). In a rehearsal the window starts when the rehearsal did. Undefined without a window.
 */
export function pointOfNoReturn(
  runbook: Runbook,
  mode: RunMode,
  runStartedAt: string,
  measuredBackoutMs?: number,
): { at: string; windowEnd: string; backoutMs: number; backoutSource?: 'measured' } | undefined {
  const window = runbook.window;
  if (!window) return undefined;
  const start = mode === 'live' && window.start !== undefined ? Date.parse(window.start) : Date.parse(runStartedAt);
  const end = start + durationMs(window.length);
  const backoutMs = measuredBackoutMs ?? plannedBackoutMs(runbook);
  return {
    at: new Date(end - backoutMs).toISOString(),
    windowEnd: new Date(end).toISOString(),
    backoutMs,
    ...(measuredBackoutMs !== undefined ? { backoutSource: 'measured' as const } : {}),
  };
}

/**
 * The planned back-out: the expected durations of the steps that have an undo, one after the other, as the
 * back-out may have to run them in reverse. What the point of no return and the forecast use when no run has
 * measured a back-out.
 */
export function plannedBackoutMs(runbook: Pick<Runbook, 'phases'>): number {
  return runbook.phases
    .flatMap((phase) => phase.steps)
    .filter((step) => step.backout !== undefined)
    .reduce((sum, step) => sum + (step.expected ? durationMs(step.expected) : 0), 0);
}

/** Why `request` may not vote on its gate now, or undefined when it may. */
export function refuseVote(
  runbook: Runbook,
  state: RunState,
  request: VoteRequest,
  decision: Vote['decision'],
  /** The workflow's clock: a vote at or after the gate's deadline is refused even before the gate's timer fires. */
  nowMs?: number,
): string | undefined {
  const step = state.steps[request.gateId];
  if (!step?.gate) {
    const gates = state.order.filter((id) => state.steps[id]?.gate);
    return `there is no gate \`${request.gateId}\` in this run; gates: ${gates.join(', ') || 'none'}`;
  }
  const gate = step.gate;
  if (gate.status === 'pending') {
    const waitingOn = step.dependsOn.filter((id) => !isDone(state.steps[id]!));
    return `gate \`${request.gateId}\` is not open yet; it opens when ${waitingOn.join(', ') || 'its dependencies'} finish`;
  }
  if (
    gate.closedByDeadline ||
    (gate.status === 'open' && gate.closesAt !== undefined && nowMs !== undefined && nowMs >= Date.parse(gate.closesAt))
  ) {
    return `gate \`${request.gateId}\` closed at ${gate.closesAt} (its deadline) as ${gate.onDeadline ?? 'no-go'}; it takes no more votes`;
  }
  if (gate.status !== 'open') return `gate \`${request.gateId}\` is closed (${gate.status})`;
  if (state.backout.status !== 'not_requested') return `the run is backing out; gate \`${request.gateId}\` no longer decides anything`;
  if (decision === 'reject' && !request.reason?.trim()) return 'a rejection needs a reason (--reason)';
  const held = rolesOf(runbook, request.by).filter((role) => gate.approvers.includes(role));
  if (held.length === 0) {
    return `${request.by} may not vote on gate \`${request.gateId}\`: approvers are the roles ${gate.approvers.join(', ')}`;
  }
  if (decision === 'approve' && gate.selfApprovers?.includes(request.by)) {
    const owned = step.dependsOn.filter((id) => peopleIn(runbook, state.steps[id]?.owner ?? '').includes(request.by));
    return `${request.by} may not approve gate \`${request.gateId}\`: they own ${owned.join(', ')}, which it decides on, and the runbook says \`self_approval: false\` (they may still reject)`;
  }
  if (request.role !== undefined && !held.includes(request.role)) {
    return `${request.by} does not hold the approver role ${request.role} (holds ${held.join(', ')})`;
  }
  if (decision === 'approve' && gate.unmetCriteria && gate.unmetCriteria.length > 0) {
    return `gate \`${request.gateId}\` takes no approvals until its criteria are met: ${gate.unmetCriteria.join('; ')} (a no-go is still taken)`;
  }
  if (gate.evidence && request.evidence !== undefined && request.evidence !== gate.evidence.digest) {
    return `the evidence of gate \`${request.gateId}\` changed since you looked (you decided on ${request.evidence.slice(0, 12)}, it is now ${gate.evidence.digest.slice(0, 12)}): look again with \`cutover gate ${state.runId} ${request.gateId}\` and vote on what it shows`;
  }
  if (gate.evidence && request.signature && request.evidence === undefined) {
    return `a signed vote names the evidence it was cast on (\`evidence\`: its digest); \`cutover gate ${state.runId} ${request.gateId}\` shows it`;
  }
  if (gate.votes.some((vote) => vote.by === request.by)) {
    return `${request.by} has already voted on gate \`${request.gateId}\``;
  }
  return undefined;
}

/** The role a vote counts for: the one asked for, else the first approver role still awaited. */
export function voteRole(runbook: Runbook, gate: GateState, request: VoteRequest): string {
  if (request.role) return request.role;
  const held = rolesOf(runbook, request.by).filter((role) => gate.approvers.includes(role));
  return held.find((role) => gate.awaiting.includes(role)) ?? held[0]!;
}

/**
 * The gate after one more vote. One rejection closes the gate as rejected (a no-go from any
 * approver is a no-go); approvals close it when the rule is met.
 */
export function applyVote(gate: GateState, vote: Vote): GateState {
  const votes = [...gate.votes, vote];
  if (vote.decision === 'reject') {
    return { ...gate, votes, status: 'rejected', decidedAt: vote.at };
  }
  const approvedRoles = new Set(votes.filter((v) => v.decision === 'approve').map((v) => v.role));
  const awaiting = gate.rule === 'any' ? [] : gate.approvers.filter((role) => !approvedRoles.has(role));
  const done = awaiting.length === 0 && unmetRequirements({ ...gate, votes }).length === 0;
  return { ...gate, votes, awaiting, ...(done ? { status: 'approved' as const, decidedAt: vote.at } : {}) };
}

/** The gate's `require` entries its approvals do not meet yet, each as `2 of dana, erin, frank (1 so far)`. */
export function unmetRequirements(gate: Pick<GateState, 'require' | 'votes'>): string[] {
  const approvers = new Set(gate.votes.filter((v) => v.decision === 'approve').map((v) => v.by));
  return (gate.require ?? []).flatMap((r) => {
    const have = r.of.filter((person) => approvers.has(person)).length;
    if (have >= r.at_least) return [];
    const what = r.at_least === r.of.length ? `each of ${r.of.join(', ')}` : `${r.at_least} of ${r.of.join(', ')}`;
    return [`${what} (${have} so far)`];
  });
}

/** A request to mark a manual step (or a manual back-out) done. */
export interface ManualDoneRequest {
  stepId: string;
  by: string;
  reason?: string;
  automatic?: boolean;
  /** The person's signature of the request (see signed-request.ts). */
  signature?: RequestSignature;
}

/** Why `request` may not complete the manual step now, or undefined when it may. */
export function refuseManualDone(runbook: Runbook, state: RunState, request: ManualDoneRequest): string | undefined {
  const step = state.steps[request.stepId];
  if (!step) return `there is no step \`${request.stepId}\` in this run`;
  // `completedBy` is set by the first `done` at once, while the step still shows `waiting` until
  // the workflow moves on: a second `done` in the same moment must be refused, not counted twice.
  const waitingForward = step.status === 'waiting' && step.waitingFor === 'manual' && step.completedBy === undefined;
  // `manual` is a manual undo waiting for its owner. (`waiting` without a pending failure is how
  // the first workflow version marked the same thing; its runs still ask.)
  const waitingBackout = step.backout?.status === 'manual' || (step.backout?.status === 'waiting' && !step.resolution);
  if (!waitingForward && !waitingBackout) {
    if (step.completedBy !== undefined && step.waitingFor === 'manual') {
      return `step \`${request.stepId}\` was already marked done by ${step.completedBy}`;
    }
    return `step \`${request.stepId}\` is not waiting to be marked done (it is ${step.backout ? `being backed out: ${step.backout.status}` : step.status})`;
  }
  if (waitingForward && state.backout.status !== 'not_requested') {
    return `the run is backing out; step \`${request.stepId}\` is no longer wanted (it is cancelled)`;
  }
  if (!peopleIn(runbook, step.owner).includes(request.by)) {
    return `${request.by} does not hold the role ${step.owner} that owns step \`${request.stepId}\``;
  }
  return undefined;
}

/** A request by the lead to back the run out. */
export interface BackoutRequest {
  by: string;
  reason: string;
  /** The person's signature of the request (see signed-request.ts). */
  signature?: RequestSignature;
}

/**
 * Why the lead's evidence override may not start the run, or undefined when it may: it must come from a lead and
 * carry a reason, and (a live run takes only signed requests) be signed with the key the runbook lists for them.
 * The signature itself is checked after this, with Node's crypto.
 */
export function refuseOverride(runbook: Runbook, state: RunState, override: EvidenceOverride, nowMs: number): string | undefined {
  if (!peopleIn(runbook, runbook.lead).includes(override.by)) {
    return `${override.by} does not hold the lead role ${runbook.lead}; only the lead may go live without the rehearsal evidence`;
  }
  if (!override.reason?.trim()) return 'going live without the rehearsal evidence needs a reason';
  if (!override.signature) {
    return `the override is not signed, and a live run takes only signed requests: ${override.by} runs \`cutover keys init\` and the runbook lists their key under \`people\``;
  }
  return refuseSignature(runbook, 'live', state, override, nowMs);
}

/** Why `request` may not start a back-out now, or undefined when it may. */
export function refuseBackout(runbook: Runbook, state: RunState, request: BackoutRequest): string | undefined {
  if (!peopleIn(runbook, runbook.lead).includes(request.by)) {
    return `${request.by} does not hold the lead role ${runbook.lead}; only the lead may request a back-out`;
  }
  if (!request.reason?.trim()) return 'a back-out needs a reason (--reason)';
  if (state.backout.status !== 'not_requested') return `the run is already backing out (${state.backout.status})`;
  if (state.hypercare) return 'the run went live and is in hypercare: there is nothing left to back out; open an incident instead';
  if (state.status === 'completed' || state.status === 'backed_out' || state.status === 'failed') {
    return `the run has already ended (${state.status})`;
  }
  return undefined;
}

/** A decision on a step that failed: run it again, or record that a person did it by hand. */
export interface ResolveRequest {
  stepId: string;
  by: string;
  action: 'retry' | 'done';
  reason: string;
  /** The person's signature of the request (see signed-request.ts). */
  signature?: RequestSignature;
}

/** Why `request` may not resolve the step now, or undefined when it may. */
export function refuseResolve(runbook: Runbook, state: RunState, request: ResolveRequest): string | undefined {
  const step = state.steps[request.stepId];
  if (!step) return `there is no step \`${request.stepId}\` in this run`;
  if (!step.resolution) return `step \`${request.stepId}\` has no failure waiting to be resolved`;
  if (step.resolution.decided) return `step \`${request.stepId}\` was already resolved (${step.resolution.decided})`;
  if (step.resolution.scope === 'forward' && state.backout.status !== 'not_requested') {
    return `the run is backing out; step \`${request.stepId}\` will be undone, not retried`;
  }
  if (!peopleIn(runbook, runbook.lead).includes(request.by)) {
    return `${request.by} does not hold the lead role ${runbook.lead}; only the lead may resolve a failure`;
  }
  if (!request.reason?.trim()) return 'resolving a failure needs a reason (--reason)';
  return undefined;
}

/**
 * `automatic` says a request was cast by `rehearse --auto-approve`, not by a person: any client could claim it, so it
 * is believed only in a rehearsal started that way. Returns why such a request is refused, or nothing.
 */
export function refuseAutomatic(request: unknown, run: Pick<RunInput, 'runId' | 'mode' | 'autoApprove'>): string | undefined {
  return (request as { automatic?: unknown } | null)?.automatic === true && !(run.autoApprove === true && run.mode === 'rehearsal')
    ? `automatic requests are accepted only in rehearsals started with --auto-approve, and ${run.runId} was not; send it as a person (without "automatic")`
    : undefined;
}

/** The role a decision is recorded under: the first of the person's roles that allowed it. */
export function decisionRole(runbook: Runbook, by: string, preferred: string[]): string {
  const held = rolesOf(runbook, by);
  return preferred.find((role) => held.includes(role)) ?? held[0] ?? 'none';
}

/** Appends to the decision log; returns the entry's index (its idempotent record key). */
export function logDecision(state: RunState, decision: Decision): number {
  state.decisions.push(decision);
  return state.decisions.length - 1;
}
