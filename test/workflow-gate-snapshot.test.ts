/**
 * While Temporal is away, `cutover status` and `cutover gate` show a run in flight from the record store's snapshot
 * (issue 16): the workflow writes it when a gate opens and when it closes, so an open gate shows open, and a closed
 * one closed, to the approver who looks while Temporal is down. The CLI here is pointed at a dead address and reads
 * the real SQLite store the run writes to.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { hashRunbook } from '../run/version-hash.js';
import { parseRunbook } from '../runbook/parse.js';
import { approveGateUpdate } from '../workflows/messages.js';
import { cliEnv, runCli, type CliResult } from './support/cli.js';
import { startHarness, waitForState, type Harness } from './support/workflow-harness.js';
import { migratedStoreAt } from './support/store-template.js';

let store: RecordStore;
let h: Harness;
let databaseUrl: string;
beforeAll(async () => {
  databaseUrl = migratedStoreAt(path.join(mkdtempSync(path.join(tmpdir(), 'cutover-gate-snap-')), 'cutover.db'));
  store = await openRecordStore({ databaseUrl });
  h = await startHarness({ store });
});
afterAll(async () => {
  await h?.stop();
  await store?.close();
});

const RUNBOOK = `
name: gate-snapshot
version: "1"
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: load
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: dba, expected: 1s, action: { kind: shell, command: "true" } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, depends_on: [copy], gate: { approvers: [lead] } }
      - { id: after, title: After, owner: dba, depends_on: [go], expected: 1s, action: { kind: manual, instructions: "wait" } }
`;

/** `cutover ARGS` against a Temporal nobody answers at, and the run's real record store. */
function offline(args: string[]): CliResult {
  return runCli(args, cliEnv({ TEMPORAL_ADDRESS: '127.0.0.1:1', CUTOVER_DATABASE_URL: databaseUrl }));
}

/** Asks `cutover ARGS` (offline) until its output matches, or fails with the last output after `timeoutMs`. */
async function untilShown(args: string[], pattern: RegExp, timeoutMs = 60_000): Promise<CliResult> {
  const deadline = Date.now() + timeoutMs;
  let last: CliResult;
  do {
    last = offline(args);
    if (pattern.test(last.stdout)) return last;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < deadline);
  throw new Error(`cutover ${args.join(' ')} never showed ${pattern}; last:\n${last.stdout}${last.stderr}`);
}

describe('a run in flight, read from the record store while Temporal is away', () => {
  it('shows a gate open once it opened, and closed once it closed', async () => {
    const parsed = parseRunbook(RUNBOOK, 'runbook.yaml');
    if (!parsed.ok) throw new Error('test runbook invalid');
    const { runId } = await store.reserveRun({
      runbookName: 'gate-snapshot',
      mode: 'rehearsal',
      runbookVersion: '1',
      versionHash: hashRunbook(parsed.runbook),
      runbookSource: RUNBOOK,
      startedBy: 'alice',
    });
    const handle = await h.start(RUNBOOK, { runId });
    await waitForState(handle, (s) => s.steps.go?.gate?.status === 'open');

    const gate = await untilShown(['gate', runId, 'go'], /gate go of .*: OPEN/);
    expect(gate.code).toBe(0);
    expect(gate.stderr).toMatch(/live state unavailable/);
    const status = await untilShown(['status', runId], /go\s+lead\s+waiting/);
    expect(status.stdout).toMatch(/needs lead/);

    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] });
    await waitForState(handle, (s) => s.steps.after?.status === 'waiting');
    await untilShown(['gate', runId, 'go'], /gate go of .*: APPROVED/);
  }, 180_000);
});
