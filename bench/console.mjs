// console: the Ink console following a large run, in a real terminal, against a bare poll loop following the same run.
// A 1,000-step runbook (20 parallel chains of 49 simulated 3 s steps, so 20 steps run at once for the whole minute,
// and a chain of 20 go/no-go gates) runs on the benchmark's own Temporal dev server and cutover worker; `cutover
// attach` (the built CLI) shows it in a tmux window of 120x40 for 60 s. Beside it, for the same 60 s, the baseline:
// bench/lib/poll-loop.mjs, a stock Temporal client asking the run for its summary at the console's rate (300 ms) and
// doing nothing else, a process of its own. Meanwhile the benchmark approves the open gate every few seconds and
// times how long until the console no longer shows it waiting.
//
// The baseline's costs are taken per query and at the console's nominal rate (a summary every 300 ms): both loops wait
// 300 ms after each answer and poll less often when answers are slow, and a fixed rate keeps the baseline steady.
//  - console.cpu_vs_bare_ratio: the console process's CPU time over the 60 s (utime + stime from /proc/PID/stat), over
//    the bare loop's CPU per query at that rate. Target <= 18.
//  - console.bytes_per_change_vs_bare_ratio, console.queries_per_change_vs_bare_ratio: what the console read from
//    Temporal per change of the run (its revision's growth over the window), as the console itself counts it under
//    CUTOVER_CONSOLE_STATS (the JSON size of every query answer, the payload data Temporal sent back; gRPC framing,
//    headers and the connection's own traffic are not counted), over what the bare loop reads per change at that
//    rate. Targets <= 2 and <= 4.
//  - console.change_to_screen_vs_bare_ratio: the median time from sending an approval (an upper bound: the run
//    applies it a few ms later) until tmux's screen no longer shows the gate waiting (the console's poll, its
//    queries, the render, tmux), over the median time until the bare loop had an answer to a query sent after the
//    run applied it. Target <= 2.5. The worst of the console's is printed (change_to_screen_ms_max).
// bench/README.md says how each limit was chosen.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dist, finish, infoLine, median, root, size, SMOKE, startBench, targetLine } from './lib/support.mjs';

const CHAINS = SMOKE ? 3 : 20;
const CHAIN_LENGTH = SMOKE ? 5 : 49;
const GATES = SMOKE ? 3 : 20;
const STEP_SECONDS = size('BENCH_STEP_SECONDS', 3, 1);
const FOLLOW_MS = size('BENCH_FOLLOW_SECONDS', 60, 6) * 1000;
const APPROVE_EVERY_MS = SMOKE ? 2_000 : 5_000;
/** The console's poll interval (cli/console/run-poller.ts), which the bare loop keeps too. */
const POLL_MS = 300;
/** Limits: see bench/README.md for how they were chosen. */
const TARGETS = { cpu: 18, bytes: 2, queries: 4, latency: 2.5 };

