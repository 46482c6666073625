/**
 * Commands people use on a live run: `approve`, `reject`, `done`, `backout`, `resolve`.
 * Each is a workflow Update: the run checks who may do what and answers; a refusal is printed
 * as the run's own sentence and exits 7.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { RunStore } from '../prisma/store.js';
import {
  approveGateUpdate,
  completeManualStepUpdate,
  rejectGateUpdate,
  requestBackoutUpdate,
  resolveStepUpdate,
} from '../workflows/messages.js';
import { EXIT, RequestRefusedError, UnknownRunError } from './errors.js';
import type { Output } from './output.js';
import { readSettings } from './settings.js';
import { openRecordStore } from './store.js';
import { connectTemporal } from './temporal.js';

/**
 * Finds the live run `runId` and hands its workflow handle to `fn`. A run the record store
 * knows to have ended is refused here, without needing Temporal.
 */
async function withLiveRun<T>(runId: string, purpose: string, fn: (handle: WorkflowHandle) => Promise<T>): Promise<T> {
  const settings = readSettings();
  let store: RunStore | undefined;
  try {
    store = await openRecordStore(settings);
    const known = await store.findRun(runId);
    if (known?.endedAt) {
      throw new RequestRefusedError(`run ${runId} has already ended (${known.status}${known.outcome ? `: ${known.outcome}` : ''}); nothing to ${purpose}`);
    }
    if (!known && !settings.temporalAddress) throw new UnknownRunError(runId);
  } finally {
    await store?.close();
  }
  const session = await connectTemporal(settings, { startEmbedded: false, purpose });
  try {
    const handle = session.client.workflow.getHandle(runId);
    try {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') {
        throw new RequestRefusedError(`run ${runId} is not running any more (${description.status.name.toLowerCase()}); nothing to ${purpose}`);
      }
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new UnknownRunError(runId);
      throw err;
    }
    try {
      return await fn(handle);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const reason = err.cause?.message ?? err.message;
        throw new RequestRefusedError(`refused: ${reason}`);
      }
      throw err;
    }
  } finally {
    await session.close();
  }
}

export interface PersonOptions {
  as: string;
  reason?: string;
}

/** `cutover approve RUN GATE --as PERSON [--role ROLE] [--reason ...]` */
export async function approve(runId: string, gateId: string, options: PersonOptions & { role?: string }, out: Output): Promise<number> {
  const gate = await withLiveRun(runId, `approve ${gateId}`, (handle) =>
    handle.executeUpdate(approveGateUpdate, {
      args: [{ gateId, by: options.as, ...(options.role ? { role: options.role } : {}), ...(options.reason ? { reason: options.reason } : {}) }],
    }),
  );
  out.line(
    gate.status === 'approved'
      ? `${options.as} approved ${gateId}: the gate is approved, ${runId} goes on`
      : `${options.as} approved ${gateId}; still waiting for ${gate.awaiting.join(', ')}`,
  );
  return EXIT.ok;
}

/** `cutover reject RUN GATE --as PERSON --reason ...` */
export async function reject(runId: string, gateId: string, options: PersonOptions, out: Output): Promise<number> {
  await withLiveRun(runId, `reject ${gateId}`, (handle) =>
    handle.executeUpdate(rejectGateUpdate, { args: [{ gateId, by: options.as, reason: options.reason ?? '' }] }),
  );
  out.line(`${options.as} rejected ${gateId}: no-go, ${runId} backs out`);
  return EXIT.ok;
}

/** `cutover done RUN STEP --as PERSON` */
export async function markDone(runId: string, stepId: string, options: PersonOptions, out: Output): Promise<number> {
  await withLiveRun(runId, `mark ${stepId} done`, (handle) =>
    handle.executeUpdate(completeManualStepUpdate, {
      args: [{ stepId, by: options.as, ...(options.reason ? { reason: options.reason } : {}) }],
    }),
  );
  out.line(`${options.as} marked ${stepId} done`);
  return EXIT.ok;
}

/** `cutover backout RUN --as PERSON --reason ...` */
export async function backout(runId: string, options: PersonOptions, out: Output): Promise<number> {
  await withLiveRun(runId, 'back out', (handle) =>
    handle.executeUpdate(requestBackoutUpdate, { args: [{ by: options.as, reason: options.reason ?? '' }] }),
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
    handle.executeUpdate(resolveStepUpdate, { args: [{ stepId, by: options.as, action, reason: options.reason ?? '' }] }),
  );
  out.line(action === 'retry' ? `${options.as} retries ${stepId}` : `${options.as} recorded ${stepId} as done by hand`);
  return EXIT.ok;
}
