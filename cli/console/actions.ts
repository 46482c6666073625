/**
 * What the console sends on a person's behalf: the same requests, signed the same way (with the person's key when
 * they have one), as `cutover approve|reject|done|backout|resolve` (common/person-requests.ts). A refusal is the
 * run's own sentence, shown in the console; nothing is retried behind the person's back.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { answerSentence, type PersonRequest } from '../../common/person-requests.js';
import { NoAnswerError, RequestRefusedError, RunBusyError } from '../errors.js';
import { deliverRequest, signer, updateTimeoutMs } from '../send-request.js';

/** A request a person makes from the console. */
export type ConsoleAction = PersonRequest;

/** The answer, as one line for the console. */
export interface ActionOutcome {
  ok: boolean;
  message: string;
}

/** Sends `action` to run `runId` and says how it went; never throws. */
export async function sendAction(handle: WorkflowHandle, action: ConsoleAction): Promise<ActionOutcome> {
  const runId = handle.workflowId;
  try {
    const timeoutMs = updateTimeoutMs();
    // The key is read (and its passphrase asked of the environment) before anything is sent. For a vote, the evidence
    // is what the console showed the person: a vote on evidence that changed since is refused.
    const sign = signer(runId);
    const answer = await deliverRequest(handle, action, { timeoutMs, sign });
    return { ok: true, message: answerSentence(action, answer, runId) };
  } catch (err) {
    // The same request and errors as `cutover approve`..., in the console's words.
    if (err instanceof RequestRefusedError) return { ok: false, message: err.message };
    if (err instanceof NoAnswerError) {
      return {
        ok: false,
        message: `no answer from the run within ${err.timeoutMs / 1000} s; the request may still apply: watch the screen`,
      };
    }
    if (err instanceof RunBusyError) return { ok: false, message: 'the run has too many requests in flight; try again in a moment' };
    return { ok: false, message: `could not send: ${String((err as Error)?.message ?? err).split('\n')[0]}` };
  }
}
