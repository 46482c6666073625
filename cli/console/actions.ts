/**
 * What the console sends on a person's behalf: the same requests, signed the same way (with the person's key when
 * they have one), as `cutover approve|reject|done|backout|resolve` (common/person-requests.ts). A refusal is the
 * run's own sentence, shown in the console; nothing is retried behind the person's back.
 */
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { answerSentence, sendPersonRequest, type PersonRequest } from '../../common/person-requests.js';
import { signer, updateTimeoutMs } from '../send-request.js';
import { isNoAnswer, isTooBusy } from '../temporal.js';

/** A request a person makes from the console. */
export type ConsoleAction = PersonRequest;

/** The answer, as one line for the console. */
export interface ActionOutcome {
  ok: boolean;
  message: string;
}

/** Sends `action` to run `runId` and says how it went; never throws. */
export async function sendAction(client: Client, handle: WorkflowHandle, action: ConsoleAction): Promise<ActionOutcome> {
  const runId = handle.workflowId;
  const timeoutMs = updateTimeoutMs();
  try {
    // The key is read (and its passphrase asked of the environment) before anything is sent. For a vote, the evidence
    // is what the console showed the person: a vote on evidence that changed since is refused.
    const sign = signer(runId);
    const answer = await client.withDeadline(Date.now() + timeoutMs, () => sendPersonRequest(handle, action, sign));
    return { ok: true, message: answerSentence(action, answer, runId) };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return { ok: false, message: `refused: ${err.cause?.message ?? err.message}` };
    if (isNoAnswer(err)) {
      return { ok: false, message: `no answer from the run within ${timeoutMs / 1000} s; the request may still apply: watch the screen` };
    }
    if (isTooBusy(err)) return { ok: false, message: 'the run has too many requests in flight; try again in a moment' };
    return { ok: false, message: `could not send: ${String((err as Error)?.message ?? err).split('\n')[0]}` };
  }
}
