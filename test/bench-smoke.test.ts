/**
 * Every benchmark in smoke mode (`npm run bench -- NAME --smoke`): tiny sizes, the whole path (the same CLI commands,
 * the same parsing of their output, the same final lines), speed not judged. Each must exit 0 and end with a
 * well-formed line for every figure its full run prints, so a changed CLI line, a renamed figure or an output the
 * benchmark no longer reads fails here rather than in the next full run. Those that can share a Temporal server
 * use the test run's.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { PROJECT } from './support/cli.js';
// The ProvidedContext key of the migrated empty store.
import './support/store-template.js';
import { temporalAddress } from './support/temporal.js';

/**
 * Per benchmark, in the order printed: its targets' figures, and the figures it prints without judging them. The
 * longest smokes first, so the two that run at once end about together.
 */
const FIGURES: Record<string, { targets: string[]; informational: string[] }> = {
  deploy: { targets: ['wall_ratio', 'store_writes_per_step'], informational: ['cpu_ratio', 'store_transactions_per_step'] },
  survive: {
    targets: ['runs', 'worker_kills', 'server_kills', 'completions_as_expected', 'repeated_steps', 'crashes_found', 'fuzz_runs'],
    informational: [],
  },
  console: {
    targets: ['cpu_vs_bare_ratio', 'bytes_per_change_vs_bare_ratio', 'queries_per_change_vs_bare_ratio', 'change_to_screen_vs_bare_ratio'],
    informational: ['cpu_percent', 'temporal_bytes_per_second', 'queries_per_change', 'bytes_per_change', 'change_to_screen_ms_max'],
  },
  approval: {
    targets: ['cli_vs_sdk_ratio', 'page_vote_vs_cli_ratio', 'signed_update_vs_bare_ratio', 'passkey_vs_ed25519_update_ratio'],
    informational: ['cli_vs_stock_ratio', 'sdk_vs_stock_ratio'],
  },
  forecast: {
    targets: [
      'p90_coverage',
      'p90_coverage',
      'safe_go_no_go_share',
      'history_vs_bare_ratio',
      'compare_vs_bare_ratio',
      'forecast_vs_bare_ratio',
    ],
    informational: [],
  },
  engine: { targets: ['wall_ratio', 'history_event_ratio', 'notify_wall_ratio'], informational: [] },
  notify: { targets: ['p99_event_to_delivery_ms', 'lost', 'duplicates'], informational: ['p50_event_to_delivery_ms'] },
  web: {
    targets: [
      'queries_per_second_vs_one_viewer_ratio',
      'run_page_vs_static_p99_ratio',
      'server_peak_rss_mb',
      'change_to_screen_ms_p99',
      'reforecast_vs_forecast_ratio',
    ],
    informational: [
      'queries_per_second',
      'queries_vs_poller_per_viewer_ratio',
      'change_to_event_ms_p99',
      'run_page_ms_p99',
      'static_route_ms_p99',
      'change_to_screen_from_sent_ms_p99',
      'change_to_screen_under_load_ms_p99',
      'reforecast_ms',
      'forecast_ms',
    ],
  },
  reconcile: {
    targets: [
      'full_vs_sqlite3_ratio',
      'peak_rss_mb',
      'differences_found',
      'false_differences',
      'sample_1pct_vs_full_ratio',
      'csv_vs_sqlite3_import_ratio',
      'csv_false_differences',
      'postgres_false_differences',
    ],
    informational: ['postgres_vs_sqlite_rows_per_second'],
  },
  scale: { targets: ['per_step_ratio', 'largest_payload_bytes', 'longest_history_events'], informational: [] },
  hypercare: {
    targets: ['incidents_resolved', 'longest_history_events', 'largest_payload_bytes', 'status_ms', 'incident_list_ms'],
    informational: ['executions', 'status_cli_ms', 'incident_list_cli_ms', 'version_cli_ms'],
  },
  plans: {
    targets: ['import_vs_exceljs_ratio', 'import_cpu_seconds', 'import_peak_rss_mb', 'export_cpu_seconds'],
    informational: ['rows_per_second'],
  },
};

