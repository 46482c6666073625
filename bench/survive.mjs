// survive: the fault tests at full counts. The 30-step runbook of test/faults-*.test.ts (three
// parallel streams, manual steps, a go/no-go gate, a failing last step that backs everything out)
// run through:
//   - 20 SIGKILLs of the `cutover worker` hosting it, at seeded moments (4 per run, 5 runs), a new
//     worker started each time; the people (owners, approvers, the lead) played through the CLI;
//   - 5 SIGKILLs of the Temporal server, restarted on its database file and port (1 per run);
//   - one run with no fault at all, which must end the same way (the reference);
// and, when bench/lib/fuzz-runbooks.mjs is in the checkout, 10,000 fuzzed runbooks through the parser
// and validator. Each run must end as the runbook says it would without faults, run no completed
// step (or undo) twice (the ledger of idempotency keys), keep a record store that matches the run
// Temporal returned, and back out in reverse dependency order.
//
// The scenarios are the tests' own (test/support/faults/): it imports only Node, the Temporal
// client and cutover's build (dist/), so this transpiles it once with TypeScript and imports it.
//
// SURVIVE_WORKER_KILLS, SURVIVE_SERVER_KILLS, SURVIVE_FUZZ_RUNS and SURVIVE_SEED change the counts. In smoke mode
// (bench/lib/support.mjs) only the reference run and 20 fuzzed runbooks: test/faults-*.test.ts kill workers and
// servers with the same scenarios in every test run.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchServer, finish, root, size, targetLine } from './lib/support.mjs';

const WORKER_KILLS = size('SURVIVE_WORKER_KILLS', 20, 0);
const KILLS_PER_RUN = 4;
const SERVER_KILLS = size('SURVIVE_SERVER_KILLS', 5, 0);
const FUZZ_RUNS = size('SURVIVE_FUZZ_RUNS', 10_000, 20);
const SEED = size('SURVIVE_SEED', 20261123, 20261123);
/** Step rows of one run (30 forward, about 20 back-out): kill moments are spread over them. */
const ROWS = 50;

/**
 * test/support/faults/ as modules of the build (dist/bench/faults/, ES modules by the package's "type"). Transpiled
 * again only when the sources (or TypeScript) changed since the last time: loading TypeScript costs over a second of
 * CPU, and the transpiling is not part of what the benchmark measures.
 */
async function faultScenarios() {
  const from = path.join(root, 'test', 'support', 'faults');
  const out = path.join(root, 'dist', 'bench', 'faults');
  const names = readdirSync(from)
    .filter((file) => file.endsWith('.ts'))
    .sort();
  const hash = createHash('sha256').update(createRequire(path.join(root, 'package.json'))('typescript/package.json').version);
  for (const name of names) hash.update(`\0${name}\0`).update(readFileSync(path.join(from, name)));
  const stamp = path.join(out, '.sources');
  const digest = hash.digest('hex');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== digest) {
    const ts = (await import('typescript')).default;
    mkdirSync(out, { recursive: true });
    for (const name of names) {
      const { outputText } = ts.transpileModule(readFileSync(path.join(from, name), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        fileName: name,
      });
      writeFileSync(path.join(out, name.replace(/\.ts$/, '.js')), outputText);
    }
    writeFileSync(stamp, digest);
  }
  return import(pathToFileURL(path.join(out, 'index.js')).href);
}

