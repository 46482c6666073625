/**
 * A person's request, signed on their device, forwarded to the run as it came (issue 19): the page server sends the
 * fields and signature it was given as the Update of the request's kind, and changes nothing (if it did, the run would
 * refuse it: the signature covers the fields). Resolves to the run's answer or its refusal in one sentence.
 */
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { HANDED_OVER_REASON, HYPERCARE_EXIT_ID, type Incident, type IncidentRequest } from '../run/hypercare.js';
import type { BackoutState, GateState, StepState } from '../run/state.js';
import {
  acknowledgeStepUpdate,
  approveGateUpdate,
  approveHypercareExitUpdate,
  changeIncidentUpdate,
  completeManualStepUpdate,
  rejectGateUpdate,
  rejectHypercareExitUpdate,
  requestBackoutUpdate,
  resolveStepUpdate,
} from '../workflows/messages.js';
import { answerSentence, type PersonRequest } from './person-requests.js';

/** The requests a person can sign on the page. */
export type PageRequestKind = 'approve' | 'reject' | 'complete_manual' | 'request_backout' | 'resolve' | 'acknowledge' | 'incident';

/** What the run answered: what it recorded in one sentence, or why it refused. */
export type ForwardOutcome = { recorded: true; sentence: string } | { recorded: false; refused: string };

/** Sends `fields` (with their signature) to the run behind `handle` as the Update of `kind`. */
export async function forwardSignedRequest(
  handle: WorkflowHandle,
  kind: PageRequestKind,
  fields: Record<string, unknown>,
): Promise<ForwardOutcome> {
  const as = String(fields.by);
  try {
    if (kind === 'complete_manual') {
      const answer: StepState = await handle.executeUpdate(completeManualStepUpdate, { args: [fields as never] });
      const request: PersonRequest = { kind: 'done', stepId: String(fields.stepId), as };
      return { recorded: true, sentence: answerSentence(request, answer, handle.workflowId) };
    }
    if (kind === 'acknowledge') {
      const answer: StepState = await handle.executeUpdate(acknowledgeStepUpdate, { args: [fields as never] });
      const request: PersonRequest = { kind: 'ack', stepId: String(fields.stepId), as };
      return { recorded: true, sentence: answerSentence(request, answer, handle.workflowId) };
    }
    if (kind === 'incident') {
      const answer = await changeIncident(handle, fields);
      const { by: _by, signature: _signature, ...change } = fields as unknown as IncidentRequest;
      const request: PersonRequest = { kind: 'incident', as, change };
      return { recorded: true, sentence: answerSentence(request, answer, handle.workflowId) };
    }
    if (kind === 'request_backout') {
      const answer: BackoutState = await handle.executeUpdate(requestBackoutUpdate, { args: [fields as never] });
      const request: PersonRequest = { kind: 'backout', as, reason: String(fields.reason ?? '') };
      return { recorded: true, sentence: answerSentence(request, answer, handle.workflowId) };
    }
    if (kind === 'resolve') {
      const answer: StepState = await handle.executeUpdate(resolveStepUpdate, { args: [fields as never] });
      const action = fields.action === 'retry' ? 'retry' : 'done';
      const request: PersonRequest = { kind: 'resolve', stepId: String(fields.stepId), action, as, reason: String(fields.reason ?? '') };
      return { recorded: true, sentence: answerSentence(request, answer, handle.workflowId) };
    }
    // The hypercare exit gate is decided through its own Updates, as `cutover approve RUN hypercare-exit` sends it.
    const exit = fields.gateId === HYPERCARE_EXIT_ID;
    const update =
      kind === 'approve' ? (exit ? approveHypercareExitUpdate : approveGateUpdate) : exit ? rejectHypercareExitUpdate : rejectGateUpdate;
    const answer: GateState = await handle.executeUpdate(update, { args: [fields as never] });
    const gateId = String(fields.gateId);
    const request: PersonRequest =
      kind === 'approve' ? { kind: 'approve', gateId, as } : { kind: 'reject', gateId, as, reason: String(fields.reason ?? '') };
    return { recorded: true, sentence: answerSentence(request, answer, handle.workflowId) };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) return { recorded: false, refused: error.cause?.message ?? error.message };
    throw error;
  }
}

/**
 * An incident request, sent once more when it met the moment the run handed over to its next execution (nothing was
 * recorded, so its nonce is unused and its signature still good), as `cutover incident` does.
 */
async function changeIncident(handle: WorkflowHandle, fields: Record<string, unknown>): Promise<Incident> {
  try {
    return await handle.executeUpdate(changeIncidentUpdate, { args: [fields as never] });
  } catch (error) {
    if (!(error instanceof WorkflowUpdateFailedError) || error.cause?.message !== HANDED_OVER_REASON) throw error;
    return await handle.executeUpdate(changeIncidentUpdate, { args: [fields as never] });
  }
}
