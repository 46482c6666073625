/**
 * What the record store says about a runbook (the rehearsal evidence a live run needs, the measured back-out for its
 * gates' point of no return) is read once when a run starts, and the step timings (and the back-out's forecast) only
 * when a gate's point of no return needs them. Against a real SQLite store holding 50 recorded runs, the test run's
 * Temporal server and a real `cutover worker`; the start is `cutover run --live` / `cutover rehearse` itself
 * (startAndFollow, in this process), its store calls counted as they pass (the real store answers them).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { startAndFollow } from '../cli/start-run.js';
import type { Output } from '../cli/output.js';
import { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { forecast, runsWorthReading } from '../timing/forecast.js';
import { cliEnv, killStartedCli, startWorkerCli } from './support/cli.js';
import { temporalAddress } from './support/temporal.js';
import { recordRun, timingRunbook } from './support/timing-data.js';

const KEY = `ed25519:${Buffer.alloc(32, 7).toString('base64')}`;
const runbookText = (name: string, gate: boolean) => `name: ${name}
version: "1"
lead: lead
roles: { lead: [alice], dba: [bob] }
people: { alice: { key: "${KEY}" } }
window: { length: 6h }
phases:
  - id: migrate
    kind: migration
    steps:
      - { id: freeze, title: Freeze, owner: dba, expected: 2s, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
      - { id: load, title: Load, owner: dba, expected: 3s, depends_on: [freeze], action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
${
  gate
    ? `  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead], rule: all, deadline: { after_opening: 1s, decides: go } } }
`
    : ''
}  - id: on
    kind: interface_switch_on
    steps:
      - { id: sync, title: Sync on, owner: dba, expected: 1s, action: { kind: shell, command: "true" } }
`;

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-start-reads-'));
const env = cliEnv({ TEMPORAL_ADDRESS: temporalAddress(), CUTOVER_TASK_QUEUE: `start-reads-${Date.now().toString(36)}` });
const lines: string[] = [];
const out: Output = {
  line: (text) => lines.push(text),
  warn: (text) => lines.push(text),
  json: (value) => lines.push(JSON.stringify(value)),
  raw: (text) => lines.push(text),
};

/** Writes the runbook and records 50 runs of it, one in five backed out, the latest completed an hour ago. */
async function recordHistory(name: string, gate: boolean): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, runbookText(name, gate));
  const book = timingRunbook(runbookText(name, gate));
  const store = await openRecordStore({ databaseUrl: `file:${path.join(env.CUTOVER_HOME!, 'cutover.db')}` });
  try {
    for (let r = 0; r < 50; r += 1) {
      const durations: Record<string, number> = { freeze: 2000 + (r % 7) * 100, load: 3000 + (r % 5) * 200, sync: 900, go: 4000 };
      await recordRun(store, {
        runbook: book,
        startMs: Date.now() - (51 - r) * 3_600_000,
        durations,
        ...(r % 5 === 2 ? { backout: { reason: 'rehearsing back-out', undo: { load: 1500 + r * 10, freeze: 800 + r * 5 } } } : {}),
      });
    }
  } finally {
    await store.close();
  }
  return file;
}

beforeAll(async () => {
  for (const [key, value] of Object.entries(env)) if (key.startsWith('CUTOVER_') || key.startsWith('TEMPORAL_')) vi.stubEnv(key, value);
  await startWorkerCli([], env, dir);
}, 120_000);
afterAll(() => {
  killStartedCli();
  vi.unstubAllEnvs();
});
afterEach(() => vi.restoreAllMocks());

it("a live run's start reads the runbook's runs once, and its gate's point of no return has the measured back-out", async () => {
  const file = await recordHistory('read-once', true);
  // What `cutover forecast` says the back-out takes, from the same records.
  const store = await openRecordStore({ databaseUrl: `file:${path.join(env.CUTOVER_HOME!, 'cutover.db')}` });
  let expected: number;
  try {
    const timings = await store.runTimings(runsWorthReading(await store.runbookRuns('read-once')));
    const figures = forecast({
      runbook: timingRunbook(runbookText('read-once', true)).runbook,
      versionHash: timingRunbook(runbookText('read-once', true)).hash,
      runs: timings,
    });
    expect(figures.backout.source).toBe('measured');
    expected = figures.backout.p90Ms;
  } finally {
    await store.close();
  }

  const runbookRuns = vi.spyOn(RecordStore.prototype, 'runbookRuns');
  const runTimings = vi.spyOn(RecordStore.prototype, 'runTimings');
  const code = await startAndFollow({ file, mode: 'live', autoApprove: false, startedBy: 'alice', out });
  expect(code, lines.join('\n')).toBe(0);
  expect(lines.join('\n')).toMatch(/evidence: read-once-\d+ completed this version/);
  expect(runbookRuns.mock.calls.map(([name]) => name)).toEqual(['read-once']);
  expect(runTimings).toHaveBeenCalledTimes(1);
  runbookRuns.mockRestore();
  runTimings.mockRestore();

  const check = await openRecordStore({ databaseUrl: `file:${path.join(env.CUTOVER_HOME!, 'cutover.db')}` });
  try {
    const run = await check.findRun('read-once-51');
    expect(run?.state?.steps.go?.gate?.pointOfNoReturn).toMatchObject({ backoutMs: expected, backoutSource: 'measured' });
  } finally {
    await check.close();
  }
}, 180_000);

it('a start whose runbook has no gate reads no step timings and forecasts nothing', async () => {
  const file = await recordHistory('no-gate', false);
  const runbookRuns = vi.spyOn(RecordStore.prototype, 'runbookRuns');
  const runTimings = vi.spyOn(RecordStore.prototype, 'runTimings');
  const code = await startAndFollow({ file, mode: 'rehearsal', autoApprove: false, startedBy: 'alice', out });
  expect(code, lines.join('\n')).toBe(0);
  expect(runbookRuns).toHaveBeenCalledTimes(1);
  expect(runTimings).not.toHaveBeenCalled();
}, 180_000);
