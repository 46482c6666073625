/**
 * Acknowledgements (issue 20): a person says "I am on it" for a step or gate that waits for people, and the run keeps
 * who and when; a wait nobody acknowledges within its `ack_within` escalates, to the deputies of the roles that must
 * act, then to the lead. Who may acknowledge, what a wait's roles are and when it escalates are decided here. Pure:
 * the workflow bundle imports it.
 */
import { durationMs } from '../runbook/duration.js';
import type { Runbook, Step } from '../runbook/schema.js';
import type { RequestSignature } from './signed-request.js';
import type { RunState, StepState, WaitingFor } from './state.js';

/** A person acknowledges a step or gate that waits for people. */
export interface AcknowledgeRequest {
  stepId: string;
  by: string;
  /** The person's signature of the request (see signed-request.ts). */
  signature?: RequestSignature;
}

/** One acknowledgement the run keeps with its step. */
export interface Acknowledgement {
  by: string;
  at: string;
  /** What the step waited for when it was acknowledged. */
  for: WaitingFor;
}

/** What a step waits for people for, or undefined when it waits for nobody. */
export function waitingOnPeople(step: StepState): WaitingFor | undefined {
  if (step.status !== 'waiting' && step.status !== 'failed') return undefined;
  if (step.waitingFor === 'manual' && step.completedBy !== undefined) return undefined;
  return step.waitingFor;
}

/** The roles that must act on a step's wait: a gate's approvers, a manual step's owner, the lead for a failure. */
export function rolesActing(runbook: Runbook, step: StepState, waiting: WaitingFor): string[] {
  if (waiting === 'resolution') return [runbook.lead];
  if (waiting === 'approval' && step.gate) return step.gate.approvers.filter((name) => runbook.roles[name] !== undefined);
  return [step.owner];
}

/** The deputies of `roles`, without the people who hold them. */
export function deputiesOf(runbook: Runbook, roles: readonly string[]): string[] {
  const holders = new Set(roles.flatMap((role) => runbook.roles[role] ?? []));
  return [...new Set(roles.flatMap((role) => runbook.deputies?.[role] ?? []))].filter((person) => !holders.has(person));
}

/** Who may acknowledge a wait: the holders of the roles acting (and gate approvers named as people), their deputies, the lead. */
export function mayAcknowledge(runbook: Runbook, step: StepState, waiting: WaitingFor): string[] {
  const roles = rolesActing(runbook, step, waiting);
  const named = waiting === 'approval' && step.gate ? step.gate.approvers.filter((name) => runbook.roles[name] === undefined) : [];
  const onRota = (runbook.rota ?? []).filter((shift) => roles.includes(shift.role)).map((shift) => shift.person);
  return [
    ...new Set([
      ...roles.flatMap((role) => runbook.roles[role] ?? []),
      ...named,
      ...onRota,
      ...deputiesOf(runbook, roles),
      ...(runbook.roles[runbook.lead] ?? []),
    ]),
  ];
}

/** Why `request` may not acknowledge, or undefined when it may. */
export function refuseAcknowledge(runbook: Runbook, state: Pick<RunState, 'steps'>, request: AcknowledgeRequest): string | undefined {
  const step = Object.hasOwn(state.steps, request.stepId) ? state.steps[request.stepId] : undefined;
  if (!step) return `there is no step \`${request.stepId}\` in this run`;
  const waiting = waitingOnPeople(step);
  if (waiting === undefined)
    return `step \`${request.stepId}\` is not waiting for a person (it is ${step.status}); acknowledge a manual step, a gate or a failure while it waits`;
  const earlier = step.acks?.find((ack) => ack.by === request.by && ack.for === waiting);
  if (earlier) return `${request.by} already acknowledged \`${request.stepId}\` at ${earlier.at}`;
  if (!mayAcknowledge(runbook, step, waiting).includes(request.by))
    return `${request.by} may not acknowledge \`${request.stepId}\`: it waits for ${rolesActing(runbook, step, waiting).join(', ')}, their deputies or the lead`;
  return undefined;
}

/** How long a step's wait may go unacknowledged before it escalates, or undefined when it never does. */
export function ackWithinMs(runbook: Runbook, def: Pick<Step, 'ack_within' | 'gate' | 'action'>): number | undefined {
  if (!def.gate && def.action?.kind !== 'manual') return undefined;
  const text = def.ack_within ?? runbook.notifications?.ack_within;
  return text === undefined ? undefined : durationMs(text);
}

/** The two escalations of a wait: to the deputies after one `ack_within`, to the lead after two. */
export const ESCALATIONS = [
  { to: 'deputy', after: 1 },
  { to: 'lead', after: 2 },
] as const;
