/**
 * A person's request, signed on their device, forwarded to the run as it came (issue 19): the page server sends the
 * fields and signature it was given as the Update of the request's kind, and changes nothing (if it did, the run would
 * refuse it: the signature covers the fields). Resolves to the run's answer or its refusal in one sentence.
 */
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { IncidentRequest } from '../run/hypercare.js';
import { answerSentence, sendFields, type PersonRequest } from './person-requests.js';

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
  const request = asPersonRequest(kind, fields);
  const gateId = 'gateId' in request ? request.gateId : undefined;
  try {
    const answer = await sendFields(handle, request.kind, gateId, fields);
    return { recorded: true, sentence: answerSentence(request, answer, handle.workflowId) };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) return { recorded: false, refused: error.cause?.message ?? error.message };
    throw error;
  }
}

/** The request the page's fields make, as the CLI would have made it (for the sentence that tells what was recorded). */
function asPersonRequest(kind: PageRequestKind, fields: Record<string, unknown>): PersonRequest {
  const as = String(fields.by);
  const reason = String(fields.reason ?? '');
  switch (kind) {
    case 'complete_manual':
      return { kind: 'done', stepId: String(fields.stepId), as };
    case 'acknowledge':
      return { kind: 'ack', stepId: String(fields.stepId), as };
    case 'incident': {
      const { by: _by, signature: _signature, ...change } = fields as unknown as IncidentRequest;
      return { kind: 'incident', as, change };
    }
    case 'request_backout':
      return { kind: 'backout', as, reason };
    case 'resolve':
      return { kind: 'resolve', stepId: String(fields.stepId), action: fields.action === 'retry' ? 'retry' : 'done', as, reason };
    case 'approve':
      return { kind: 'approve', gateId: String(fields.gateId), as };
    case 'reject':
      return { kind: 'reject', gateId: String(fields.gateId), as, reason };
  }
}
