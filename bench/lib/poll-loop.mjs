// The baseline of `npm run bench -- console`: the smallest program that follows a run as the console does, with
// none of its work: a stock Temporal client asking the run for its summary (the query the console polls) at the
// console's rate, reading nothing else and drawing nothing. No cutover code. Run as a process of its own beside the
// console, so the benchmark reads its CPU time the same way.
//
//   node poll-loop.mjs ADDRESS WORKFLOW_ID QUERY POLL_MS STATS_FILE
// Writes to STATS_FILE once a second, as the console does under CUTOVER_CONSOLE_STATS: the queries made, the JSON size
// of their answers, the run's `revision` in the latest answer (it grows with every change of the run), when each query
// was sent and answered (`answers`: [sent, answered] in ms since the epoch), and the time written (`at`).
import { renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';

const [address, workflowId, query, pollMs, statsFile] = process.argv.slice(2);
const connection = await Connection.connect({ address });
const handle = new Client({ connection }).workflow.getHandle(workflowId);
const stats = { queries: 0, bytes: 0, revision: undefined, answers: [], at: Date.now() };
let written = 0;
let stopped = false;
process.once('SIGTERM', () => (stopped = true));
while (!stopped) {
  try {
    const sent = Date.now();
    const answer = await handle.query(query);
    stats.answers.push([sent, Date.now()]);
    stats.queries += 1;
    stats.bytes += Buffer.byteLength(JSON.stringify(answer));
    stats.revision = answer.revision;
  } catch {
    // Not answered this time (a busy worker): asked again at the next turn, as the console does.
  }
  if (stats.revision !== undefined && Date.now() - written >= 1_000) {
    written = Date.now();
    // Whole or not at all: the benchmark may read it at any moment.
    writeFileSync(`${statsFile}.tmp`, JSON.stringify({ ...stats, at: written }));
    renameSync(`${statsFile}.tmp`, statsFile);
  }
  await sleep(Number(pollMs));
}
await connection.close();
