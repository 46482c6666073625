/**
 * `cutover run --live` and the runbook's windows: refused outside its change window, and when its plan puts an
 * interface switch-on step into a declared freeze, naming both; overridable by the lead only, signed, and logged as
 * the run's first decision (an override) that verifies against the lead's key. Real store (SQLite), real Temporal
 * server and worker, the built CLI; the rehearsal evidence is recorded, so the windows are all that is missing.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyText } from '../cli/keys.js';
import { openRecordStore } from '../prisma/store.js';
import { cliEnv, killStartedCli, runCli, startWorkerCli } from './support/cli.js';
import { temporalAddress } from './support/temporal.js';
import { recordRun, timingRunbook } from './support/timing-data.js';
import { migratedStoreAt } from './support/store-template.js';

const DAY = 86_400_000;
const MIN = 60_000;
const name = `live-window-${Date.now().toString(36)}`;
const aliceKey = generateKeyPairSync('ed25519').privateKey;
const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19) + 'Z';
const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + 'Z';
/** The night began two hours ago; the change window closed an hour ago; interfaces are frozen for the next 10 minutes. */
const windowStart = Math.floor((now - 120 * MIN) / 1000) * 1000;
const changeEnd = windowStart + 60 * MIN;
const freeze = [now - 10 * MIN, now + 10 * MIN].map((ms) => Math.floor(ms / 1000) * 1000) as [number, number];
const RUNBOOK = `name: ${name}
version: "1"
lead: lead
roles: { lead: [alice], dba: [bob] }
people: { alice: { key: "${publicKeyText(aliceKey)}" } }
evidence: { rehearsal_within: 7d }
window: { start: "${iso(windowStart)}", length: 8h }
change_window: { start: "${iso(windowStart)}", end: "${iso(changeEnd)}" }
freeze_windows:
  - { start: "${iso(freeze[0])}", end: "${iso(freeze[1])}", reason: bank batch }
phases:
  - id: move
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: dba, expected: 1s, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
  - id: on
    kind: interface_switch_on
    steps:
      - { id: enable, title: Enable, owner: dba, expected: 1s, action: { kind: shell, command: "true" } }
`;

let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cutover-live-window-'));
  writeFileSync(path.join(dir, 'runbook.yaml'), RUNBOOK);
  mkdirSync(path.join(dir, 'keys'));
  writeFileSync(path.join(dir, 'keys', 'signing-key.pem'), aliceKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  env = cliEnv({
    CUTOVER_KEYS_DIR: path.join(dir, 'keys'),
    TEMPORAL_ADDRESS: temporalAddress(),
    CUTOVER_TASK_QUEUE: `q-${name}`,
    CUTOVER_DATABASE_URL: migratedStoreAt(path.join(dir, 'store.db')),
  });
  // The evidence a live run needs: a rehearsed back-out and a completed rehearsal of this version.
  const store = await openRecordStore({ databaseUrl: env.CUTOVER_DATABASE_URL });
  try {
    const runbook = timingRunbook(RUNBOOK);
    await recordRun(store, {
      runbook,
      startMs: now - 3 * DAY,
      durations: { copy: 1000, enable: 1000 },
      backout: { reason: 'rehearsing back-out', undo: { copy: 1000 } },
    });
    await recordRun(store, { runbook, startMs: now - 2 * DAY, durations: { copy: 1000, enable: 1000 } });
  } finally {
    await store.close();
  }
  await startWorkerCli([], env, dir);
}, 120_000);

afterAll(killStartedCli);

const live = (...extra: string[]) => runCli(['run', 'runbook.yaml', '--live', '--confirm', ...extra], env, dir);

describe('cutover run --live and the windows', () => {
  it('refuses outside the change window and with a switch-on step planned in a freeze, naming both; nothing starts', () => {
    const result = live('--as', 'alice');
    expect(result.code, result.stdout + result.stderr).toBe(7);
    const message = result.stderr.trim();
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(
      new RegExp(
        `^cutover: ${name} v1 \\(\\w+\\) may not run live now; outside \\(1\\) the change window: it closed at ${minute(changeEnd)}`,
      ),
    );
    expect(message).toContain(
      `(2) the interface freeze ${minute(freeze[0])} to ${minute(freeze[1])} (bank batch): switch-on step enable is planned from`,
    );
    expect(message).toContain('--override-window "REASON"');
    const history = runCli(['history', name, '--json'], env, dir);
    expect(history.stdout).not.toMatch(/"mode":\s*"live"/);
  });

  it('takes the override from the lead only, signed, and logs it as the first decision', () => {
    const notLead = live('--as', 'bob', '--override-window', 'the vendor moved the date');
    expect(notLead.code).toBe(7);
    expect(notLead.stderr).toContain('--override-window needs the lead role lead (alice); bob does not hold it');

    const result = live('--as', 'alice', '--override-window', 'CAB approved an extension');
    expect(result.stderr).toContain(`going live WITHOUT the change window: it closed at ${minute(changeEnd)}`);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const runId = /LIVE RUN (\S+)/.exec(result.stdout)![1]!;
    const log = runCli(['decisions', runId, '--json'], env, dir);
    expect(log.code, log.stderr).toBe(0);
    const parsed = JSON.parse(log.stdout) as { decisions?: unknown[] } | unknown[];
    const entries = (Array.isArray(parsed) ? parsed : (parsed.decisions ?? [])) as {
      kind: string;
      by: string;
      role: string;
      reason: string;
    }[];
    expect(entries[0]).toMatchObject({ kind: 'override', by: 'alice', role: 'lead' });
    expect(entries[0]!.reason).toContain(`CAB approved an extension (missing: the change window: it closed at ${minute(changeEnd)}`);
    expect(entries[0]!.reason).toContain('the interface freeze');
    const verified = runCli(['decisions', runId, '--verify'], env, dir);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('every signature matches its key');
  }, 240_000);
});
