/**
 * What the console sends on a person's behalf: the same Updates, signed the same way (with the
 * person's key when they have one), as `cutover approve|reject|done|backout|resolve`. A refusal is
 * the run's own sentence, shown in the console; nothing is retried behind the person's back.
 */
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  approveGateUpdate,
  completeManualStepUpdate,
  rejectGateUpdate,
  requestBackoutUpdate,
  resolveStepUpdate,
} from '../../workflows/messages.js';
import { unmetRequirements } from '../../run/transitions.js';
import { signer, updateTimeoutMs } from '../decision-commands.js';
import { isNoAnswer, isTooBusy } from '../temporal.js';

/** A request a person makes from the console. */
export type ConsoleAction =
  | { kind: 'approve'; gateId: string; as: string; reason?: string; evidence?: string }
  | { kind: 'reject'; gateId: string; as: string; reason: string; evidence?: string }
  | { kind: 'done'; stepId: string; as: string; reason?: string }
  | { kind: 'backout'; as: string; reason: string }
  | { kind: 'resolve'; stepId: string; action: 'retry' | 'done'; as: string; reason: string };

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
    // The key is read (and its passphrase asked of the environment) before anything is sent.
    const signed = signer(runId);
    return await client.withDeadline(Date.now() + timeoutMs, async () => {
      switch (action.kind) {
        case 'approve': {
          // The evidence is what the console showed the person: a vote on evidence that changed since is refused.
          const gate = await handle.executeUpdate(approveGateUpdate, {
            args: [
              signed('approve', {
                gateId: action.gateId,
                by: action.as,
                ...(action.reason ? { reason: action.reason } : {}),
                ...(action.evidence ? { evidence: action.evidence } : {}),
              }),
            ],
          });
          const needs = [...gate.awaiting, ...unmetRequirements(gate)];
          return {
            ok: true,
            message:
              gate.status === 'approved'
                ? `${action.as} approved ${action.gateId}: the gate is approved, the run goes on`
                : `${action.as} approved ${action.gateId}; still waiting for ${needs.join(', ')}`,
          };
        }
        case 'reject':
          await handle.executeUpdate(rejectGateUpdate, {
            args: [
              signed('reject', {
                gateId: action.gateId,
                by: action.as,
                reason: action.reason,
                ...(action.evidence ? { evidence: action.evidence } : {}),
              }),
            ],
          });
          return { ok: true, message: `${action.as} rejected ${action.gateId}: no-go, the run backs out` };
        case 'done':
          await handle.executeUpdate(completeManualStepUpdate, {
            args: [
              signed('complete_manual', {
                stepId: action.stepId,
                by: action.as,
                ...(action.reason ? { reason: action.reason } : {}),
              }),
            ],
          });
          return { ok: true, message: `${action.as} marked ${action.stepId} done` };
        case 'backout':
          await handle.executeUpdate(requestBackoutUpdate, {
            args: [signed('request_backout', { by: action.as, reason: action.reason })],
          });
          return {
            ok: true,
            message: `${action.as} requested back-out: running steps finish, then completed steps are undone in reverse order`,
          };
        case 'resolve':
          await handle.executeUpdate(resolveStepUpdate, {
            args: [signed('resolve', { stepId: action.stepId, by: action.as, action: action.action, reason: action.reason })],
          });
          return {
            ok: true,
            message:
              action.action === 'retry'
                ? `${action.as} retries ${action.stepId}`
                : `${action.as} recorded ${action.stepId} as done by hand`,
          };
      }
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return { ok: false, message: `refused: ${err.cause?.message ?? err.message}` };
    if (isNoAnswer(err)) {
      return { ok: false, message: `no answer from the run within ${timeoutMs / 1000} s; the request may still apply: watch the screen` };
    }
    if (isTooBusy(err)) return { ok: false, message: 'the run has too many requests in flight; try again in a moment' };
    return { ok: false, message: `could not send: ${String((err as Error)?.message ?? err).split('\n')[0]}` };
  }
}
