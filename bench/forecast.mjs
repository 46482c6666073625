// forecast: is `cutover forecast` calibrated, and do timing-review commands answer in time?
//  1. Calibration: ground-truth runbooks (bench/lib/forecast-truth.mjs: parallel streams, lognormal step durations
//     with outliers, a go/no-go gate, undos), 5 recorded rehearsals each (2 back out), a forecast, then 1,000 real
//     nights and 1,000 real back-outs drawn from the truth. Averaged over the runbooks, the forecast P90 must cover
//     85-95% of the nights, and the latest safe go/no-go must leave at least the true P90 back-out before the window
//     ends in at least 90% of the runbooks.
//  2. Speed: a record store (SQLite) with 200 recorded rehearsals of a 200-step runbook; `cutover history`,
//     `compare` and `forecast` (10,000 simulated nights): the answer (store opened, read, figures made, store
//     closed) must take under a second each. Printed beside it: the command as a user runs it (the built CLI, a
//     process each) and `cutover --version`, what starting Node and the CLI costs before any command runs.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { calibrate } from './lib/forecast-truth.mjs';
import { dist, median, root, targetLine } from './lib/support.mjs';

const run = promisify(execFile);
const RUNBOOKS = Number(process.env.BENCH_FORECAST_RUNBOOKS ?? 100);
const NIGHTS = Number(process.env.BENCH_FORECAST_NIGHTS ?? 1000);
const SEED = Number(process.env.BENCH_FORECAST_SEED ?? 20261124);
const RUNS = Number(process.env.BENCH_TIMING_RUNS ?? 200);
const STEPS = Number(process.env.BENCH_TIMING_STEPS ?? 200);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);

