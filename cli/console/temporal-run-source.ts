/**
 * The console's {@link RunSource} for a real run: the summary and step pages through Temporal
 * queries, each with a short deadline so an unreachable Temporal shows as "reconnecting" within
 * seconds, and the record store for a run that ended while Temporal was away.
 *
 * With CUTOVER_CONSOLE_STATS=FILE it also counts what it reads (queries, and the JSON size of their
 * answers: the payload data Temporal sent, without gRPC framing), for `npm run bench -- console`.
 */
import { writeFileSync } from 'node:fs';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { RecordStore } from '../../prisma/record-store.js';
import type { RunState } from '../../run/state.js';
import { runChangesQuery, runStepsQuery, runSummaryQuery } from '../../workflows/messages.js';
import type { RunSource } from './run-poller.js';

/** How long one query may take before the console says it is reconnecting. */
const QUERY_DEADLINE_MS = 3_000;

/** What the console read, when CUTOVER_CONSOLE_STATS asks for it. */
export interface ReadStats {
  queries: number;
  bytes: number;
  since: number;
}

export function temporalRunSource(
  client: Client,
  handle: WorkflowHandle,
  store: RecordStore | undefined,
  statsFile: string | undefined = process.env.CUTOVER_CONSOLE_STATS,
): RunSource {
  const stats: ReadStats = { queries: 0, bytes: 0, since: Date.now() };
  let written = 0;
  const count = <T>(answer: T): T => {
    if (statsFile) {
      stats.queries += 1;
      stats.bytes += Buffer.byteLength(JSON.stringify(answer));
      // At most once a second: the file is read by a benchmark, not a log.
      if (Date.now() - written >= 1_000) {
        written = Date.now();
        writeFileSync(statsFile, JSON.stringify({ ...stats, at: written }));
      }
    }
    return answer;
  };
  const ask = <T>(fn: () => Promise<T>): Promise<T> => client.withDeadline(Date.now() + QUERY_DEADLINE_MS, fn).then(count);
  return {
    summary: () => ask(() => handle.query(runSummaryQuery)),
    page: (offset, limit) => ask(() => handle.query(runStepsQuery, { offset, limit })),
    changes: (since) => ask(() => handle.query(runChangesQuery, since)),
    recorded: async (): Promise<RunState | null> => {
      if (!store) return null;
      const run = await store.findRun(handle.workflowId);
      return run?.endedAt ? run.state : null;
    },
  };
}
