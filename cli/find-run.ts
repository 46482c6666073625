/**
 * A run's state, read from where it is true: the record store for a run that has ended, the workflow for one in
 * flight, and the store's last snapshot (said so) when Temporal cannot answer. `status`, `gate` and anything else
 * that shows one run read it through here, so the rule lives in one place.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { RunDetail } from '../prisma/records.js';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { STEP_STATUS, type RunState, type StepState } from '../run/state.js';
import { CutoverError, UnknownRunError } from './errors.js';
import { readRunState } from '../common/read-run-state.js';
import { readSettings, type Settings } from './settings.js';
import { connectTemporal, type TemporalSession } from './temporal.js';

export interface FoundRun {
  state: RunState;
  /** Where `state` came from. */
  source: 'temporal' | 'store';
  /** What the record store has of the run, when it has it. */
  record: RunDetail | null;
  /** Why a run in flight is shown from the record store: Temporal did not answer. */
  note?: string;
}

/**
 * Reads run `runId`. `whileConnected` may read more from Temporal with the same session (it runs only when the
 * state came from there; what it throws is treated as Temporal not answering). @throws UnknownRunError
 */
export async function findRun(
  runId: string,
  settings: Settings,
  store: RecordStore,
  whileConnected?: (session: TemporalSession, state: RunState) => Promise<void>,
): Promise<FoundRun> {
  const record = await store.findRun(runId);
  if (record?.endedAt && record.state) return { state: record.state, source: 'store', record };
  try {
    const session = await connectTemporal(settings, { startEmbedded: false, purpose: 'ask the run' });
    try {
      const handle = session.client.workflow.getHandle(runId);
      const state = await endedByTemporal(handle, (await readRunState(handle)).state);
      await whileConnected?.(session, state);
      return { state, source: 'temporal', record };
    } finally {
      await session.close();
    }
  } catch (err) {
    if (!record) {
      if (err instanceof CutoverError || (err as Error).name === 'WorkflowNotFoundError') throw new UnknownRunError(runId);
      throw err;
    }
    if (!record.state) throw new UnknownRunError(runId);
    return {
      // The snapshot of a run in flight is from its last gate opening or closing (or start, or back-out); the attempts
      // recorded since bring it on.
      state: withRecordedProgress(record.state, record),
      source: 'store',
      record,
      note: `live state unavailable (${(err as Error).message.split(';')[0]}); showing what the record store has`,
    };
  }
}

/**
 * A run whose workflow Temporal closed without the run ending it (a failure the workflow raised, a bug, a terminate, a
 * timeout) is shown failed, with Temporal's reason: the state its queries still answer says it is running, and the
 * record store never heard of the end. The reason is read through the client, so with CUTOVER_PAYLOAD_KEY it is
 * decrypted like everything else.
 */
async function endedByTemporal(handle: WorkflowHandle, state: RunState): Promise<RunState> {
  if (state.status === 'completed' || state.status === 'backed_out' || state.status === 'failed') return state;
  const { status, closeTime } = await handle.describe();
  if (status.name === 'RUNNING' || status.name === 'CONTINUED_AS_NEW' || status.name === 'COMPLETED') return state;
  const why = await handle.result().then(
    () => undefined,
    (err: unknown) => (err instanceof WorkflowFailedError ? (err.cause?.message ?? err.message) : (err as Error).message),
  );
  const how = status.name === 'TERMINATED' ? 'terminated' : status.name === 'TIMED_OUT' ? 'timed out' : 'failed';
  return {
    ...state,
    status: 'failed',
    outcome: `${how} in Temporal${why ? `: ${why}` : ''}`,
    ...(closeTime ? { endedAt: closeTime.toISOString() } : {}),
  };
}

/** Run `runId` as {@link findRun} reads it, with this process's settings and a record store opened for the read. */
export async function readRun(runId: string): Promise<FoundRun> {
  const settings = readSettings();
  const store = await openRecordStore(settings);
  try {
    return await findRun(runId, settings, store);
  } finally {
    await store.close();
  }
}

/**
 * The last state snapshot brought up to date with what the store recorded since: step
 * attempts (written by the activities as they ran) and decisions. Used when the run is in
 * flight but Temporal cannot be asked.
 */
export function withRecordedProgress(snapshot: RunState, record: RunDetail): RunState {
  const state: RunState = structuredClone(snapshot);
  const forward = new Set<string>(Object.values(STEP_STATUS));
  for (const row of record.steps) {
    const step = state.steps[row.stepId];
    if (!step) continue;
    if (row.purpose === 'forward') {
      if (row.attempt < step.attempts) continue;
      if (step.attempts === 0 || !step.startedAt) step.startedAt = row.startedAt ?? undefined;
      step.attempts = row.attempt;
      if (forward.has(row.status)) step.status = row.status as StepState['status'];
      step.endedAt = row.endedAt ?? undefined;
      step.error = row.error ?? undefined;
    } else {
      step.backout = {
        status: row.status as NonNullable<StepState['backout']>['status'],
        attempts: row.attempt,
        ...(row.startedAt ? { startedAt: row.startedAt } : {}),
        ...(row.endedAt ? { endedAt: row.endedAt } : {}),
        ...(row.error ? { error: row.error } : {}),
      };
    }
  }
  if (record.decisions.length > state.decisions.length) {
    state.decisions = record.decisions.map(({ seq: _seq, ...decision }) => decision);
  }
  return state;
}
