// forecast: is `cutover forecast` calibrated, and do the timing-review commands answer as fast as the same work done
// bare?
//  1. Calibration: ground-truth runbooks (bench/lib/forecast-truth.mjs: parallel streams, lognormal step durations
//     with outliers, a go/no-go gate, undos), 5 recorded rehearsals each (2 back out), a forecast, then 1,000 real
//     nights and 1,000 real back-outs drawn from the truth. Averaged over the runbooks, the forecast P90 must cover
//     85-95% of the nights, and the latest safe go/no-go must leave at least the true P90 back-out before the window
//     ends in at least 90% of the runbooks.
//  2. Speed: a record store (SQLite) with 200 recorded rehearsals of a 200-step runbook; `cutover history`,
//     `compare` and `forecast` (10,000 simulated nights), each answer (store opened, read, figures made, store
//     closed) against the same answer worked out bare (bench/lib/bare-timing.mjs: better-sqlite3 on the same file,
//     plain loops, no cutover code; for the forecast, 10,000 nights and 10,000 back-outs over the same step graph
//     with the distributions the rehearsals were drawn from). Alternating, in this process; the ratio of their
//     median CPU times. Printed beside it: the wall times, the commands as a user runs them (the built CLI, a
//     process each) and `cutover --version`, what starting Node and the CLI costs before any command runs.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bareCompare, bareForecast, bareHistory } from './lib/bare-timing.mjs';
import { calibrate } from './lib/forecast-truth.mjs';
import { dist, finish, median, root, SMOKE, size, sqliteStore, targetLine } from './lib/support.mjs';
import { recordRehearsals, timingRunbook } from './lib/timing-store.mjs';

const run = promisify(execFile);
const RUNBOOKS = size('BENCH_FORECAST_RUNBOOKS', 100, 3);
const NIGHTS = size('BENCH_FORECAST_NIGHTS', 1000, 50);
const SEED = size('BENCH_FORECAST_SEED', 20261124, 20261124);
const RUNS = size('BENCH_TIMING_RUNS', 200, 6);
const STEPS = size('BENCH_TIMING_STEPS', 200, 20);
const REPEAT = size('BENCH_REPEAT', 7, 1);
/** Runs of each command as a user runs it, after a warm-up: printed, not judged. */
const COMMAND_REPEAT = SMOKE ? 1 : 3;
/** Nights the forecast simulates: `cutover forecast`'s default, and the bare loop's. */
const SIMULATIONS = 10_000;
/** Limits on cutover's time over the bare program's: see bench/README.md for how they were chosen. */
const TARGETS = { history: 10, compare: 4, forecast: 4 };

/** cutover's modules, from the build: every import of dist/ in this file. */
async function cutover() {
  return {
    ...(await dist('timing/random.js')),
    ...(await dist('timing/runs.js')),
    ...(await dist('timing/compare.js')),
    ...(await dist('timing/forecast.js')),
    ...(await dist('runbook/parse.js')),
    ...(await dist('run/transitions.js')),
    ...(await dist('prisma/store.js')),
    ...(await dist('cli/review-timing.js')),
    ...(await dist('cli/load-runbook.js')),
  };
}

