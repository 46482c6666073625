// What the benchmarks share: a Temporal dev server of their own, a record store, a cutover
// worker, and a run "through cutover" (reserved in the store, started as the CLI starts it).
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dist = (p) => import(path.join(root, 'dist', p));

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Smoke mode (`npm run bench -- NAME --smoke`, or `BENCH_SMOKE=1`): tiny sizes, the whole path of the benchmark run
 * (the same commands, the same parsing of their output, the same final lines), its speed and statistics not judged.
 * test/bench-smoke.test.ts runs every benchmark this way.
 */
export const SMOKE = process.env.BENCH_SMOKE === '1';

/** A size: the environment variable `name` when set, else `full`, or `smoke` in smoke mode. */
export function size(name, full, smoke) {
  const set = process.env[name];
  if (set === undefined || set === '') return SMOKE ? smoke : full;
  const value = Number(set);
  if (!Number.isFinite(value)) throw new Error(`${name}=${set} is not a number`);
  return value;
}

/**
 * One line per target, in the form every benchmark ends with: `NAME.FIGURE = VALUE (target OP LIMIT) PASS|FAIL`.
 * In smoke mode a figure of speed or statistics ends with SMOKE instead (printed, not judged); one that counts
 * mistakes (`exact`: differences missed or invented, runs that did not end as expected, crashes) is judged as in a
 * full run, since its target does not depend on the machine or the sizes.
 */
export function targetLine(bench, figure, value, op, limit, { digits = 3, exact = false } = {}) {
  const met = op === '<=' ? value <= limit : op === '<' ? value < limit : op === '=' ? value === limit : value >= limit;
  const judged = exact || !SMOKE;
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(digits);
  return {
    pass: judged ? met : true,
    text: `${bench}.${figure} = ${shown} (target ${op} ${limit}) ${judged ? (met ? 'PASS' : 'FAIL') : 'SMOKE'}`,
  };
}

/** A figure printed beside the targets, not judged: `NAME.FIGURE = VALUE (informational: NOTE)`. */
export function infoLine(bench, figure, value, note, digits = 3) {
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(digits);
  return `${bench}.${figure} = ${shown} (informational: ${note})`;
}

/** Prints the target lines last and gives the exit code: 1 when one failed. */
export function finish(lines) {
  for (const line of lines) console.log(line.text);
  return lines.every((l) => l.pass) ? 0 : 1;
}

/**
 * A SQLite record store at `file`, as a `file:` URL. In smoke mode with `BENCH_STORE_TEMPLATE` set (the smoke test
 * passes the test run's migrated empty store, test/support/store-template.ts), a copy of that template, so opening it
 * does not run `prisma migrate deploy` (over a second of CPU, and never part of what a benchmark measures); otherwise
 * the file is left to `openRecordStore` to create and migrate, as before.
 */
export function sqliteStore(file) {
  const template = process.env.BENCH_STORE_TEMPLATE;
  if (SMOKE && template && !existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    copyFileSync(template, file);
  }
  return `file:${file}`;
}

/**
 * bench/bare-workflow.js bundled for a Worker's `workflowBundle` (the baselines of `engine` and `approval`), built
 * once and kept in dist/bench/ beside a hash of its source and the SDK's version: webpack takes over a second of CPU
 * a time, and the bundle is not part of what the benchmarks measure.
 */
export async function bareWorkflowBundle() {
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const source = path.join(root, 'bench', 'bare-workflow.js');
  const sdk = createRequire(path.join(root, 'package.json'))('@temporalio/worker/package.json').version;
  const hash = createHash('sha256').update(readFileSync(source)).update(`\0${sdk}`).digest('hex').slice(0, 16);
  const file = path.join(root, 'dist', 'bench', `bare-workflow-${hash}.js`);
  if (!existsSync(file)) {
    const { code } = await bundleWorkflowCode({ workflowsPath: source, logger: quietLogger() });
    mkdirSync(path.dirname(file), { recursive: true });
    // Two benchmarks may build it at once: each writes its own file and renames it into place.
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  }
  return { codePath: file };
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

/**
 * The Temporal server a benchmark runs on: a dev server of its own in `dataDir`, or the one `BENCH_TEMPORAL_ADDRESS`
 * names (the smoke test shares the test suite's; its figures then include whatever else that server does). `pid` is
 * known only for a server of its own.
 */
export async function benchServer(dataDir) {
  const shared = process.env.BENCH_TEMPORAL_ADDRESS;
  if (shared) return { address: shared, pid: undefined, stop: async () => {} };
  const { findTemporalCli } = await dist('cli/temporal-cli.js');
  const { startDevServer } = await dist('cli/temporal-server.js');
  return startDevServer({ cliPath: findTemporalCli(root), dataDir, ui: false });
}

/** Starts a dev server, a record store and a cutover worker in a scratch folder. */
export async function startBench(name, extraWorkers = async () => []) {
  const { openRecordStore } = await dist('prisma/store.js');
  const { createWorker, installQuietRuntime } = await dist('worker/create-worker.js');
  const { RUN_WORKFLOW_TYPE } = await dist('workflows/messages.js');
  const { parseRunbook } = await dist('runbook/parse.js');
  const { hashRunbook } = await dist('cli/load-runbook.js');

  const home = mkdtempSync(path.join(tmpdir(), `cutover-bench-${name}-`));
  installQuietRuntime();
  const server = await benchServer(home);
  const databaseUrl = sqliteStore(path.join(home, 'bench.db'));
  const store = await openRecordStore({ databaseUrl });
  const { CLIENT_CHANNEL_ARGS } = await dist('common/temporal-channel.js');
  const client = new Client({ connection: await Connection.connect({ address: server.address, channelArgs: CLIENT_CHANNEL_ARGS }) });
  const native = await NativeConnection.connect({ address: server.address });
  const queue = `bench-${randomUUID()}`;
  const cutoverWorker = await createWorker({ connection: native, namespace: 'default', taskQueue: `${queue}-cutover`, store });
  const others = await extraWorkers({ native, queue });
  const running = [cutoverWorker.run(), ...others.map((w) => w.run())];

  /** Parses a runbook once (outside any timing). */
  function parse(text) {
    const parsed = parseRunbook(text, 'bench.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.slice(0, 3)));
    return { text, runbook: parsed.runbook, hash: hashRunbook(parsed.runbook) };
  }

  /** A run reserved in the store and started as the CLI does; not awaited. */
  /** `override(runId)`: a live run's signed evidence override (the workflow refuses a live start without evidence). */
  async function startRun({ text, runbook, hash }, mode = 'rehearsal', { override } = {}) {
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
      args: [
        {
          runId,
          runNumber: number,
          versionHash: hash,
          mode,
          startedBy: 'bench',
          baseDir: home,
          ...(override ? { evidenceOverride: override(runId) } : {}),
        },
      ],
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
    databaseUrl,
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
