// deploy: the scaled-out layout against the embedded one, in one run on one Temporal server.
// The engine benchmark's 500 no-op steps, here as 10 parallel streams of 50 (so two workers have
// something to share), run:
//   - baseline: on ONE `cutover worker` process with the SQLite record store;
//   - ours: on TWO `cutover worker` processes, each with its own CUTOVER_HOME (standing in for two
//     machines), sharing one PostgreSQL record store.
// Both are real worker processes from the build (bin/cutover.js worker) pointed at the same dev
// server through TEMPORAL_ADDRESS, each configuration on a task queue of its own, and both runs
// are reserved and started the way `cutover rehearse` starts them (startRun from the build), from
// this process. Prints the wall-time ratio (target at most 1.25x: the store must not be the
// bottleneck) and the record-store writes per step, counted by PostgreSQL itself.
//
// Every run must complete, its steps recorded in the store; in the two-worker configuration both
// workers must have run steps (counted from Temporal's history: the identity on each step's
// ActivityTaskStarted event). Anything else throws, and the benchmark exits non-zero.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { startPostgres } from './lib/postgres.mjs';
import { benchServer, dist, finish, infoLine, median, noopRunbook, root, size, SMOKE, sqliteStore, targetLine } from './lib/support.mjs';

// In smoke mode still 10 streams: with fewer, one worker may well run every step (see the check in run()).
const CHAINS = size('BENCH_CHAINS', 10, 10);
const LENGTH = size('BENCH_CHAIN_LENGTH', 50, 2);
const STEPS = CHAINS * LENGTH;
const REPEAT = size('BENCH_REPEAT', 3, 1);
/**
 * Writes per step: a step's activity upserts its attempt row when it starts and again when it ends
 * (activities/steps.ts), so 2 rows a step; the run's own row (reserved, started, state snapshots,
 * finished) adds a handful per run, about 0.01 a step. 2.5 catches one more write for every other
 * step (a state snapshot per step, a check row written for a step without checks, an upsert that
 * became a delete and an insert) while leaving room for a retried write now and then.
 */
const TARGETS = { wall: 1.25, writesPerStep: 2.5 };
/**
 * PostgreSQL's backends publish their statistics lazily: at the end of a transaction at most once a
 * second, and an idle backend with some still pending publishes them after 10 s (PGSTAT_IDLE_INTERVAL
 * in PG 15). Figures unchanged for longer than that are final. In smoke mode one reading, no waiting: the figure is
 * printed, not judged, and the path (the readings, the delta, the lines) is the same.
 */
const STATS_QUIET_MS = SMOKE ? 0 : 11_000;
const STATS_PATIENCE_MS = 60_000;

