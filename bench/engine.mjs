// engine: a 500-step no-op runbook through cutover's engine vs a bare workflow running 500
// no-op activities, on the same Temporal dev server, in one run. Prints the wall-time ratio and
// the history-event ratio. Targets: at most 1.25x and 1.1x.
//
// "Through cutover" means the real path of a rehearsal: the runbook parsed and validated, the
// run reserved in the record store (SQLite through Prisma), the run workflow with its state,
// and every step recorded by its activity. Both sides run sequential chains, alternating, and
// the median of the repetitions counts (the machines are shared and noisy).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(root, 'dist', p));

const STEPS = Number(process.env.BENCH_STEPS ?? 500);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const TARGETS = { wall: 1.25, events: 1.1 };

function chainRunbook(name, steps) {
  const lines = [`name: ${name}`, 'version: 1', 'lead: lead', 'roles: { lead: [alice] }', 'phases:', '  - id: all', '    kind: migration', '    steps:'];
  for (let i = 0; i < steps; i += 1) {
    lines.push(`      - { id: s${i}, title: Step ${i}, owner: lead, expected: 0s, ${i > 0 ? `depends_on: [s${i - 1}], ` : ''}action: { kind: simulate, duration: 0s } }`);
  }
  return `${lines.join('\n')}\n`;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function main() {
  const { findTemporalCli, startDevServer } = await dist('cli/temporal-server.js');
  const { openStore } = await dist('prisma/store.js');
  const { parseRunbook } = await dist('runbook/parse.js');
  const { hashRunbook } = await dist('cli/load-runbook.js');
  const { createWorker, installQuietRuntime, workflowSource } = await dist('worker/create-worker.js');
  const { RUN_WORKFLOW_TYPE } = await dist('workflows/messages.js');

  const home = mkdtempSync(path.join(tmpdir(), 'cutover-bench-'));
  installQuietRuntime();
  const server = await startDevServer({ cliPath: findTemporalCli(root), dataDir: home, ui: false });
  const store = await openStore({ databaseUrl: `file:${path.join(home, 'bench.db')}` });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const native = await NativeConnection.connect({ address: server.address });
  const queue = `bench-${randomUUID()}`;
  const cutoverWorker = await createWorker({ connection: native, namespace: 'default', taskQueue: `${queue}-cutover`, recorder: store, workflows: workflowSource() });
  const bareWorker = await Worker.create({
    connection: native,
    taskQueue: `${queue}-bare`,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: path.join(root, 'bench', 'bare-workflow.js'), logger: quietLogger() }),
    activities: { async noop() {} },
  });
  const running = [cutoverWorker.run(), bareWorker.run()];

  const text = chainRunbook('bench-chain', STEPS);
  const parsed = parseRunbook(text, 'bench.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));

  async function throughCutover() {
    const started = performance.now();
    const { runId, number } = await store.reserveRun({
      runbookName: parsed.runbook.name, mode: 'rehearsal', runbookVersion: '1', versionHash: hashRunbook(parsed.runbook), runbookSource: text, startedBy: 'bench',
    });
    // The workflow reads the runbook from the record store, where reserveRun put its source.
    const handle = await client.workflow.start(RUN_WORKFLOW_TYPE, {
      taskQueue: `${queue}-cutover`,
      workflowId: runId,
      args: [{ runId, runNumber: number, versionHash: 'bench', mode: 'rehearsal', startedBy: 'bench', baseDir: home }],
    });
    const result = await handle.result();
    const ms = performance.now() - started;
    if (result.status !== 'completed') throw new Error(`cutover run ended ${result.status}`);
    const events = (await handle.fetchHistory()).events.length;
    return { ms, events };
  }

  async function bare() {
    const started = performance.now();
    const handle = await client.workflow.start('bareNoop', { taskQueue: `${queue}-bare`, workflowId: `bare-${randomUUID()}`, args: [STEPS] });
    await handle.result();
    const ms = performance.now() - started;
    const events = (await handle.fetchHistory()).events.length;
    return { ms, events };
  }

  try {
    // One warm-up of each (JIT, workflow cache, SQLite pages), then alternating measured runs.
    await bare();
    await throughCutover();
    const ours = [];
    const base = [];
    for (let i = 0; i < REPEAT; i += 1) {
      base.push(await bare());
      ours.push(await throughCutover());
      console.log(`  run ${i + 1}: bare ${base[i].ms.toFixed(0)} ms / ${base[i].events} events, cutover ${ours[i].ms.toFixed(0)} ms / ${ours[i].events} events`);
    }
    const wall = median(ours.map((r) => r.ms)) / median(base.map((r) => r.ms));
    const events = median(ours.map((r) => r.events)) / median(base.map((r) => r.events));
    console.log(`${STEPS}-step chain, median of ${REPEAT}: bare ${median(base.map((r) => r.ms)).toFixed(0)} ms, cutover ${median(ours.map((r) => r.ms)).toFixed(0)} ms`);
    const line = (figure, value, limit) => `engine.${figure} = ${value.toFixed(3)} (target <= ${limit}) ${value <= limit ? 'PASS' : 'FAIL'}`;
    console.log(line('wall_ratio', wall, TARGETS.wall));
    console.log(line('history_event_ratio', events, TARGETS.events));
    return wall <= TARGETS.wall && events <= TARGETS.events ? 0 : 1;
  } finally {
    cutoverWorker.shutdown();
    bareWorker.shutdown();
    await Promise.all(running);
    await native.close();
    await client.connection.close();
    await store.close();
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

function quietLogger() {
  const nothing = () => {};
  return { trace: nothing, debug: nothing, info: nothing, warn: nothing, error: console.error, log: nothing };
}
