// The status page for the `web` benchmark, in a process of its own so that its memory is its own: wired as `cutover web`
// wires it (cli/serve-page.ts: the record store, live state and the live channels' queries through one Temporal client,
// the live re-forecast's model from the store), except that it counts the Temporal queries the channels send.
// Started with an IPC channel (child_process.fork); settings from the environment:
//   BENCH_WEB_TEMPORAL  host:port of the Temporal server;  BENCH_WEB_DATABASE_URL  the record store;
//   BENCH_WEB_POLL_MS   how often a watched run is read.
// Sends {type: 'ready', url}; answers {type: 'stats'} with {type: 'stats', queries, rssMb, maxRssMb}; {type: 'stop'} ends it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (p) => import(path.join(root, 'dist', p));

const { serveStatusPage } = await dist('web/server.js');
const { openRecordStore } = await dist('prisma/store.js');
const { runStepsQuery, runSummaryQuery } = await dist('workflows/messages.js');
const { readRunState } = await dist('common/read-run-state.js');
const { loadLiveModel } = await dist('timing/live-model-source.js');
const { parseRunbook } = await dist('runbook/parse.js');

const store = await openRecordStore({ databaseUrl: process.env.BENCH_WEB_DATABASE_URL });
const client = new Client({ connection: await Connection.connect({ address: process.env.BENCH_WEB_TEMPORAL }) });
let queries = 0;
const page = await serveStatusPage({
  port: 0,
  store,
  pollMs: Number(process.env.BENCH_WEB_POLL_MS),
  liveState: async (runId) => (await readRunState(client.workflow.getHandle(runId))).state,
  follow: (runId) => {
    const handle = client.workflow.getHandle(runId);
    return {
      summary: () => {
        queries += 1;
        return handle.query(runSummaryQuery);
      },
      page: (offset, limit) => {
        queries += 1;
        return handle.query(runStepsQuery, { offset, limit });
      },
    };
  },
  forecastModel: async (record) => {
    const parsed = parseRunbook(record.runbookSource, `${record.id} (recorded runbook)`);
    return parsed.ok ? loadLiveModel(store, parsed.runbook, record.versionHash) : undefined;
  },
});

process.on('message', async (message) => {
  if (message?.type === 'stats') {
    const mb = (bytes) => bytes / 1024 / 1024;
    // maxRSS is in kilobytes: the most this process has held since it started.
    process.send({ type: 'stats', queries, rssMb: mb(process.memoryUsage().rss), maxRssMb: process.resourceUsage().maxRSS / 1024 });
  } else if (message?.type === 'stop') {
    await page.close();
    await client.connection.close();
    await store.close();
    process.exit(0);
  }
});
// The benchmark ended without stopping it (killed, crashed): go too.
process.on('disconnect', () => process.exit(1));
process.send({ type: 'ready', url: page.url });