export async function main() {
  const children = new Set();
  const cleanups = [];
  let cleaning;
  /** Stops everything started here, newest first; safe to call twice. */
  const cleanUp = () =>
    (cleaning ??= (async () => {
      for (const fn of cleanups.reverse()) await fn().catch((err) => console.error(`clean-up: ${err.message}`));
    })());
  // Ctrl-C or a kill: clean up, then go. A second one, or any other exit, kills the workers and
  // PostgreSQL with SIGKILL; the dev server's supervisor stops the server once we are gone.
  let signals = 0;
  const onSignal = (signal) => {
    signals += 1;
    if (signals > 1) process.exit(130);
    console.error(`deploy: ${signal}, stopping workers, Temporal and PostgreSQL`);
    cleanUp().finally(() => process.exit(130));
  };
  const lastResorts = [];
  const killLeftovers = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const kill of lastResorts) kill();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.once('exit', killLeftovers);

  try {
    const { openRecordStore } = await dist('prisma/store.js');
    const { loadRunbook } = await dist('cli/load-runbook.js');
    const { startRun } = await dist('cli/start-run.js');

    const home = mkdtempSync(path.join(tmpdir(), 'cutover-bench-deploy-'));
    const removeHome = () => rmSync(home, { recursive: true, force: true });
    cleanups.push(async () => removeHome());
    lastResorts.push(removeHome);
    const postgres = await startPostgres();
    cleanups.push(() => postgres.stop());
    lastResorts.push(postgres.kill);
    const server = await benchServer(path.join(home, 'temporal'));
    cleanups.push(() => server.stop());
    const { CLIENT_CHANNEL_ARGS } = await dist('common/temporal-channel.js');
    const connection = await Connection.connect({ address: server.address, channelArgs: CLIENT_CHANNEL_ARGS });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });

    const file = path.join(home, 'runbook.yaml');
    writeFileSync(file, noopRunbook('bench-deploy', CHAINS, LENGTH));
    const loaded = loadRunbook(file); // parsed and validated once, outside any timing

    // The stores are opened here first: that creates the SQLite file and the PostgreSQL database and
    // applies the migrations once, before any worker starts.
    const sqliteUrl = sqliteStore(path.join(home, 'sqlite', 'cutover.db'));
    const postgresUrl = postgres.url('cutover');
    const configs = [];
    for (const [name, databaseUrl, workers] of [
      ['baseline', sqliteUrl, 1],
      ['ours', postgresUrl, 2],
    ]) {
      const store = await openRecordStore({ databaseUrl });
      cleanups.push(() => store.close());
      const taskQueue = `bench-deploy-${name}-${randomUUID()}`;
      const started = [];
      for (let i = 0; i < workers; i += 1) {
        started.push(
          await startWorker({ name: `${name}-${i + 1}`, home, databaseUrl, taskQueue, address: server.address, children, cleanups }),
        );
      }
      configs.push({ name, store, session: { client, taskQueue, address: server.address }, workers: started });
    }
    const [baseline, ours] = configs;
    baseline.storePid = undefined; // SQLite works inside the worker
    ours.storePid = postgres.pid;
    /** CPU seconds so far of each part of a configuration (see processCpu). */
    const cpuOf = (config) => ({
      workers: config.workers.reduce((sum, w) => sum + processCpu(w.pid), 0),
      store: config.storePid ? processCpu(config.storePid) : 0,
      temporal: server.pid ? processCpu(server.pid) : 0, // unknown on a shared server
      bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    });
    const cpuDelta = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, b[k] - a[k]]));
    console.log(
      `${STEPS} no-op steps in ${CHAINS} streams; baseline: 1 worker + SQLite, ours: 2 workers (pids ${ours.workers.map((w) => w.pid).join(', ')}) + PostgreSQL`,
    );

    const stats = await postgresStats(postgres.url('postgres'), 'cutover');
    cleanups.push(() => stats.close());

    /** One run: reserved and started as `cutover rehearse` does, awaited, then checked. */
    async function run(config) {
      const cpuBefore = cpuOf(config);
      const startedAt = performance.now();
      const { runId, handle } = await startRun(config.session, config.store, loaded, 'rehearsal', 'bench');
      const result = await handle.result();
      const ms = performance.now() - startedAt;
      const cpu = cpuDelta(cpuBefore, cpuOf(config));
      if (result.status !== 'completed') throw new Error(`${config.name} run ${runId} ended ${result.status}: ${result.outcome}`);
      const detail = await config.store.getRun(runId);
      const recorded = detail.steps.filter((s) => s.purpose === 'forward' && s.status === 'succeeded').length;
      if (detail.status !== 'completed' || recorded !== STEPS) {
        throw new Error(`${config.name} run ${runId}: the store says ${detail.status} with ${recorded} of ${STEPS} steps succeeded`);
      }
      const split = await stepsPerIdentity(client, runId, handle.firstExecutionRunId);
      const perWorker = config.workers.map((w) => split.get(w.identity) ?? 0);
      const strangers = [...split.keys()].filter((id) => !config.workers.some((w) => w.identity === id));
      if (strangers.length > 0 || perWorker.reduce((a, b) => a + b, 0) !== STEPS) {
        throw new Error(`${config.name} run ${runId}: steps ran on ${JSON.stringify(Object.fromEntries(split))}, not on its workers`);
      }
      if (perWorker.some((n) => n === 0)) {
        throw new Error(`${config.name} run ${runId}: a worker ran no step (${perWorker.join(' / ')}); the work was not shared`);
      }
      return { ms, runId, perWorker, cpu };
    }

    /** A run of ours, with what PostgreSQL counted for it. */
    async function runCounted() {
      const before = await stats.settled();
      const result = await run(ours);
      const after = await stats.settled();
      return { ...result, ...stats.delta(before, after) };
    }

    const describe = (r) =>
      `${(r.ms / 1000).toFixed(2)} s` +
      (PROC ? ` (CPU ${cpuSum(r.cpu).toFixed(1)} s)` : '') +
      `, steps per worker ${r.perWorker.join(' / ')}` +
      (r.writes === undefined ? '' : `, ${r.writes} writes, ${r.xacts} transactions`);

    // One warm-up of each (JIT, workflow caches, connection pools, database pages), then alternating
    // measured runs.
    // (none in smoke mode: its figures are not judged).
    if (!SMOKE) {
      console.log(`  warm-up: baseline ${describe(await run(baseline))}`);
      console.log(`  warm-up: ours ${describe(await runCounted())}`);
    }
    const base = [];
    const mine = [];
    for (let i = 0; i < REPEAT; i += 1) {
      base.push(await run(baseline));
      mine.push(await runCounted());
      console.log(`  run ${i + 1}: baseline ${describe(base[i])}; ours ${describe(mine[i])}`);
    }

    const baseMs = median(base.map((r) => r.ms));
    const ourMs = median(mine.map((r) => r.ms));
    const writesPerStep = median(mine.map((r) => r.writes)) / STEPS;
    const xactsPerStep = median(mine.map((r) => r.xacts)) / STEPS;
    console.log(`median of ${REPEAT}: baseline ${(baseMs / 1000).toFixed(2)} s, ours ${(ourMs / 1000).toFixed(2)} s`);
    if (PROC) {
      // CPU is steadier than wall time on a shared machine: where the time goes, part by part.
      const cpuLine = (runs) => {
        const parts = Object.keys(runs[0].cpu).map((k) => [k, median(runs.map((r) => r.cpu[k]))]);
        const total = median(runs.map((r) => cpuSum(r.cpu)));
        return `${parts.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}; total ${total.toFixed(2)} s (${((total * 1000) / STEPS).toFixed(1)} ms a step)`;
      };
      console.log(`  CPU per run, median: baseline ${cpuLine(base)}`);
      console.log(`  CPU per run, median: ours     ${cpuLine(mine)}`);
      const cpuTotal = (runs) => median(runs.map((r) => cpuSum(r.cpu)));
      console.log(infoLine('deploy', 'cpu_ratio', cpuTotal(mine) / cpuTotal(base), 'all the CPU a run costs, ours / baseline'));
    }
    const byTable = mine.at(-1).tables;
    console.log(
      `  record-store writes per step by table (last run): ${Object.entries(byTable)
        .map(([table, n]) => `${table} ${(n / STEPS).toFixed(3)}`)
        .join(', ')}`,
    );
    console.log(infoLine('deploy', 'store_transactions_per_step', xactsPerStep, 'commits in the cutover database', 2));
    return finish([
      targetLine('deploy', 'wall_ratio', ourMs / baseMs, '<=', TARGETS.wall),
      targetLine('deploy', 'store_writes_per_step', writesPerStep, '<=', TARGETS.writesPerStep),
    ]);
  } finally {
    await cleanUp();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('exit', killLeftovers);
  }
}

