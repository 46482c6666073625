/**
 * The things a person asks of a run (approve, reject, done, ack, back-out, resolve, incidents), in one place: the Update each
 * becomes, the fields it carries (signed with the person's key when a signer is given), and the sentence that tells
 * the person what the run recorded. `cutover approve|reject|done|backout|resolve` and the console's keys both send
 * requests through here, so a change to a request is one edit.
 */
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { RequestSignature, SignedKind } from '../run/signed-request.js';
import type { BackoutState, GateState, StepState } from '../run/state.js';
import { unmetRequirements } from '../run/transitions.js';
import { formatDuration } from '../runbook/duration.js';
import { HANDED_OVER_REASON, HYPERCARE_EXIT_ID, type Incident, type IncidentRequest } from '../run/hypercare.js';
import {
  acknowledgeStepUpdate,
  approveHypercareExitUpdate,
  changeIncidentUpdate,
  rejectHypercareExitUpdate,
  approveGateUpdate,
  completeManualStepUpdate,
  rejectGateUpdate,
  requestBackoutUpdate,
  resolveStepUpdate,
} from '../workflows/messages.js';

/**
 * A request as a person makes it; `as` is who they say they are (the run checks it, and the signature). `automatic`
 * marks what `rehearse --auto-approve` casts in their name: only a rehearsal started that way accepts it.
 */
export type PersonRequest =
  | { kind: 'approve'; gateId: string; as: string; role?: string; reason?: string; evidence?: string; automatic?: boolean }
  | { kind: 'reject'; gateId: string; as: string; reason: string; evidence?: string }
  | { kind: 'done'; stepId: string; as: string; reason?: string; automatic?: boolean }
  /** "I am on it": a step or gate that waits for people, acknowledged (run/acknowledge.ts). */
  | { kind: 'ack'; stepId: string; as: string }
  | { kind: 'backout'; as: string; reason: string }
  | { kind: 'resolve'; stepId: string; action: 'retry' | 'done'; as: string; reason: string }
  /** A hypercare incident opened, updated or resolved (run/hypercare.ts). */
  | { kind: 'incident'; as: string; change: IncidentChange };

/** An incident request without who sends it: that is `as`. */
export type IncidentChange = DistributiveOmit<IncidentRequest, 'by' | 'signature'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What the run answers to each kind of request. */
export interface PersonAnswer {
  approve: GateState;
  reject: GateState;
  done: StepState;
  ack: StepState;
  backout: BackoutState;
  resolve: StepState;
  incident: Incident;
}

/**
 * Signs the fields of a request of `kind` (see run/signed-request.ts for what is covered), or gives nothing when the
 * person has no key: the request then goes unsigned, which a rehearsal may accept and a live run refuses.
 */
export type RequestSigner = (kind: SignedKind, fields: object) => RequestSignature | undefined;

/** The Update's argument: the request's fields as the run reads them, with the signature when there is one. */
export function requestFields(request: PersonRequest): { kind: SignedKind; fields: Record<string, unknown> } {
  const optional = (key: string, value: string | undefined) => (value ? { [key]: value } : {});
  const automatic = (value: boolean | undefined) => (value === true ? { automatic: true } : {});
  switch (request.kind) {
    case 'approve':
      return {
        kind: 'approve',
        fields: {
          gateId: request.gateId,
          by: request.as,
          ...optional('role', request.role),
          ...optional('reason', request.reason),
          ...optional('evidence', request.evidence),
          ...automatic(request.automatic),
        },
      };
    case 'reject':
      return {
        kind: 'reject',
        fields: { gateId: request.gateId, by: request.as, reason: request.reason, ...optional('evidence', request.evidence) },
      };
    case 'done':
      return {
        kind: 'complete_manual',
        fields: { stepId: request.stepId, by: request.as, ...optional('reason', request.reason), ...automatic(request.automatic) },
      };
    case 'ack':
      return { kind: 'acknowledge', fields: { stepId: request.stepId, by: request.as } };
    case 'backout':
      return { kind: 'request_backout', fields: { by: request.as, reason: request.reason } };
    case 'resolve':
      return { kind: 'resolve', fields: { stepId: request.stepId, by: request.as, action: request.action, reason: request.reason } };
    case 'incident': {
      // Fields in a fixed order with nothing undefined: what is signed is what is sent.
      const fields = Object.fromEntries(Object.entries(request.change).filter(([, v]) => v !== undefined));
      return { kind: 'incident', fields: { ...fields, by: request.as } };
    }
  }
}

/** The fields of `request` with its signature (when `sign` gives one): what the Update carries. */
export function signedFields(request: PersonRequest, sign?: RequestSigner): Record<string, unknown> {
  const { kind, fields } = requestFields(request);
  const signature = sign?.(kind, fields);
  return signature ? { ...fields, signature } : fields;
}

/**
 * Sends `request` to the run behind `handle` as its Update and resolves to the run's answer. A refusal rejects with
 * the SDK's `WorkflowUpdateFailedError` (its cause is the run's sentence); callers decide how to show it.
 */