const NUMBER = String.raw`-?\d+(?:\.\d+)?`;
/** `NAME.FIGURE = VALUE (target OP LIMIT) PASS|FAIL|SMOKE`: a target's line. */
const TARGET = new RegExp(String.raw`^(\w+)\.(\w+) = (${NUMBER}) \(target (<=|<|>=|=) (${NUMBER})\) (PASS|FAIL|SMOKE)$`);
/** `NAME.FIGURE = VALUE (informational: …)`: a figure printed, not judged. */
const INFORMATIONAL = new RegExp(String.raw`^(\w+)\.(\w+) = (${NUMBER}) \(informational: [^)]+\)$`);

interface Smoke {
  code: number | null;
  stdout: string;
  /** stdout and stderr, for the failure messages. */
  output: string;
  ms: number;
}

/**
 * `node bench/run.mjs NAME --smoke`, on the test run's Temporal server, its SQLite record stores copies of the test
 * run's migrated empty store (bench/lib/support.mjs sqliteStore): migrating is not what a benchmark is about.
 */
function smoke(name: string): Promise<Smoke> {
  const started = Date.now();
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing of the test process's own Temporal or cutover settings, nor vitest's loader, reaches the benchmark.
  for (const key of Object.keys(env)) if (/^(CUTOVER_|TEMPORAL_|BENCH_)/.test(key) || key === 'NODE_OPTIONS') delete env[key];
  Object.assign(env, { BENCH_TEMPORAL_ADDRESS: temporalAddress(), BENCH_STORE_TEMPLATE: inject('storeTemplatePath') });
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(PROJECT, 'bench', 'run.mjs'), name, '--smoke'],
      { cwd: PROJECT, env, maxBuffer: 16 * 1024 * 1024, timeout: 300_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, output: `${stdout}\n${stderr}`, ms: Date.now() - started });
      },
    );
  });
}

/** Runs at most `limit` of the functions given to it at once. */
function limiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async (fn) => {
    while (running >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    running += 1;
    try {
      return await fn();
    } finally {
      running -= 1;
      queue.shift()?.();
    }
  };
}

// Two at a time: much of a smoke is waiting (servers starting, a console followed for a few seconds), and the test
// run's other files share the two cores.
const oneAtATime = limiter(2);

describe.concurrent('every benchmark in smoke mode', () => {
  for (const [name, figures] of Object.entries(FIGURES)) {
    it(`${name} runs its whole path and prints every figure`, async () => {
      const { code, stdout, output, ms } = await oneAtATime(() => smoke(name));
      console.log(`bench ${name} --smoke: ${(ms / 1000).toFixed(1)} s`);
      expect(code, output).toBe(0);
      const lines = stdout.split('\n').filter((line) => line.startsWith(`${name}.`));
      const targets = lines.map((line) => TARGET.exec(line)).filter((m) => m !== null);
      const informational = lines.map((line) => INFORMATIONAL.exec(line)).filter((m) => m !== null);
      // Every figure line is one of the two forms, with a number for its value.
      expect(
        lines.filter((line) => !TARGET.test(line) && !INFORMATIONAL.test(line)),
        output,
      ).toEqual([]);
      expect(
        targets.map((m) => m[2]),
        output,
      ).toEqual(figures.targets);
      expect(informational.map((m) => m[2]).sort(), output).toEqual([...figures.informational].sort());
      // Speed and statistics are not judged at these sizes; a figure that counts mistakes still is.
      expect(
        targets.filter((m) => m[6] === 'FAIL').map((m) => m[0]),
        output,
      ).toEqual([]);
      // The targets are the last lines, as a script reading the benchmark expects.
      expect(stdout.trimEnd().split('\n').slice(-figures.targets.length), output).toEqual(targets.map((m) => m[0]));
    }, 600_000);
  }
});

it('bench/README.md names every figure the benchmarks print', () => {
  const readme = readFileSync(path.join(PROJECT, 'bench', 'README.md'), 'utf8');
  const named = new Set(readme.match(/\b[a-z]+\.[a-z0-9_]+\b/g));
  const missing = Object.entries(FIGURES).flatMap(([name, { targets, informational }]) =>
    [...targets, ...informational].map((figure) => `${name}.${figure}`).filter((figure) => !named.has(figure)),
  );
  expect(missing).toEqual([]);
});
