/**
 * The record store is not trusted as code (issue 17): the workflow checks the runbook text it reads from the store
 * against the run's version hash, which Temporal holds, before it uses it. A text rewritten in the store mid-run
 * (SQLite, written behind Prisma's back as anyone with write access could) is refused at the next hand-over: the run
 * says why and waits, runs nothing of it, and goes on once the store holds the reserved text again.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { hashRunbook, runbookMismatch } from '../run/version-hash.js';
import { parseRunbook } from '../runbook/parse.js';
import { completeManualStepUpdate, runSummaryQuery } from '../workflows/messages.js';
import { rawSql } from './support/store-fixtures.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';
import { migratedStoreAt } from './support/store-template.js';

let store: RecordStore;
let url: string;
let h: Harness;
beforeAll(async () => {
  url = migratedStoreAt(path.join(mkdtempSync(path.join(tmpdir(), 'cutover-hash-')), 'cutover.db'));
  store = await openRecordStore({ databaseUrl: url });
  h = await startHarness({ store });
});
afterAll(async () => {
  await h?.stop();
  await store?.close();
});

const RUNBOOK = (command: string) => `
name: tampered
version: "1"
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: load
    kind: migration
    steps:
      - { id: hold, title: Hold, owner: dba, action: { kind: manual } }
      - { id: after, title: After, owner: dba, depends_on: [hold], action: { kind: shell, command: "${command}" } }
`;
const REAL = RUNBOOK('echo ran > after.log');
const EVIL = RUNBOOK('echo pwned > pwned.log');
const hashOf = (source: string): string => {
  const parsed = parseRunbook(source, 'runbook.yaml');
  if (!parsed.ok) throw new Error('test runbook invalid');
  return hashRunbook(parsed.runbook);
};
const storeText = (runId: string, source: string) =>
  rawSql(url, [`UPDATE "Run" SET "runbookSource" = '${source.replaceAll("'", "''")}' WHERE "id" = '${runId}'`]);

describe('a runbook text changed in the record store mid-run', () => {
  it('is refused at the next hand-over, saying why; nothing of it runs; the reserved text lets the run go on', async () => {
    const versionHash = hashOf(REAL);
    expect(versionHash).toMatch(/^[0-9a-f]{64}$/);
    const { runId } = await store.reserveRun({
      runbookName: 'tampered',
      mode: 'rehearsal',
      runbookVersion: '1',
      versionHash,
      runbookSource: REAL,
      startedBy: 'alice',
    });
    // A budget of one event: the run hands over as soon as it has moved on.
    const handle = await h.start(REAL, { runId, historyBudget: 1 });
    await waitForState(handle, (s) => s.steps.hold!.waitingFor === 'manual');
    await storeText(runId, EVIL);
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'hold', by: 'bob' }] });

    const deadline = Date.now() + 60_000;
    let said = '';
    while (Date.now() < deadline && !said.includes('is not the version')) {
      said = await handle.query(runSummaryQuery).then(
        () => '',
        (err: unknown) => (err as Error).message,
      );
      if (!said.includes('is not the version')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(said).toContain(
      `the runbook text the record store holds for ${runId} is not the version this run was started with: it hashes to ${hashOf(EVIL)}, not to ${versionHash}`,
    );
    expect(existsSync(path.join(h.dir, 'pwned.log'))).toBe(false);
    expect(existsSync(path.join(h.dir, 'after.log'))).toBe(false);

    await storeText(runId, REAL);
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(existsSync(path.join(h.dir, 'after.log'))).toBe(true);
    expect(existsSync(path.join(h.dir, 'pwned.log'))).toBe(false);
  }, 120_000);
});

describe('runbookMismatch', () => {
  const parsed = parseRunbook(REAL, 'runbook.yaml');
  if (!parsed.ok) throw new Error('test runbook invalid');
  const full = hashRunbook(parsed.runbook);
  it('checks a full hash whole, and the 16 digits runs reserved before it carry', () => {
    expect(runbookMismatch(parsed.runbook, full)).toBeUndefined();
    expect(runbookMismatch(parsed.runbook, full.slice(0, 16))).toBeUndefined();
    expect(runbookMismatch(parsed.runbook, `${full.slice(0, 63)}0`)).toMatch(/^hashes to [0-9a-f]{64}, not to /);
    expect(runbookMismatch(parsed.runbook, '0123456789abcdef')).toBe(`hashes to ${full.slice(0, 16)}, not to 0123456789abcdef`);
  });
});
