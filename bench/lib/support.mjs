// What the benchmarks share: a Temporal dev server of their own, a record store, a cutover
// worker, and a run "through cutover" (reserved in the store, started as the CLI starts it).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dist = (p) => import(path.join(root, 'dist', p));

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One line per target, in the form every benchmark ends with. */
export function targetLine(bench, figure, value, op, limit, digits = 3) {
  const pass = op === '<=' ? value <= limit : op === '<' ? value < limit : op === '=' ? value === limit : value >= limit;
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(digits);
  return { pass, text: `${bench}.${figure} = ${shown} (target ${op} ${limit}) ${pass ? 'PASS' : 'FAIL'}` };
}

/** A chain runbook, or `chains` parallel chains of `length` no-op steps each. */
export function noopRunbook(name, chains, length) {
  const lines = [
    `name: ${name}`,
    'version: 1',
    'lead: lead',
    'roles: { lead: [alice] }',
    'phases:',
    '  - id: all',
    '    kind: migration',
    '    steps:',
  ];
  for (let c = 0; c < chains; c += 1) {
    for (let i = 0; i < length; i += 1) {
      const id = chains === 1 ? `s${i}` : `c${c}-s${i}`;
      const prev = chains === 1 ? `s${i - 1}` : `c${c}-s${i - 1}`;
      lines.push(
        `      - { id: ${id}, title: Step ${id}, owner: lead, expected: 0s, ${i > 0 ? `depends_on: [${prev}], ` : ''}action: { kind: simulate, duration: 0s } }`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Starts a dev server, a record store and a cutover worker in a scratch folder. */
export async function startBench(name, extraWorkers = async () => []) {
  const { findTemporalCli, startDevServer } = await dist('cli/temporal-server.js');
  const { openRecordStore } = await dist('prisma/store.js');
  const { createWorker, installQuietRuntime } = await dist('worker/create-worker.js');
  const { RUN_WORKFLOW_TYPE } = await dist('workflows/messages.js');
  const { parseRunbook } = await dist('runbook/parse.js');
  const { hashRunbook } = await dist('cli/load-runbook.js');

  const home = mkdtempSync(path.join(tmpdir(), `cutover-bench-${name}-`));
  installQuietRuntime();
  const server = await startDevServer({ cliPath: findTemporalCli(root), dataDir: home, ui: false });
  const store = await openRecordStore({ databaseUrl: `file:${path.join(home, 'bench.db')}` });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const native = await NativeConnection.connect({ address: server.address });
  const queue = `bench-${randomUUID()}`;
  const cutoverWorker = await createWorker({ connection: native, namespace: 'default', taskQueue: `${queue}-cutover`, store: store });
  const others = await extraWorkers({ native, queue });
  const running = [cutoverWorker.run(), ...others.map((w) => w.run())];

  /** Parses a runbook once (outside any timing). */
  function parse(text) {
    const parsed = parseRunbook(text, 'bench.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.slice(0, 3)));
    return { text, runbook: parsed.runbook, hash: hashRunbook(parsed.runbook) };
  }

  /** A run reserved in the store and started as the CLI does; not awaited. */
  async function startRun({ text, runbook, hash }, mode = 'rehearsal') {
    const { runId, number } = await store.reserveRun({
      runbookName: runbook.name,
      mode,
      runbookVersion: '1',
      versionHash: hash,
      runbookSource: text,
      startedBy: 'bench',
    });
    const handle = await client.workflow.start(RUN_WORKFLOW_TYPE, {
      taskQueue: `${queue}-cutover`,
      workflowId: runId,
      args: [{ runId, runNumber: number, versionHash: hash, mode, startedBy: 'bench', baseDir: home }],
    });
    return { runId, handle };
  }

  /** One run through cutover: reserved in the store, started as the CLI does, awaited. */
  async function throughCutover(parsed) {
    const started = performance.now();
    const { runId, handle } = await startRun(parsed);
    const result = await handle.result();
    const ms = performance.now() - started;
    if (result.status !== 'completed') throw new Error(`cutover run ${runId} ended ${result.status}: ${result.outcome}`);
    return { ms, runId, handle };
  }

  async function stop() {
    cutoverWorker.shutdown();
    for (const w of others) w.shutdown();
    await Promise.all(running);
    await native.close();
    await client.connection.close();
    await store.close();
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }

  return {
    home,
    client,
    queue,
    address: server.address,
    databaseUrl: `file:${path.join(home, 'bench.db')}`,
    parse,
    startRun,
    throughCutover,
    stop,
  };
}

export function quietLogger() {
  const nothing = () => {};
  return { trace: nothing, debug: nothing, info: nothing, warn: nothing, error: console.error, log: nothing };
}
