/**
 * `cutover run --live` is gated on rehearsal evidence recorded in the store: refused (naming what is missing), allowed
 * once a recent completed rehearsal of the same version and a rehearsed back-out are recorded, and overridable by the
 * lead only, which the run records as a decision. Real store (SQLite), real Temporal server and worker, the built CLI.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyText } from '../cli/keys.js';
import { openRecordStore } from '../prisma/store.js';
import { formatDuration } from '../runbook/duration.js';
import { cliEnv, eventually, killStartedCli, runCli, startCli, startWorkerCli } from './support/cli.js';
import { temporalAddress } from './support/temporal.js';
import { recordRun, timingRunbook } from './support/timing-data.js';
import { migratedStoreAt } from './support/store-template.js';

const DAY = 86_400_000;
const name = `live-gate-${Date.now().toString(36)}`;
const aliceKey = generateKeyPairSync('ed25519').privateKey;
const key = publicKeyText(aliceKey);
const RUNBOOK = `name: ${name}
version: "3.1"
lead: lead
roles: { lead: [alice], dba: [bob] }
people: { alice: { key: "${key}" } }
evidence: { rehearsal_within: 7d }
phases:
  - id: move
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: dba, expected: 1s, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
`;

let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cutover-live-gate-'));
  writeFileSync(path.join(dir, 'runbook.yaml'), RUNBOOK);
  // alice's signing key, as `cutover keys init` leaves it: an override is signed like a vote.
  mkdirSync(path.join(dir, 'keys'));
  writeFileSync(path.join(dir, 'keys', 'signing-key.pem'), aliceKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  env = cliEnv({
    CUTOVER_KEYS_DIR: path.join(dir, 'keys'),
    TEMPORAL_ADDRESS: temporalAddress(),
    CUTOVER_TASK_QUEUE: `q-${name}`,
    CUTOVER_DATABASE_URL: migratedStoreAt(path.join(dir, 'store.db')),
  });
  await startWorkerCli([], env, dir);
}, 120_000);

afterAll(killStartedCli);

async function record(spec: Omit<Parameters<typeof recordRun>[1], 'runbook'>, text = RUNBOOK): Promise<string> {
  const store = await openRecordStore({ databaseUrl: env.CUTOVER_DATABASE_URL });
  try {
    return await recordRun(store, { runbook: timingRunbook(text), ...spec });
  } finally {
    await store.close();
  }
}

const live = (...extra: string[]) => runCli(['run', 'runbook.yaml', '--live', '--confirm', ...extra], env, dir);

describe('cutover run --live', () => {
  it('refuses without rehearsals, naming both missing pieces of evidence', () => {
    const result = live('--as', 'alice');
    expect(result.code).toBe(7);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      new RegExp(`^cutover: ${name} v3\\.1 \\(\\w+\\) may not run live yet; missing \\(1\\) a completed rehearsal of this version`),
    );
    expect(result.stderr).toContain(`${name} was never rehearsed`);
    expect(result.stderr).toContain('(2) a rehearsal that exercised back-out');
    expect(result.stderr).toContain('--override-evidence "REASON"');
  });

  it('still refuses with only an old rehearsal of this version and one of another version, saying how old', async () => {
    await record({ startMs: Date.now() - 20 * DAY - 3_600_000, durations: { copy: 1000 } });
    await record({ startMs: Date.now() - DAY, durations: { copy: 1000 } }, RUNBOOK.replace('expected: 1s', 'expected: 2s'));
    const result = live('--as', 'alice');
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/missing \(1\) a completed rehearsal of this version within 7d: the latest, \S+-1, ended 20 days ago/);
    expect(result.stderr).toContain('(2) a rehearsal that exercised back-out');
  });

  it("lets only the lead override it, and records the override as the run's first decision", () => {
    const notLead = live('--as', 'bob', '--override-evidence', 'vendor deadline');
    expect(notLead.code).toBe(7);
    expect(notLead.stderr).toContain('--override-evidence needs the lead role lead (alice); bob does not hold it');
    // The lead on a machine without their key: the override is signed, so it is refused before anything starts.
    const keyless = runCli(
      ['run', 'runbook.yaml', '--live', '--confirm', '--as', 'alice', '--override-evidence', 'vendor deadline'],
      {
        ...env,
        CUTOVER_KEYS_DIR: path.join(dir, 'no-keys'),
      },
      dir,
    );
    expect(keyless.code).toBe(7);
    expect(keyless.stderr.trim()).toBe(
      'cutover: --override-evidence is signed, and this machine has no signing key for alice: run `cutover keys init`, and list the key `cutover keys show` prints under `people` in the runbook',
    );
    const history = runCli(['history', name, '--json'], env, dir);
    expect(history.stdout).toMatch(/"mode":\s*"rehearsal"/);
    expect(history.stdout).not.toMatch(/"mode":\s*"live"/);

    const result = live('--as', 'alice', '--override-evidence', 'vendor deadline moved');
    expect(result.stderr).toContain(
      'going live WITHOUT a completed rehearsal of this version within 7d and a rehearsal that exercised back-out',
    );
    expect(result.code).toBe(0);
    const runId = /LIVE RUN (\S+)/.exec(result.stdout)![1]!;
    const log = runCli(['decisions', runId, '--json'], env, dir);
    expect(log.code).toBe(0);
    const decisions = JSON.parse(log.stdout) as { decisions?: unknown[] } | unknown[];
    const entries = (Array.isArray(decisions) ? decisions : (decisions.decisions ?? [])) as {
      kind: string;
      by: string;
      role: string;
      reason: string;
    }[];
    expect(entries[0]).toMatchObject({ kind: 'override', by: 'alice', role: 'lead' });
    expect(entries[0]!.reason).toContain(
      'vendor deadline moved (missing: a completed rehearsal of this version within 7d; a rehearsal that exercised back-out)',
    );
    // Signed by alice, so it verifies offline against the runbook's key like every vote.
    const verified = runCli(['decisions', runId, '--verify'], env, dir);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/alice \(lead\) override live-evidence: "vendor deadline moved .*" \[signed [0-9a-f:]{23}\]/);
    expect(verified.stdout).toContain('every signature matches its key');
  });

  it('goes live once a recent completed rehearsal and a rehearsed back-out are recorded', async () => {
    await record({
      startMs: Date.now() - 3 * DAY,
      durations: { copy: 1000 },
      backout: { reason: 'rehearsing back-out', undo: { copy: 1000 } },
    });
    const onlyBackout = live('--as', 'alice');
    expect(onlyBackout.code).toBe(7);
    expect(onlyBackout.stderr).not.toContain('exercised back-out');
    await record({ startMs: Date.now() - 2 * DAY, durations: { copy: 1000 } });
    const result = live('--as', 'alice');
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/evidence: \S+ completed this version .*; back-out exercised in \S+/);
    expect(result.code).toBe(0);
  });
});

describe('the point of no return of a run', () => {
  it('keeps the P90 back-out measured in rehearsals free, the same figure as cutover forecast', async () => {
    const gated = `name: ${name}-w
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
window: { length: 2h }
phases:
  - id: move
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: dba, expected: 20m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go?, owner: lead, gate: { approvers: [lead] } }
`;
    writeFileSync(path.join(dir, 'gated.yaml'), gated);
    const recorded = { durations: { copy: 60_000, go: 60_000 }, backout: { reason: 'rehearsing back-out', undo: { copy: 7 * 60_000 } } };
    await record({ startMs: Date.now() - 3 * DAY, ...recorded }, gated);
    await record({ startMs: Date.now() - 2 * DAY, ...recorded, backout: { ...recorded.backout, undo: { copy: 9 * 60_000 } } }, gated);
    const forecast = runCli(['forecast', 'gated.yaml', '--json'], env, dir);
    expect(forecast.code).toBe(0);
    const backout = (JSON.parse(forecast.stdout) as { backout: { source: string; p90Ms: number } }).backout;
    expect(backout.source).toBe('measured');

    const follower = startCli(['rehearse', 'gated.yaml', '--as', 'alice'], env, dir);
    const runId = `${name}-w-3`;
    const gate = await eventually(
      () => runCli(['gate', runId, 'go'], env, dir),
      (r) => r.stdout.includes('point of no return'),
      60_000,
      'the gate to open',
    );
    expect(gate.stdout).toContain(`back-out P90 measured in rehearsals ${formatDuration(backout.p90Ms)}`);
    const rejected = runCli(['reject', runId, 'go', '--as', 'alice', '--reason', 'test over'], env, dir);
    expect(rejected.code).toBe(0);
    expect(await follower.exited).toBe(4);
  });
});
