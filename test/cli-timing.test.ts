/**
 * `cutover history` and `cutover compare` against runs recorded in a real SQLite store (through the store's own
 * writes), through the built CLI as a user runs it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRecordStore } from '../prisma/store.js';
import { cliEnv, runCli } from './support/cli.js';
import { recordRun, timingRunbook } from './support/timing-data.js';
import { migratedStoreAt } from './support/store-template.js';

const MIN = 60_000;
const V1 = `name: crm-move
version: "1.0"
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: prep
    kind: preparation
    steps:
      - { id: backup, title: Back up, owner: dba, expected: 10m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
      - { id: notify, title: Notify users, owner: lead, expected: 5m, action: { kind: manual } }
      - { id: old-export, title: Old export, owner: dba, expected: 5m, action: { kind: shell, command: "true" } }
  - id: move
    kind: migration
    steps:
      - { id: load, title: Load data, owner: dba, expected: 30m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
`;
const V2 =
  V1.replace(
    '      - { id: old-export, title: Old export, owner: dba, expected: 5m, action: { kind: shell, command: "true" } }\n',
    '',
  ).replace('version: "1.0"', 'version: "1.1"') +
  `      - { id: verify, title: Verify counts, owner: dba, expected: 5m, depends_on: [load], action: { kind: shell, command: "true" } }\n`;

let env: Record<string, string>;
let dir: string;
const ids: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cutover-timing-'));
  env = cliEnv({ CUTOVER_DATABASE_URL: migratedStoreAt(path.join(dir, 'store.db')) });
  const store = await openRecordStore({ databaseUrl: env.CUTOVER_DATABASE_URL });
  try {
    const v1 = timingRunbook(V1);
    const v2 = timingRunbook(V2);
    const t0 = Date.parse('2026-11-01T20:00:00Z');
    ids.push(
      await recordRun(store, {
        runbook: v1,
        startMs: t0,
        durations: { backup: 12 * MIN, notify: 4 * MIN, 'old-export': 6 * MIN, load: 31 * MIN },
      }),
    );
    ids.push(
      await recordRun(store, {
        runbook: v1,
        startMs: t0 + 86_400_000,
        startedBy: 'bob',
        durations: { backup: 11 * MIN, notify: 5 * MIN, 'old-export': 5 * MIN, load: 40 * MIN },
        backout: { reason: 'load too slow', undo: { load: 8 * MIN, backup: 3 * MIN } },
      }),
    );
    ids.push(
      await recordRun(store, {
        runbook: v2,
        startMs: t0 + 2 * 86_400_000,
        durations: { backup: 9 * MIN, notify: 25 * MIN, load: 29 * MIN, verify: 6 * MIN },
      }),
    );
  } finally {
    await store.close();
  }
  writeFileSync(path.join(dir, 'runbook.yaml'), V2);
});

afterAll(() => undefined);

describe('cutover history', () => {
  it('lists every run of the runbook newest first, with version, duration, outcome, back-out and who led it', () => {
    const result = runCli(['history', 'crm-move'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const runLines = lines.filter((l) => l.startsWith('crm-move-'));
    expect(runLines.map((l) => l.split(/\s+/)[0])).toEqual(['crm-move-3', 'crm-move-2', 'crm-move-1']);
    expect(runLines[0]).toMatch(/rehearsal\s+1\.1 \(/);
    expect(runLines[0]).toMatch(/1h00m\s+completed\s+no\s+alice/);
    expect(runLines[1]).toMatch(/backed_out\s+yes 11m00s\s+bob/);
    expect(result.stdout).toContain('3 runs: 3 rehearsals (2 completed, 1 backed out), 0 live');
  });

  it('takes the runbook file as well as its name, and prints JSON', () => {
    const result = runCli(['history', path.join(dir, 'runbook.yaml'), '--json'], env);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as {
      runbook: string;
      runs: { runId: string; backedOut: boolean; durationMs: number; ledBy: string; versionHash: string }[];
    };
    expect(parsed.runbook).toBe('crm-move');
    expect(parsed.runs.map((r) => [r.runId, r.backedOut, r.durationMs, r.ledBy])).toEqual([
      ['crm-move-3', false, 60 * MIN, 'alice'],
      ['crm-move-2', true, 62 * MIN, 'bob'],
      ['crm-move-1', false, 43 * MIN, 'alice'],
    ]);
    expect(parsed.runs[0]!.versionHash).not.toBe(parsed.runs[2]!.versionHash);
  });

  it('says in one sentence when no runbook has that name', () => {
    const result = runCli(['history', 'no-such-runbook'], env);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/no runs of a runbook `no-such-runbook` are recorded/);
  });
});

describe('cutover compare', () => {
  it('shows per phase and step planned, A, B and the difference, added and removed steps, the critical path and the slowest-growing steps', () => {
    const result = runCli(['compare', 'crm-move-1', 'crm-move-3', '--json'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const c = JSON.parse(result.stdout) as {
      sameVersion: boolean;
      totalDeltaMs: number;
      added: string[];
      removed: string[];
      steps: { stepId: string; plannedMs: number; aMs: number | null; bMs: number | null; deltaMs: number | null; presence: string }[];
      phases: { phaseId: string; aMs: number; bMs: number; deltaMs: number }[];
      criticalPath: { a: string[]; b: string[]; joined: string[]; left: string[] };
      slower: { stepId: string; deltaMs: number }[];
    };
    expect(c.sameVersion).toBe(false);
    expect(c.totalDeltaMs).toBe(17 * MIN);
    expect(c.added).toEqual(['verify']);
    expect(c.removed).toEqual(['old-export']);
    const load = c.steps.find((s) => s.stepId === 'load')!;
    expect(load).toMatchObject({ plannedMs: 30 * MIN, aMs: 31 * MIN, bMs: 29 * MIN, deltaMs: -2 * MIN, presence: 'both' });
    expect(c.steps.find((s) => s.stepId === 'verify')).toMatchObject({ presence: 'added', aMs: null, bMs: 6 * MIN });
    expect(c.steps.find((s) => s.stepId === 'old-export')).toMatchObject({ presence: 'removed', aMs: 6 * MIN, bMs: null });
    expect(c.phases.find((p) => p.phaseId === 'prep')).toMatchObject({ aMs: 12 * MIN, bMs: 25 * MIN, deltaMs: 13 * MIN });
    // A: backup (12m) set the start of load; B: the manual notify (25m) did.
    expect(c.criticalPath.a).toEqual(['backup', 'load']);
    expect(c.criticalPath.b).toEqual(['notify', 'load', 'verify']);
    expect(c.criticalPath.joined).toEqual(['notify', 'verify']);
    expect(c.criticalPath.left).toEqual(['backup']);
    expect(c.slower[0]).toMatchObject({ stepId: 'notify', deltaMs: 21 * MIN });
  });

  it('prints the comparison for people', () => {
    const result = runCli(['compare', 'crm-move-1', 'crm-move-2'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/B took \+19m00s against A/);
    expect(result.stdout).toMatch(/load\s+30m00s\s+31m00s\s+40m00s\s+\+9m00s/);
    expect(result.stdout).toContain('slower in B:');
  });

  it('names an unknown run in one sentence', () => {
    const result = runCli(['compare', 'crm-move-1', 'crm-move-9'], env);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('cutover: there is no run `crm-move-9`; `cutover list` shows the runs');
  });
});

describe('cutover forecast', () => {
  it('forecasts the version in a runbook file from the recorded runs, the same for the same seed', () => {
    const file = path.join(dir, 'runbook.yaml');
    const one = runCli(['forecast', file, '--window', '2026-12-05T22:00:00Z/2h', '--seed', '5', '--simulations', '2000', '--json'], env);
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    const again = runCli(['forecast', file, '--window', '2026-12-05T22:00:00Z/2h', '--seed', '5', '--simulations', '2000', '--json'], env);
    expect(again.stdout).toBe(one.stdout);
    const f = JSON.parse(one.stdout) as {
      basis: { runs: number; sameVersionRuns: number; backedOutRuns: number };
      p50Ms: number;
      p90Ms: number;
      backout: { source: string; runs: number };
      window: { lengthMs: number; end: string; pInside: number; latestSafeGoNoGo: string };
      neverRehearsed: { stepId: string }[];
    };
    expect(f.basis).toMatchObject({ runs: 3, sameVersionRuns: 1, backedOutRuns: 1 });
    expect(f.p90Ms).toBeGreaterThan(f.p50Ms);
    expect(f.backout).toMatchObject({ source: 'measured', runs: 1 });
    expect(f.window).toMatchObject({ lengthMs: 2 * 60 * MIN, end: '2026-12-06T00:00:00.000Z' });
    expect(Date.parse(f.window.latestSafeGoNoGo)).toBeLessThan(Date.parse(f.window.end));
    expect(f.neverRehearsed).toEqual([]);
  });

  it('prints the forecast for people, by runbook name', () => {
    const result = runCli(['forecast', 'crm-move', '--window', '2h', '--simulations', '2000'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /forecast of crm-move \(\w+\) from 3 recorded runs \(1 of this version, 1 backed out\); 2,000 simulated nights, seed 1/,
    );
    expect(result.stdout).toMatch(/P50 \S+ {3}P90 \S+/);
    expect(result.stdout).toMatch(/window 2h00m: \d+% of nights end inside it/);
    expect(result.stdout).toMatch(/latest safe go\/no-go: window start \+ /);
    expect(result.stdout).toMatch(/most likely critical path \(\d+% of nights\): /);
  });

  it('refuses a window it cannot read, and an unknown runbook, in one sentence', () => {
    const bad = runCli(['forecast', 'crm-move', '--window', 'tonight'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('--window wants a length (6h)');
    const backwards = runCli(['forecast', 'crm-move', '--window', '2026-12-05T22:00:00Z/2026-12-05T20:00:00Z'], env);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toContain('--window ends before it starts');
    const unknown = runCli(['forecast', 'nothing-here'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^cutover: no runs of a runbook `nothing-here` are recorded in .*; `cutover list` shows the runs\n$/);
  });
});
