/**
 * Commands people use on a live run: `approve`, `reject`, `done`, `backout`, `resolve`.
 * Each is a workflow Update: the run checks who may do what and answers; a refusal is printed
 * as the run's own sentence and exits 7. A run that does not answer within the deadline
 * (CUTOVER_UPDATE_TIMEOUT) is said so, exit 8: nobody waits forever at a terminal.
 */
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type WorkflowHandle,
} from '@temporalio/client';
import type { RunStore } from '../prisma/run-store.js';
import {
  approveGateUpdate,
  completeManualStepUpdate,
  rejectGateUpdate,
  requestBackoutUpdate,
  resolveStepUpdate,
} from '../workflows/messages.js';
import type { RequestSignature, SignedKind } from '../runbook/signed-request.js';
import { unmetRequirements } from '../runbook/transitions.js';
import { findSigningKey, signRequest } from './keys.js';
import { readRunState } from './read-run-state.js';
import { EnvironmentError, EXIT, NoAnswerError, RequestRefusedError, RunBusyError, UnknownRunError, UsageError } from './errors.js';
import type { Output } from './output.js';
import { readSettings } from './settings.js';
import { openRecordStore } from './store.js';
import { connectTemporal, grpcCode, isTooBusy } from './temporal.js';

/** How long a person waits for the run to answer, unless CUTOVER_UPDATE_TIMEOUT says otherwise. */
export const DEFAULT_UPDATE_TIMEOUT_MS = 30_000;
const DEADLINE_EXCEEDED = 4;

/**
 * The deadline of a decision, from CUTOVER_UPDATE_TIMEOUT (seconds). An Update is answered by the run's worker, so
 * with no worker polling (or a stalled record store behind it) it would otherwise wait forever.
 */
export function updateTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.CUTOVER_UPDATE_TIMEOUT?.trim();
  if (!given) return DEFAULT_UPDATE_TIMEOUT_MS;
  const seconds = Number(given);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(
      `CUTOVER_UPDATE_TIMEOUT wants a number of seconds greater than 0 (default ${DEFAULT_UPDATE_TIMEOUT_MS / 1000}), not \`${given}\``,
    );
  }
  return Math.round(seconds * 1000);
}

/**
 * Finds the live run `runId` and hands its workflow handle to `fn`. A run the record store
 * knows to have ended is refused here, without needing Temporal.
 */
async function withLiveRun<T>(runId: string, purpose: string, fn: (handle: WorkflowHandle) => Promise<T>): Promise<T> {
  const settings = readSettings();
  const timeoutMs = updateTimeoutMs();
  let store: RunStore | undefined;
  try {
    store = await openRecordStore(settings);
    const known = await store.findRun(runId);
    if (known?.endedAt) {
      throw new RequestRefusedError(
        `run ${runId} has already ended (${known.status}${known.outcome ? `: ${known.outcome}` : ''}); nothing to ${purpose}`,
      );
    }
    if (!known && !settings.temporalAddress) throw new UnknownRunError(runId);
  } finally {
    await store?.close();
  }
  const session = await connectTemporal(settings, { startEmbedded: false, purpose, failFastWhenBusy: true });
  try {
    const { client } = session;
    const handle = client.workflow.getHandle(runId);
    try {
      const description = await client.withDeadline(Date.now() + timeoutMs, () => handle.describe());
      if (description.status.name !== 'RUNNING') {
        throw new RequestRefusedError(
          `run ${runId} is not running any more (${description.status.name.toLowerCase()}); nothing to ${purpose}`,
        );
      }
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new UnknownRunError(runId);
      if (grpcCode(err) === DEADLINE_EXCEEDED) {
        throw new EnvironmentError(
          `Temporal at ${session.address} did not answer within ${timeoutMs / 1000} s, so cannot ${purpose}; check that it is up`,
        );
      }
      throw err;
    }
    try {
      // One deadline for the whole request, every call and retry in it included.
      return await client.withDeadline(Date.now() + timeoutMs, () => fn(handle));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const reason = err.cause?.message ?? err.message;
        throw new RequestRefusedError(`refused: ${reason}`);
      }
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || grpcCode(err) === DEADLINE_EXCEEDED) {
        throw new NoAnswerError(runId, timeoutMs);
      }
      // Temporal takes a limited number of Updates in flight per run (10 by default).
      if (isTooBusy(err)) throw new RunBusyError(runId, grpcDetail(err));
      throw err;
    }
  } finally {
    await session.close();
  }
}

/** Temporal's own words in a gRPC error, without the status prefix. */
function grpcDetail(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const details = (e as { details?: unknown }).details;
    if (typeof details === 'string' && details) return details;
  }
  return (err as Error).message;
}

