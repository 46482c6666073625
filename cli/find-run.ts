/**
 * A run's state, read from where it is true: the record store for a run that has ended, the workflow for one in
 * flight, and the store's last snapshot (said so) when Temporal cannot answer. `status`, `gate` and anything else
 * that shows one run read it through here, so the rule lives in one place.
 */
import type { RunDetail } from '../prisma/records.js';
import type { RunStore } from '../prisma/run-store.js';
import type { RunState } from '../runbook/run-state.js';
import { CutoverError, UnknownRunError } from './errors.js';
import { readRunState } from './read-run-state.js';
import type { Settings } from './settings.js';
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
  store: RunStore,
  whileConnected?: (session: TemporalSession, state: RunState) => Promise<void>,
): Promise<FoundRun> {
  const record = await store.findRun(runId);
  if (record?.endedAt && record.state) return { state: record.state, source: 'store', record };
  try {
    const session = await connectTemporal(settings, { startEmbedded: false, purpose: 'ask the run' });
    try {
      const { state } = await readRunState(session.client.workflow.getHandle(runId));
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
      state: record.state,
      source: 'store',
      record,
      note: `live state unavailable (${(err as Error).message.split(';')[0]}); showing what the record store has`,
    };
  }
}