export async function main() {
  const c = await cutover();
  const lines = [];

  // 1. Calibration.
  let started = performance.now();
  const results = calibrate({ count: RUNBOOKS, nights: NIGHTS, seed: SEED }, c);
  const coverage = results.reduce((s, r) => s + r.coverage, 0) / results.length;
  const safe = results.filter((r) => r.safe).length / results.length;
  const steps = results.map((r) => r.steps).sort((a, b) => a - b);
  const ratio = median(results.map((r) => r.forecastBackoutP90 / r.trueBackoutP90));
  console.log(
    `calibration: ${results.length} runbooks of ${steps[0]}-${steps.at(-1)} steps, 5 rehearsals each (2 backing out), ` +
      `${NIGHTS} nights each, seed ${SEED}: ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  console.log(
    `  P90 coverage per runbook: min ${Math.min(...results.map((r) => r.coverage)).toFixed(3)}, max ${Math.max(...results.map((r) => r.coverage)).toFixed(3)}; ` +
      `back-out P90 forecast / true: median ${ratio.toFixed(2)}`,
  );
  lines.push(targetLine('forecast', 'p90_coverage', coverage, '>=', 0.85));
  lines.push(targetLine('forecast', 'p90_coverage', coverage, '<=', 0.95));
  lines.push(targetLine('forecast', 'safe_go_no_go_share', safe, '>=', 0.9));

  // 2. Speed, on a store of RUNS rehearsals of a STEPS-step runbook.
  const home = mkdtempSync(path.join(tmpdir(), 'cutover-bench-forecast-'));
  const file = path.join(home, 'bench.db');
  const databaseUrl = sqliteStore(file);
  try {
    started = performance.now();
    const runbook = timingRunbook(STEPS);
    const { firstRun, lastRun } = await recordRehearsals(c, databaseUrl, runbook, RUNS, SEED);
    console.log(`store: ${RUNS} rehearsals of a ${STEPS}-step runbook recorded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const { name } = runbook;

    // Each as its command does it: the store opened, read, the figures made, the store closed.
    const withStore = (fn) => async () => {
      const store = await c.openRecordStore({ databaseUrl });
      try {
        return await fn(store);
      } finally {
        await store.close();
      }
    };
    const pairs = {
      history: {
        args: ['history', name, '--json'],
        ours: withStore(async (store) => (await store.runbookRuns(name)).map(c.historyRow)),
        bare: async () => bareHistory(file, name),
      },
      compare: {
        args: ['compare', firstRun, lastRun, '--json'],
        ours: withStore(async (store) => c.compareRuns(await c.timedRun(store, firstRun), await c.timedRun(store, lastRun))),
        bare: async () => bareCompare(file, firstRun, lastRun),
      },
      forecast: {
        args: ['forecast', name, '--json'],
        ours: withStore(async (store) => c.forecast({ ...(await c.forecastInput(store, name, databaseUrl)), simulations: SIMULATIONS })),
        bare: async () => bareForecast(runbook.bareSteps, SIMULATIONS),
      },
    };
    const env = { ...process.env, CUTOVER_HOME: home, CUTOVER_DATABASE_URL: databaseUrl };
    const asCommand = async (args) => {
      // After a warm-up (the page cache, the compile cache), the median of COMMAND_REPEAT.
      const times = [];
      for (let i = SMOKE ? 1 : 0; i <= COMMAND_REPEAT; i += 1) {
        const t = performance.now();
        const { stdout } = await run(process.execPath, [path.join(root, 'bin', 'cutover.js'), ...args], {
          env,
          maxBuffer: 64 * 1024 * 1024,
        });
        if (i > 0) times.push(performance.now() - t);
        if (args[0] !== '--version') JSON.parse(stdout); // the answer a script would read
      }
      return median(times) / 1000;
    };
    const startup = await asCommand(['--version']);
    console.log(`  cutover --version (Node and the CLI starting, nothing else): ${startup.toFixed(3)} s`);
    for (const [command, pair] of Object.entries(pairs)) {
      const { ours, bare, ratio } = await alternate(pair.ours, pair.bare);
      const s = (ms) => (ms / 1000).toFixed(3);
      console.log(
        `  cutover ${pair.args.join(' ')}: ${(await asCommand(pair.args)).toFixed(3)} s as a command; answering ${s(ours.ms)} s ` +
          `(CPU ${s(ours.cpu)} s), bare ${s(bare.ms)} s (CPU ${s(bare.cpu)} s); medians of ${REPEAT}`,
      );
      lines.push(targetLine('forecast', `${command}_vs_bare_ratio`, ratio, '<=', TARGETS[command]));
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  return finish(lines);
}

/**
 * Ours and the bare program one after the other, REPEAT times after a warm-up of each: the median of each one's time
 * (ms) and CPU time (ms, this process's user and system time while it ran), and the ratio of the CPU medians. Both
 * answers are CPU-bound (the store is in the page cache, read synchronously by better-sqlite3 on both sides), so
 * their CPU time is their work; their wall time on a shared machine also holds the waits for a core, which fall on
 * one side or the other by chance.
 */
async function alternate(ours, bare) {
  const cpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const timed = async (fn) => {
    const [t, c] = [performance.now(), cpu()];
    await fn();
    return { ms: performance.now() - t, cpu: cpu() - c };
  };
  const runs = { ours: [], bare: [] };
  for (let i = SMOKE ? 1 : 0; i <= REPEAT; i += 1) {
    const o = await timed(ours);
    const b = await timed(bare);
    if (i === 0) continue;
    runs.ours.push(o);
    runs.bare.push(b);
  }
  const medians = (list) => ({ ms: median(list.map((r) => r.ms)), cpu: median(list.map((r) => r.cpu)) });
  const result = { ours: medians(runs.ours), bare: medians(runs.bare) };
  return { ...result, ratio: result.ours.cpu / result.bare.cpu };
}