/** Linux's process table, where CPU times are read; without it the CPU figures are left out. */
const PROC = existsSync('/proc/self/stat');
const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux architecture Node runs on

/** Fields of /proc/PID/stat after the command name (which may hold spaces), or undefined once it is gone. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** All the CPU seconds of a run, every part together. */
const cpuSum = (cpu) => Object.values(cpu).reduce((a, b) => a + b, 0);

/**
 * CPU seconds used so far by a process, its threads, the children it has reaped, and its live
 * children: for PostgreSQL that is the postmaster and every backend, ended ones included.
 */
function processCpu(pid) {
  if (!PROC) return 0;
  // Counting from the state field (3): utime 14, stime 15, cutime 16, cstime 17, ppid 4.
  const ticks = (f, withReaped) => Number(f[11]) + Number(f[12]) + (withReaped ? Number(f[13]) + Number(f[14]) : 0);
  const own = statFields(pid);
  if (!own) return 0;
  let total = ticks(own, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(entry);
    if (f && Number(f[1]) === pid) total += ticks(f, false);
  }
  return total / TICKS_PER_SECOND;
}

/**
 * Starts `cutover worker` from the build with a CUTOVER_HOME of its own and resolves once it polls
 * its task queue. Nothing of this process's cutover or Temporal settings leaks into it.
 */
