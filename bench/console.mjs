// console: the Ink console following a large run, in a real terminal. A 1,000-step runbook (20
// parallel chains of 49 simulated 3 s steps, so 20 steps run at once for the whole minute, and a
// chain of 20 go/no-go gates) runs on the benchmark's own Temporal dev server and cutover worker;
// `cutover attach` (the built CLI) shows it in a tmux window of 120x40 for 60 s. Meanwhile the
// benchmark approves the open gate every few seconds and times how long until the console no
// longer shows it waiting.
//
//  - console.cpu_percent: the console process's CPU time over the 60 s (utime + stime from
//    /proc/PID/stat), as a share of one core. Target <= 20.
//  - console.change_to_screen_ms_max: from sending the approval (an upper bound: the run applies
//    it a few ms later) until tmux's screen no longer shows the gate as waiting; the worst of the
//    approvals. Includes the console's poll interval, its queries, the render and tmux. Target <= 1000.
//  - console.temporal_bytes_per_second (printed): what the console read from Temporal, as the
//    console itself counts it under CUTOVER_CONSOLE_STATS: the JSON size of every query answer
//    (summaries and step pages), i.e. the payload data Temporal sent back; gRPC framing, headers
//    and the connection's own traffic are not counted.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dist, median, root, startBench, targetLine } from './lib/support.mjs';

const CHAINS = 20;
const CHAIN_LENGTH = 49;
const GATES = 20;
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 3);
const FOLLOW_MS = Number(process.env.BENCH_FOLLOW_SECONDS ?? 60) * 1000;
const APPROVE_EVERY_MS = 5_000;
const TARGETS = { cpuPercent: 20, latencyMs: 1000 };

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
    const statsBefore = JSON.parse(readFileSync(statsFile, 'utf8'));
    const cpuBefore = cpuSeconds(pid);
    const started = Date.now();
    const latencies = [];
    const answered = [];
    let running = [];
    for (let g = 1; Date.now() - started < FOLLOW_MS; g += 1) {
      const next = started + g * APPROVE_EVERY_MS;
      while (Date.now() < next) {
        await new Promise((r) => setTimeout(r, 250));
        if (Date.now() - started >= FOLLOW_MS) break;
      }
      if (Date.now() - started >= FOLLOW_MS || g > GATES) break;
      const id = `gate-${String(g).padStart(2, '0')}`;
      const sent = performance.now();
      await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: id, by: 'alice', reason: 'bench' }] });
      answered.push(performance.now() - sent);
      await waitFor(() => !screen().includes(`gate ${id}:`), 10_000, `the console to show ${id} approved`);
      latencies.push(performance.now() - sent);
      running.push((await handle.query(runSummaryQuery)).counts.running ?? 0);
    }
    while (Date.now() - started < FOLLOW_MS) await new Promise((r) => setTimeout(r, 100));
    const seconds = (Date.now() - started) / 1000;
    const cpuPercent = ((cpuSeconds(pid) - cpuBefore) / seconds) * 100;
    // The console writes its figures once a second: wait for one written after the window.
    await waitFor(() => JSON.parse(readFileSync(statsFile, 'utf8')).at >= started + FOLLOW_MS, 5_000, 'the last figures');
    const statsAfter = JSON.parse(readFileSync(statsFile, 'utf8'));
    const statSeconds = (statsAfter.at - statsBefore.at) / 1000;
    const bytesPerSecond = Math.round((statsAfter.bytes - statsBefore.bytes) / statSeconds);
    const queriesPerSecond = (statsAfter.queries - statsBefore.queries) / statSeconds;
    console.log(`  steps running when each gate was approved: ${running.join(', ')}`);
    console.log(`  change to screen, ms: ${latencies.map((l) => l.toFixed(0)).join(', ')} (median ${median(latencies).toFixed(0)})`);
    console.log(`  of which the run took to answer the approval, ms: ${answered.map((l) => l.toFixed(0)).join(', ')}`);
    console.log(
      `  console CPU ${cpuPercent.toFixed(1)}% of one core over ${seconds.toFixed(0)} s; ${queriesPerSecond.toFixed(1)} queries a second`,
    );
    console.log(
      `console.temporal_bytes_per_second = ${bytesPerSecond} (printed; JSON size of the query answers, gRPC framing not counted)`,
    );

    const lines = [
      targetLine('console', 'cpu_percent', cpuPercent, '<=', TARGETS.cpuPercent, 1),
      targetLine('console', 'change_to_screen_ms_max', Math.round(Math.max(...latencies)), '<=', TARGETS.latencyMs),
    ];
    for (const line of lines) console.log(line.text);
    return lines.every((l) => l.pass) ? 0 : 1;
  } finally {
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