export async function main() {
  const f = await faultScenarios();
  const home = mkdtempSync(path.join(tmpdir(), 'cutover-survive-'));
  const reports = [];
  const figures = {
    runs: 0,
    worker_kills: 0,
    server_kills: 0,
    completions_as_expected: 0,
    repeated_steps: 0,
    crashes_found: 0,
    fuzz_runs: 0,
  };
  const started = Date.now();
  /** A run that threw (stuck, could not start) counts as not ending as expected. */
  const attempt = async (kind, runId, run) => {
    try {
      return await run();
    } catch (err) {
      figures.runs += 1;
      console.log(`${kind} ${runId}: did not end as expected: ${err.message}`);
      return undefined;
    }
  };
  const judge = (kind, report) => {
    if (!report) return;
    reports.push(report);
    figures.runs += 1;
    const problems = [
      ...(JSON.stringify(report.outcome) === JSON.stringify(report.expected)
        ? []
        : [`ended ${JSON.stringify(report.outcome)}, expected ${JSON.stringify(report.expected)}`]),
      ...report.storeProblems.map((p) => `store: ${p}`),
      ...report.orderProblems.map((p) => `back-out order: ${p}`),
      ...report.people.surprises.map((p) => `people: ${p}`),
      ...(report.followerExit === 4 ? [] : [`the lead's rehearse exited ${report.followerExit}, not 4 (backed out)`]),
    ];
    figures.repeated_steps += report.repeated.length;
    if (problems.length === 0 && report.repeated.length === 0) figures.completions_as_expected += 1;
    const took = ((Date.now() - started) / 1000).toFixed(0);
    console.log(
      `${kind} ${report.runId}: ${report.faults} fault(s), ${report.result.status}; ${report.people.resolutions.length} resolution(s) by the lead; ${problems.length + report.repeated.length} problem(s) [${took}s]`,
    );
    for (const line of report.people.resolutions) console.log(`    lead: ${line}`);
    for (const line of [...problems, ...report.repeated]) console.log(`    PROBLEM ${line}`);
  };

  try {
    // Worker kills (and the reference run) on a dev server of their own.
    const server = await benchServer(path.join(home, 'temporal'));
    try {
      judge(
        'reference',
        await attempt('reference', 'survive-reference-1', () =>
          f.runThroughFaults(server.address, 'survive-reference', [], SEED, f.killWorker),
        ),
      );
      const runs = Math.ceil(WORKER_KILLS / KILLS_PER_RUN);
      for (let i = 0; i < runs; i += 1) {
        const kills = Math.min(KILLS_PER_RUN, WORKER_KILLS - i * KILLS_PER_RUN);
        const plans = f.killPlans(SEED + i, kills, ROWS);
        const report = await attempt('worker kills', `survive-worker-${i + 1}-1`, () =>
          f.runThroughFaults(
            server.address,
            `survive-worker-${i + 1}`,
            plans,
            SEED + i,
            async (plan, d) => {
              figures.worker_kills += 1;
              await f.killWorker(plan, d);
            },
            (l) => console.log(l),
          ),
        );
        judge('worker kills', report);
      }
    } finally {
      await server.stop();
    }

    // Server kills: a server this process can SIGKILL and restart on the same file and port.
    const killable = SERVER_KILLS > 0 ? await f.startKillableServer(path.join(home, 'killable')) : undefined;
    try {
      for (let i = 0; i < SERVER_KILLS; i += 1) {
        const kill = f.killServer(killable);
        const report = await attempt('server kill', `survive-server-${i + 1}-1`, () =>
          f.runThroughFaults(
            killable.address,
            `survive-server-${i + 1}`,
            f.killPlans(SEED + 100 + i, 1, ROWS),
            SEED + 100 + i,
            async (plan) => {
              figures.server_kills += 1;
              await kill(plan);
            },
            (l) => console.log(l),
          ),
        );
        judge('server kill', report);
      }
    } finally {
      await killable?.stop();
    }

    // The runbook fuzzer, when the checkout has it.
    const fuzzer = path.join(root, 'bench', 'lib', 'fuzz-runbooks.mjs');
    if (existsSync(fuzzer)) {
      const { fuzzRunbooks } = await import(pathToFileURL(fuzzer).href);
      const fuzz = await fuzzRunbooks({ runs: FUZZ_RUNS, seed: SEED });
      figures.fuzz_runs = fuzz.runs;
      figures.crashes_found = fuzz.crashes.length;
      console.log(`fuzz: ${fuzz.runs} runbooks, ${fuzz.accepted} accepted, ${fuzz.rejected} rejected, ${fuzz.crashes.length} crash(es)`);
      for (const crash of fuzz.crashes.slice(0, 10)) console.log(`    CRASH ${JSON.stringify(crash).slice(0, 400)}`);
    } else {
      console.log('fuzz: bench/lib/fuzz-runbooks.mjs is not in this checkout; no runbooks fuzzed');
    }
  } finally {
    f.killChildren();
    rmSync(home, { recursive: true, force: true });
  }

  const planned = 1 + Math.ceil(WORKER_KILLS / KILLS_PER_RUN) + SERVER_KILLS;
  const targets = [
    ['runs', figures.runs, '>=', planned],
    ['worker_kills', figures.worker_kills, '>=', WORKER_KILLS],
    ['server_kills', figures.server_kills, '>=', SERVER_KILLS],
    ['completions_as_expected', figures.completions_as_expected, '=', figures.runs],
    ['repeated_steps', figures.repeated_steps, '=', 0],
    ['crashes_found', figures.crashes_found, '=', 0],
    ['fuzz_runs', figures.fuzz_runs, '>=', FUZZ_RUNS],
  ];
  // Every one of them counts mistakes: judged in smoke mode too.
  return finish(targets.map(([name, value, op, limit]) => targetLine('survive', name, value, op, limit, { exact: true })));
}