async function startWorker({ name, home, databaseUrl, taskQueue, address, children, cleanups }) {
  const workerHome = path.join(home, 'workers', name);
  mkdirSync(workerHome, { recursive: true });
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CUTOVER_|TEMPORAL_)/.test(k)));
  const child = spawn(process.execPath, [path.join(root, 'bin', 'cutover.js'), 'worker'], {
    cwd: workerHome,
    env: { ...env, CUTOVER_HOME: workerHome, CUTOVER_DATABASE_URL: databaseUrl, CUTOVER_TASK_QUEUE: taskQueue, TEMPORAL_ADDRESS: address },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (log += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (log += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // SIGTERM: the worker stops in good order (cli/signals.ts); SIGKILL if it does not within 15 s.
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  });
  const deadline = Date.now() + 60_000;
  while (!/Ctrl-C stops it/.test(log)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker ${name} exited on start:\n${log}`);
    if (Date.now() > deadline) throw new Error(`worker ${name} did not start within 60 s:\n${log}`);
    await sleep(50);
  }
  // The SDK's default identity, which Temporal writes on each activity the worker starts.
  return { name, pid: child.pid, identity: `${child.pid}@${hostname()}` };
}

/**
 * How many steps (`runStep` activities) each worker identity ran, over every execution of the run
 * (it may continue as new): the identity on each ActivityTaskStarted event.
 */
async function stepsPerIdentity(client, workflowId, firstRunId) {
  const counts = new Map();
  for (let runId = firstRunId; runId;) {
    const { events } = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const types = new Map();
    runId = undefined;
    for (const event of events) {
      if (event.activityTaskScheduledEventAttributes) {
        types.set(String(event.eventId), event.activityTaskScheduledEventAttributes.activityType?.name);
      } else if (event.activityTaskStartedEventAttributes) {
        const { scheduledEventId, identity } = event.activityTaskStartedEventAttributes;
        if (types.get(String(scheduledEventId)) === 'runStep') counts.set(identity, (counts.get(identity) ?? 0) + 1);
      } else if (event.workflowExecutionContinuedAsNewEventAttributes) {
        runId = event.workflowExecutionContinuedAsNewEventAttributes.newExecutionRunId;
      }
    }
  }
  return counts;
}

/**
 * What PostgreSQL counted in database `database`: commits (pg_stat_database) and rows inserted,
 * updated and deleted in cutover's tables (pg_stat_user_tables). Commits are read from the
 * maintenance database, so reading them adds none to the database measured; the table figures can
 * only be read from inside it, once per settled reading (that read's commit or two lands in the
 * next reading, a rounding error against a run's thousands).
 */
async function postgresStats(maintenanceUrl, database) {
  const monitor = new pg.Client({ connectionString: maintenanceUrl });
  await monitor.connect();
  const databaseUrl = Object.assign(new URL(maintenanceUrl), { pathname: `/${database}` }).href;

  async function databaseFigures() {
    // Each query is its own transaction, which drops any cached snapshot; clearing it says so.
    await monitor.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await monitor.query(
      'SELECT xact_commit::bigint AS xacts, (tup_inserted + tup_updated + tup_deleted)::bigint AS tuples FROM pg_stat_database WHERE datname = $1',
      [database],
    );
    return `${rows[0].xacts}/${rows[0].tuples}`;
  }

  async function tableFigures() {
    const reader = new pg.Client({ connectionString: databaseUrl });
    await reader.connect();
    try {
      const { rows } = await reader.query(
        'SELECT relname, (n_tup_ins + n_tup_upd + n_tup_del)::bigint AS writes FROM pg_stat_user_tables ORDER BY relname',
      );
      return Object.fromEntries(rows.map((r) => [r.relname, Number(r.writes)]));
    } finally {
      await reader.end();
    }
  }

  return {
    /** The figures once every backend has published what it did (see STATS_QUIET_MS). */
    async settled() {
      const giveUp = Date.now() + STATS_PATIENCE_MS;
      let last = await databaseFigures();
      let quietSince = Date.now();
      while (Date.now() - quietSince < STATS_QUIET_MS) {
        if (Date.now() > giveUp) {
          console.log(`  (PostgreSQL's statistics still moving after ${STATS_PATIENCE_MS / 1000} s; counting what they say now)`);
          break;
        }
        await sleep(500);
        const now = await databaseFigures();
        if (now !== last) {
          last = now;
          quietSince = Date.now();
        }
      }
      return { xacts: Number(last.split('/')[0]), tables: await tableFigures() };
    },
    delta(before, after) {
      const tables = {};
      for (const [table, n] of Object.entries(after.tables)) {
        const d = n - (before.tables[table] ?? 0);
        if (d !== 0) tables[table] = d;
      }
      return { xacts: after.xacts - before.xacts, writes: Object.values(tables).reduce((a, b) => a + b, 0), tables };
    },
    close: () => monitor.end(),
  };
}