/**
 * The request, signed with this person's key when they have one (`cutover keys init`): the run
 * checks it against the key its runbook lists for them. Without a key it goes unsigned, which a
 * rehearsal may accept and a live run refuses, saying what to do.
 */
export function signed<R extends object>(runId: string, kind: SignedKind, request: R): R & { signature?: RequestSignature } {
  const key = findSigningKey();
  return key ? { ...request, signature: signRequest(key, runId, kind, request) } : request;
}

export interface PersonOptions {
  as: string;
  reason?: string;
}

/**
 * The digest of the evidence gate `gateId` shows now, to vote on: the person decides on what
 * `cutover gate` shows them, and a vote on evidence that changed since is refused by the run.
 */
async function currentEvidence(handle: WorkflowHandle, gateId: string): Promise<string | undefined> {
  // A run answers queries through its worker: with none polling, the vote itself says what is wrong
  // (no answer in time, or too many requests in flight), so the look is given up after a moment.
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), EVIDENCE_LOOK_MS);
  });
  const looked = readRunState(handle).then(
    ({ state }) => state.steps[gateId]?.gate?.evidence?.digest,
    () => undefined,
  );
  try {
    return await Promise.race([looked, gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long a vote waits to read the gate's evidence before it is sent without it. */
const EVIDENCE_LOOK_MS = 5_000;

/** `cutover approve RUN GATE --as PERSON [--role ROLE] [--reason ...] [--evidence DIGEST]` */
export async function approve(
  runId: string,
  gateId: string,
  options: PersonOptions & { role?: string; evidence?: string },
  out: Output,
): Promise<number> {
  const gate = await withLiveRun(runId, `approve ${gateId}`, async (handle) => {
    const evidence = options.evidence ?? (await currentEvidence(handle, gateId));
    const request = signed(runId, 'approve', {
      gateId,
      by: options.as,
      ...(options.role ? { role: options.role } : {}),
      ...(options.reason ? { reason: options.reason } : {}),
      ...(evidence ? { evidence } : {}),
    });
    return handle.executeUpdate(approveGateUpdate, { args: [request] });
  });
  const needs = [...gate.awaiting, ...unmetRequirements(gate)];
  out.line(
    gate.status === 'approved'
      ? `${options.as} approved ${gateId}: the gate is approved, ${runId} goes on`
      : `${options.as} approved ${gateId}; still waiting for ${needs.join(', ')}`,
  );
  return EXIT.ok;
}

/** `cutover reject RUN GATE --as PERSON --reason ... [--evidence DIGEST]` */
export async function reject(runId: string, gateId: string, options: PersonOptions & { evidence?: string }, out: Output): Promise<number> {
  await withLiveRun(runId, `reject ${gateId}`, async (handle) => {
    const evidence = options.evidence ?? (await currentEvidence(handle, gateId));
    const request = signed(runId, 'reject', { gateId, by: options.as, reason: options.reason ?? '', ...(evidence ? { evidence } : {}) });
    return handle.executeUpdate(rejectGateUpdate, { args: [request] });
  });
  out.line(`${options.as} rejected ${gateId}: no-go, ${runId} backs out`);
  return EXIT.ok;
}

/** `cutover done RUN STEP --as PERSON` */
export async function markDone(runId: string, stepId: string, options: PersonOptions, out: Output): Promise<number> {
  await withLiveRun(runId, `mark ${stepId} done`, (handle) =>
    handle.executeUpdate(completeManualStepUpdate, {
      args: [signed(runId, 'complete_manual', { stepId, by: options.as, ...(options.reason ? { reason: options.reason } : {}) })],
    }),
  );
  out.line(`${options.as} marked ${stepId} done`);
  return EXIT.ok;
}

/** `cutover backout RUN --as PERSON --reason ...` */
export async function backout(runId: string, options: PersonOptions, out: Output): Promise<number> {
  await withLiveRun(runId, 'back out', (handle) =>
    handle.executeUpdate(requestBackoutUpdate, {
      args: [signed(runId, 'request_backout', { by: options.as, reason: options.reason ?? '' })],
    }),
  );
  out.line(`${options.as} requested back-out of ${runId}: running steps finish, then completed steps are undone in reverse order`);
  return EXIT.ok;
}

/** `cutover resolve RUN STEP --retry|--done --as PERSON --reason ...` */
export async function resolve(
  runId: string,
  stepId: string,
  action: 'retry' | 'done',
  options: PersonOptions,
  out: Output,
): Promise<number> {
  await withLiveRun(runId, `resolve ${stepId}`, (handle) =>
    handle.executeUpdate(resolveStepUpdate, {
      args: [signed(runId, 'resolve', { stepId, by: options.as, action, reason: options.reason ?? '' })],
    }),
  );
  out.line(action === 'retry' ? `${options.as} retries ${stepId}` : `${options.as} recorded ${stepId} as done by hand`);
  return EXIT.ok;
}