export async function main() {
  const { SeededRandom } = await dist('timing/random.js');
  const { parseRunbook } = await dist('runbook/parse.js');
  const { forecast } = await dist('timing/forecast.js');
  const lines = [];

  // 1. Calibration.
  let started = performance.now();
  const results = calibrate({ count: RUNBOOKS, nights: NIGHTS, seed: SEED }, { SeededRandom, parseRunbook, forecast });
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
  const databaseUrl = `file:${path.join(home, 'bench.db')}`;
  try {
    started = performance.now();
    const { name, firstRun, lastRun } = await recordRehearsals(databaseUrl, RUNS, STEPS, SEED);
    console.log(`store: ${RUNS} rehearsals of a ${STEPS}-step runbook recorded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const commands = {
      history: ['history', name, '--json'],
      compare: ['compare', firstRun, lastRun, '--json'],
      forecast: ['forecast', name, '--json'],
    };
    const env = { ...process.env, CUTOVER_HOME: home, CUTOVER_DATABASE_URL: databaseUrl };
    const inProcess = await inProcessTimings(databaseUrl, name, firstRun, lastRun);
    const asCommand = async (args) => {
      // One warm-up (the page cache, the compile cache), then the median of REPEAT.
      const times = [];
      for (let i = 0; i <= REPEAT; i += 1) {
        const t = performance.now();
        await run(process.execPath, [path.join(root, 'bin', 'cutover.js'), ...args], { env, maxBuffer: 64 * 1024 * 1024 });
        if (i > 0) times.push(performance.now() - t);
      }
      return median(times) / 1000;
    };
    const startup = await asCommand(['--version']);
    console.log(`  cutover --version (Node and the CLI starting, nothing else): ${startup.toFixed(3)} s`);
    for (const [command, args] of Object.entries(commands)) {
      const seconds = inProcess[command] / 1000;
      console.log(
        `  cutover ${args.join(' ')}: ${(await asCommand(args)).toFixed(3)} s as a command, ${seconds.toFixed(3)} s of it answering`,
      );
      lines.push(targetLine('forecast', `${command}_seconds`, seconds, '<', 1));
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }

  for (const line of lines) console.log(line.text);
  return lines.every((line) => line.pass) ? 0 : 1;
}

/** The commands' work inside one process, store opened once: medians of REPEAT after a warm-up, in ms. */
async function inProcessTimings(databaseUrl, name, firstRun, lastRun) {
  const { openRecordStore } = await dist('prisma/store.js');
  const { historyRow } = await dist('timing/runs.js');
  const { compareRuns } = await dist('timing/compare.js');
  const { forecast } = await dist('timing/forecast.js');
  const { forecastInput, timedRun } = await dist('cli/review-timing.js');
  // Each as its command does it: the store opened, read, the figures made, the store closed.
  const withStore = (fn) => async () => {
    const store = await openRecordStore({ databaseUrl });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  };
  const work = {
    history: withStore(async (store) => (await store.runbookRuns(name)).map(historyRow)),
    compare: withStore(async (store) => compareRuns(await timedRun(store, firstRun), await timedRun(store, lastRun))),
    forecast: withStore(async (store) => forecast({ ...(await forecastInput(store, name, databaseUrl)), simulations: 10_000 })),
  };
  const result = {};
  for (const [command, fn] of Object.entries(work)) {
    const times = [];
    for (let i = 0; i <= REPEAT; i += 1) {
      const t = performance.now();
      await fn();
      if (i > 0) times.push(performance.now() - t);
    }
    result[command] = median(times);
  }
  return result;
}

/**
 * RUNS finished rehearsals of a STEPS-step runbook (10 parallel streams in 2 phases), each with every step attempt
 * recorded through the store's own writes, a tenth of them backed out with their undos recorded.
 */
async function recordRehearsals(databaseUrl, runs, steps, seed) {
  const { openRecordStore } = await dist('prisma/store.js');
  const { parseRunbook } = await dist('runbook/parse.js');
  const { hashRunbook } = await dist('cli/load-runbook.js');
  const { initialRunState } = await dist('run/transitions.js');
  const { SeededRandom } = await dist('timing/random.js');
  const name = 'bench-timing';
  const perPhase = steps / 2;
  const streams = 10;
  const lines = [`name: ${name}`, 'version: 1', 'lead: lead', 'roles: { lead: [alice] }', 'phases:'];
  for (const phase of ['prep', 'move']) {
    lines.push(`  - id: ${phase}`, `    kind: ${phase === 'prep' ? 'preparation' : 'migration'}`, '    steps:');
    for (let i = 0; i < perPhase; i += 1) {
      const stream = i % streams;
      const dep = i >= streams ? `, depends_on: [${phase}-${i - streams}]` : '';
      lines.push(
        `      - { id: ${phase}-${i}, title: Step ${i} of ${phase}, owner: lead, expected: ${5 + stream}m${dep}, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }`,
      );
    }
  }
  const text = `${lines.join('\n')}\n`;
  const parsed = parseRunbook(text, 'bench.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.slice(0, 3)));
  const runbook = parsed.runbook;
  const hash = hashRunbook(runbook);
  const rng = new SeededRandom(seed);
  const store = await openRecordStore({ databaseUrl });
  const iso = (ms) => new Date(ms).toISOString();
  let firstRun;
  let lastRun;
  try {
    for (let r = 0; r < runs; r += 1) {
      const { runId } = await store.reserveRun({
        runbookName: name,
        mode: 'rehearsal',
        runbookVersion: '1',
        versionHash: hash,
        runbookSource: text,
        startedBy: 'alice',
      });
      firstRun ??= runId;
      lastRun = runId;
      const t0 = Date.parse('2026-01-01T20:00:00Z') + r * 86_400_000;
      await store.markRunStarted(runId, { startedAt: iso(t0) });
      const state = initialRunState({ runId, runbook, versionHash: hash, mode: 'rehearsal', startedBy: 'alice' }, iso(t0));
      const end = new Map();
      const rows = [];
      let last = t0;
      for (const id of state.order) {
        const step = state.steps[id];
        const start = Math.max(t0, ...step.dependsOn.map((d) => end.get(d)));
        const ms = step.plannedDurationMs * Math.exp(0.1 + 0.3 * rng.normal());
        end.set(id, start + ms);
        last = Math.max(last, start + ms);
        step.status = 'succeeded';
        step.attempts = 1;
        step.startedAt = iso(start);
        step.endedAt = iso(start + ms);
        rows.push(attemptRow(runId, step, 'forward', iso(start), iso(start + ms)));
      }
      const backsOut = r % 10 === 9;
      if (backsOut) {
        const backoutStart = last;
        let at = backoutStart;
        for (const id of [...state.order].reverse()) {
          const step = state.steps[id];
          const ms = step.plannedDurationMs * 0.3 * Math.exp(0.3 * rng.normal());
          rows.push(attemptRow(runId, step, 'backout', iso(at), iso(at + ms)));
          at += ms / streams;
        }
        state.backout = {
          status: 'completed',
          trigger: 'requested',
          reason: 'rehearsing back-out',
          requestedBy: 'alice',
          startedAt: iso(backoutStart),
          endedAt: iso(at),
        };
        last = at;
      }
      // Ten at a time, as a run's activities write them.
      for (let i = 0; i < rows.length; i += 10) await Promise.all(rows.slice(i, i + 10).map((row) => store.recordStepAttempt(row)));
      state.status = backsOut ? 'backed_out' : 'completed';
      state.endedAt = iso(last);
      state.outcome = backsOut ? 'backed out: rehearsing back-out' : 'every step done';
      await store.finishRun(runId, { status: state.status, outcome: state.outcome, endedAt: state.endedAt, state });
    }
  } finally {
    await store.close();
  }
  return { name, firstRun, lastRun };
}

function attemptRow(runId, step, purpose, startedAt, endedAt) {
  return {
    runId,
    stepId: step.id,
    phaseId: step.phaseId,
    title: step.title,
    owner: step.owner,
    kind: step.kind,
    purpose,
    attempt: 1,
    treatment: 'run',
    status: 'succeeded',
    plannedStartMs: step.plannedStartMs,
    plannedDurationMs: step.plannedDurationMs,
    startedAt,
    endedAt,
    idempotencyKey: `${runId}/${step.id}${purpose === 'backout' ? '/backout' : ''}`,
  };
}