export async function sendPersonRequest<K extends PersonRequest['kind']>(
  handle: WorkflowHandle,
  request: Extract<PersonRequest, { kind: K }>,
  sign?: RequestSigner,
): Promise<PersonAnswer[K]> {
  const gateId = 'gateId' in request ? request.gateId : undefined;
  return (await sendFields(handle, request.kind, gateId, signedFields(request, sign))) as PersonAnswer[K];
}

/**
 * Sends `fields` (built and signed for a request of `kind`) as that kind's Update, as they are: the page forwards what
 * a person signed on their device through here, the CLI and the console what they built. A request that met the moment
 * the run handed over to its next execution was not applied (its nonce is unused, its signature still good): it is sent
 * once more.
 */
export async function sendFields(
  handle: WorkflowHandle,
  kind: PersonRequest['kind'],
  gateId: string | undefined,
  fields: Record<string, unknown>,
): Promise<PersonAnswer[PersonRequest['kind']]> {
  // The casts only tell TypeScript which Update takes the fields: they were built for this kind.
  const once = () =>
    handle.executeUpdate<PersonAnswer[typeof kind], [never]>(updateFor(kind, gateId) as never, { args: [fields as never] });
  try {
    return await once();
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError) || err.cause?.message !== HANDED_OVER_REASON) throw err;
    return await once();
  }
}

/** The Update a request of `kind` becomes. The hypercare exit gate is decided like any gate, through its own (workflows/hypercare.ts). */
function updateFor(kind: PersonRequest['kind'], gateId: string | undefined) {
  const exitGate = gateId === HYPERCARE_EXIT_ID;
  switch (kind) {
    case 'approve':
      return exitGate ? approveHypercareExitUpdate : approveGateUpdate;
    case 'reject':
      return exitGate ? rejectHypercareExitUpdate : rejectGateUpdate;
    case 'incident':
      return changeIncidentUpdate;
    case 'done':
      return completeManualStepUpdate;
    case 'ack':
      return acknowledgeStepUpdate;
    case 'backout':
      return requestBackoutUpdate;
    case 'resolve':
      return resolveStepUpdate;
  }
}

/** What the run recorded, in one sentence for the person who asked (`runId` names the run). */
export function answerSentence(request: PersonRequest, answer: PersonAnswer[PersonRequest['kind']], runId: string): string {
  switch (request.kind) {
    case 'approve': {
      const gate = answer as GateState;
      const needs = [...gate.awaiting, ...unmetRequirements(gate)];
      if (request.gateId === HYPERCARE_EXIT_ID && gate.status === 'approved')
        return `${request.as} approved ${request.gateId}: hypercare is over, ${runId} ends`;
      return gate.status === 'approved'
        ? `${request.as} approved ${request.gateId}: the gate is approved, ${runId} goes on`
        : `${request.as} approved ${request.gateId}; still waiting for ${needs.join(', ')}`;
    }
    case 'reject':
      return request.gateId === HYPERCARE_EXIT_ID
        ? `${request.as} rejected ${request.gateId}: not yet, hypercare goes on (its approvals so far are dropped)`
        : `${request.as} rejected ${request.gateId}: no-go, ${runId} backs out`;
    case 'incident': {
      const incident = answer as Incident;
      const verb = { open: 'opened', update: 'updated', resolve: 'resolved' }[request.change.action];
      const took =
        incident.resolvedAt !== undefined
          ? ` after ${formatDuration(Date.parse(incident.resolvedAt) - Date.parse(incident.openedAt))}`
          : '';
      return `${request.as} ${verb} ${incident.id} (sev${incident.severity}, owner ${incident.owner})${took}: ${incident.title}`;
    }
    case 'done':
      return `${request.as} marked ${request.stepId} done`;
    case 'ack': {
      const step = answer as StepState;
      const others = (step.acks ?? []).filter((ack) => ack.by !== request.as).map((ack) => ack.by);
      return `${request.as} acknowledged ${request.stepId}: the run shows them on it and does not escalate it${others.length ? ` (also on it: ${others.join(', ')})` : ''}`;
    }
    case 'backout':
      return `${request.as} requested back-out of ${runId}: running steps finish, then completed steps are undone in reverse order`;
    case 'resolve':
      return request.action === 'retry'
        ? `${request.as} retries ${request.stepId}`
        : `${request.as} recorded ${request.stepId} as done by hand`;
  }
}

/** The gate or step a request is about, for messages that name it ("approve go-no-go"). */
export function requestPurpose(request: PersonRequest): string {
  switch (request.kind) {
    case 'approve':
      return `approve ${request.gateId}`;
    case 'reject':
      return `reject ${request.gateId}`;
    case 'done':
      return `mark ${request.stepId} done`;
    case 'ack':
      return `acknowledge ${request.stepId}`;
    case 'backout':
      return 'back out';
    case 'resolve':
      return `resolve ${request.stepId}`;
    case 'incident':
      return request.change.action === 'open' ? 'open an incident' : `${request.change.action} ${request.change.incidentId}`;
  }
}