function runbookText(name) {
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
  for (let c = 0; c < CHAINS; c += 1) {
    for (let i = 0; i < CHAIN_LENGTH; i += 1) {
      const id = `c${String(c).padStart(2, '0')}-s${String(i).padStart(2, '0')}`;
      const prev = `c${String(c).padStart(2, '0')}-s${String(i - 1).padStart(2, '0')}`;
      lines.push(
        `      - { id: ${id}, title: Load batch ${i} of stream ${c}, owner: lead, expected: ${STEP_SECONDS}s, ${i > 0 ? `depends_on: [${prev}], ` : ''}action: { kind: simulate, duration: ${STEP_SECONDS}s } }`,
      );
    }
  }
  for (let g = 1; g <= GATES; g += 1) {
    const id = `gate-${String(g).padStart(2, '0')}`;
    lines.push(
      `      - { id: ${id}, title: Checkpoint ${g}, owner: lead, ${g > 1 ? `depends_on: [gate-${String(g - 1).padStart(2, '0')}], ` : ''}gate: { approvers: [lead], question: "Checkpoint ${g} ok?" } }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const tmux = (socket, ...args) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });

function cpuSeconds(pid) {
  // Fields 14 and 15 of /proc/PID/stat (after the parenthesised command name): user and system clock ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

async function waitFor(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function main() {
  const { approveGateUpdate, runSummaryQuery } = await dist('workflows/messages.js');
  const bench = await startBench('console');
  const socket = `cutover-bench-console-${process.pid}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-bench-console-'));
  const statsFile = path.join(dir, 'stats.json');
  const bareFile = path.join(dir, 'bare-stats.json');
  let bare;
  try {
    const parsed = bench.parse(runbookText('bench-console'));
    const { handle } = await bench.startRun(parsed);
    const runId = handle.workflowId;
    console.log(`run ${runId}: ${CHAINS * CHAIN_LENGTH + GATES} steps, ${CHAINS} chains of ${STEP_SECONDS} s steps, ${GATES} gates`);

    // The console as a person runs it: the built CLI in a terminal, pointed at the run's Temporal and store.
    const script = path.join(dir, 'console.sh');
    writeFileSync(
      script,
      [
        '#!/bin/sh',
        `export TEMPORAL_ADDRESS='${bench.address}' CUTOVER_DATABASE_URL='${bench.databaseUrl}' CUTOVER_HOME='${dir}' CUTOVER_CONSOLE_STATS='${statsFile}'`,
        'unset CI',
        `cd '${root}'`,
        `exec '${process.execPath}' bin/cutover.js attach '${runId}'`,
      ].join('\n'),
      { mode: 0o755 },
    );
    tmux(socket, 'new-session', '-d', '-s', 'bench', '-x', '120', '-y', '40', script);
    const pid = Number(tmux(socket, 'display-message', '-p', '-t', 'bench', '#{pane_pid}').trim());
    const screen = () => tmux(socket, 'capture-pane', '-p', '-t', 'bench');
    await waitFor(() => /gate gate-01:/.test(screen()), 120_000, 'the console to show the first gate');
    await waitFor(() => existsSync(statsFile), 10_000, 'the console to write its figures');

    const summary = await handle.query(runSummaryQuery);
    console.log(
      `following for ${FOLLOW_MS / 1000} s: ${summary.counts.running ?? 0} steps running, ${summary.counts.waiting ?? 0} waiting`,
    );
    // The bare loop, on the same run, for the same window.
    bare = spawn(
      process.execPath,
      [path.join(root, 'bench', 'lib', 'poll-loop.mjs'), bench.address, runId, 'runSummary', String(POLL_MS), bareFile],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    await waitFor(() => existsSync(bareFile), 30_000, 'the bare loop to write its figures');
    /** A figures file, or undefined while it is being written (its writer does not rename it into place). */
    const read = (file) => {
      try {
        return JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        return undefined;
      }
    };
    const figures = (file) => waitFor(() => read(file), 5_000, `a whole ${path.basename(file)}`);
    const before = { console: await figures(statsFile), bare: await figures(bareFile) };
    const cpuBefore = { console: cpuSeconds(pid), bare: cpuSeconds(bare.pid) };
    const started = Date.now();
    const latencies = [];
    const approvals = [];
    const answered = [];
    const running = [];
    for (let g = 1; Date.now() - started < FOLLOW_MS; g += 1) {
      const next = started + g * APPROVE_EVERY_MS;
      while (Date.now() < next) {
        await new Promise((r) => setTimeout(r, 250));
        if (Date.now() - started >= FOLLOW_MS) break;
      }
      if (Date.now() - started >= FOLLOW_MS || g > GATES) break;
      const id = `gate-${String(g).padStart(2, '0')}`;
      const sent = performance.now();
      const sentAt = Date.now();
      await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: id, by: 'alice', reason: 'bench' }] });
      approvals.push({ sentAt, appliedAt: Date.now() });
      answered.push(performance.now() - sent);
      await waitFor(() => !screen().includes(`gate ${id}:`), 10_000, `the console to show ${id} approved`);
      latencies.push(performance.now() - sent);
      running.push((await handle.query(runSummaryQuery)).counts.running ?? 0);
    }
    while (Date.now() - started < FOLLOW_MS) await new Promise((r) => setTimeout(r, 100));
    const seconds = (Date.now() - started) / 1000;
    const cpu = { console: cpuSeconds(pid) - cpuBefore.console, bare: cpuSeconds(bare.pid) - cpuBefore.bare };
    // Both write their figures once a second: wait for ones written after the window, in which the bare loop has an
    // answer to a query sent after each approval (on a loaded machine the last one may still be in flight at the end).
    const after = await waitFor(
      () => {
        const both = { console: read(statsFile), bare: read(bareFile) };
        const seenAll = approvals.every(({ appliedAt }) => both.bare?.answers.some(([sent]) => sent >= appliedAt));
        return both.console?.at >= started + FOLLOW_MS && both.bare?.at >= started + FOLLOW_MS && seenAll ? both : undefined;
      },
      20_000,
      'the last figures',
    );
    // The run's changes over the window: how far its revision moved.
    const changes = after.bare.revision - before.bare.revision;
    if (changes <= 0) throw new Error('the run did not change while it was followed');
    const consoleSeconds = (after.console.at - before.console.at) / 1000;
    const ours = {
      queries: (after.console.queries - before.console.queries) / consoleSeconds,
      bytes: (after.console.bytes - before.console.bytes) / consoleSeconds,
      cpu: cpu.console / seconds,
    };
    // The bare loop's cost of one query (its CPU, the bytes of its answer) at the console's rate: a summary every
    // POLL_MS. Both loops wait POLL_MS after each answer and so poll less often as the answers slow down (on a busy
    // machine); costs per query do not, and a fixed rate keeps the baseline from falling with the load.
    const bareQueries = after.bare.queries - before.bare.queries;
    const rate = 1000 / POLL_MS;
    const base = {
      queries: rate,
      bytes: ((after.bare.bytes - before.bare.bytes) / bareQueries) * rate,
      cpu: (cpu.bare / bareQueries) * rate,
    };
    const changesPerSecond = changes / seconds;
    // The bare loop has seen an approval with the first answer to a query it sent once the run had applied it.
    const bareLatencies = approvals.map(({ sentAt, appliedAt }) => {
      const seen = after.bare.answers.find(([sent]) => sent >= appliedAt);
      if (!seen) throw new Error('the bare loop stopped answering');
      return seen[1] - sentAt;
    });
    const list = (ms) => `${ms.map((l) => l.toFixed(0)).join(', ')} (median ${median(ms).toFixed(0)})`;
    console.log(`  steps running when each gate was approved: ${running.join(', ')}`);
    console.log(`  change to screen, ms: ${list(latencies)}`);
    console.log(`  the bare loop saw each approval after, ms: ${list(bareLatencies)}`);
    console.log(`  of which the run took to answer the approval, ms: ${answered.map((l) => l.toFixed(0)).join(', ')}`);
    console.log(
      `  over ${seconds.toFixed(0)} s, ${changesPerSecond.toFixed(1)} changes of the run a second; console: CPU ${(ours.cpu * 100).toFixed(1)}% ` +
        `of one core, ${ours.queries.toFixed(1)} queries and ${Math.round(ours.bytes)} bytes a second; bare loop: ${bareQueries} queries ` +
        `(${(bareQueries / seconds).toFixed(1)} a second), CPU ${((cpu.bare / bareQueries) * 1000).toFixed(2)} ms and ` +
        `${Math.round((after.bare.bytes - before.bare.bytes) / bareQueries)} bytes a query`,
    );
    console.log(infoLine('console', 'cpu_percent', ours.cpu * 100, 'of one core', 1));
    console.log(
      infoLine('console', 'temporal_bytes_per_second', Math.round(ours.bytes), 'JSON size of the query answers, gRPC framing not counted'),
    );
    console.log(
      infoLine(
        'console',
        'queries_per_change',
        ours.queries / changesPerSecond,
        `the bare loop's: ${(base.queries / changesPerSecond).toFixed(2)}`,
      ),
    );
    console.log(
      infoLine(
        'console',
        'bytes_per_change',
        Math.round(ours.bytes / changesPerSecond),
        `the bare loop's: ${Math.round(base.bytes / changesPerSecond)}`,
      ),
    );
    console.log(infoLine('console', 'change_to_screen_ms_max', Math.round(Math.max(...latencies)), 'the worst approval'));

    return finish([
      targetLine('console', 'cpu_vs_bare_ratio', ours.cpu / base.cpu, '<=', TARGETS.cpu),
      targetLine('console', 'bytes_per_change_vs_bare_ratio', ours.bytes / base.bytes, '<=', TARGETS.bytes),
      targetLine('console', 'queries_per_change_vs_bare_ratio', ours.queries / base.queries, '<=', TARGETS.queries),
      targetLine('console', 'change_to_screen_vs_bare_ratio', median(latencies) / median(bareLatencies), '<=', TARGETS.latency),
    ]);
  } finally {
    bare?.kill('SIGTERM');
    try {
      tmux(socket, 'kill-server');
    } catch {
      // Never started, or already gone.
    }
    // The run is left as it is: the benchmark's own server goes with it (terminating it first only makes the
    // worker warn about the activities it was running).
    await bench.stop();
  }
}
