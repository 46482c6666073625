/**
 * The parallel run in hypercare, on Temporal's time-skipping test server: a `hypercare.reconcile` compares old and new
 * every hour; while they differ the exit gate stays shut on its `drift_rounds` criterion, and it opens on the round
 * that makes the last N rounds clean. The run keeps each round's counts (not its rows), and `report --hypercare` lists
 * the drift per round.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hypercareReportMarkdown } from '../present/hypercare-report.js';
import { hypercareLines, hypercareView } from '../present/hypercare-view.js';
import { approveHypercareExitUpdate } from '../workflows/messages.js';
import { sqliteFile } from './support/reconcile-data.js';
import { startTimeSkipping } from './support/time-skipping.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

const HOUR = 3_600_000;
let env: TestWorkflowEnvironment;
let h: Harness;

beforeAll(async () => {
  env = await startTimeSkipping();
  h = await startHarness({ address: env.address });
});
afterAll(async () => {
  await h?.stop();
  await env?.teardown();
});

const runbook = `
name: hc-drift
version: 1
lead: lead
roles: { lead: [alice], ops: [olga] }
connections:
  legacy: { driver: sqlite, path: legacy.db }
  crm: { driver: sqlite, path: crm.db }
phases:
  - id: go
    kind: interface_switch_on
    steps:
      - { id: sync-on, title: Sync on, owner: lead, expected: 1s, action: { kind: simulate, duration: 0s } }
hypercare:
  reconcile:
    - { id: orders, title: Orders old vs new, owner: ops, source: { connection: legacy, table: orders }, target: { connection: crm, table: orders }, key: id, repeat: 1h }
  owners: { interfaces: { sync-on: ops }, systems: { legacy: ops, crm: ops } }
  exit: { approvers: [lead], drift_rounds: 3 }
`;

it('keeps the exit gate shut while old and new differ, and opens it after 3 clean hourly rounds', async () => {
  const ddl = 'CREATE TABLE orders (id INTEGER PRIMARY KEY, total TEXT)';
  sqliteFile(h.dir, 'legacy.db', ddl, [
    [1, '10.00'],
    [2, '20.00'],
    [3, '30.00'],
  ]);
  // The new CRM misses order 3 and has order 2 wrong.
  sqliteFile(h.dir, 'crm.db', ddl, [
    [1, '10.00'],
    [2, '21.00'],
  ]);
  const handle = await h.start(runbook);
  const rounds = (n: number) => waitForState(handle, (s) => (s.hypercare?.reconciles?.[0]?.rounds ?? 0) >= n, 60_000);
  let state = await rounds(1);
  const start = Date.parse(state.hypercare!.startedAt);
  expect(state.hypercare!.reconciles![0]!.last).toEqual([{ round: 1, at: expect.any(String), missing: 1, extra: 0, mismatched: 1 }]);
  expect(state.hypercare!.exit.status).toBe('pending');
  expect(state.hypercare!.exit.unmetCriteria).toEqual(['reconcile orders has not found 0 differences in each of its last 3 rounds']);

  await env.sleep(HOUR);
  await rounds(2);
  // The new CRM is fixed: from round 3 on, old and new agree.
  const crm = new Database(path.join(h.dir, 'crm.db'));
  crm.exec("UPDATE orders SET total = '20.00' WHERE id = 2; INSERT INTO orders VALUES (3, '30.00')");
  crm.close();
  await env.sleep(2 * HOUR);
  state = await rounds(4);
  expect(state.hypercare!.exit.status).toBe('pending'); // rounds 3 and 4 clean, round 2 still in the last 3
  // `cutover status` and `incident list` say how the parallel run goes.
  expect(hypercareLines(hypercareView(state.hypercare!, Date.now()), Date.now())).toContain(
    '  parallel run orders (ops): 4 rounds, 2 with drift; last round 4: no drift',
  );
  await env.sleep(HOUR);
  state = await waitForState(handle, (s) => s.hypercare?.exit.status === 'open', 60_000);
  const hc = state.hypercare!;
  const entry = hc.reconciles![0]!;
  expect([entry.rounds, entry.driftRounds]).toEqual([5, 2]);
  expect(entry.last.map((r) => r.missing! + r.extra! + r.mismatched!)).toEqual([2, 2, 0, 0, 0]);
  // It opened with round 5, about 4 hours into hypercare.
  expect(Date.parse(hc.exit.openedAt!) - start).toBeGreaterThanOrEqual(4 * HOUR);
  expect(Date.parse(hc.exit.openedAt!) - start).toBeLessThan(5 * HOUR);

  await handle.executeUpdate(approveHypercareExitUpdate, { args: [{ gateId: 'hypercare-exit', by: 'alice' }] });
  const result = await resultOf(handle);
  expect(result.status).toBe('completed');
  const report = hypercareReportMarkdown(result.state, new Date().toISOString());
  expect(report).toContain('## Parallel-run drift\n\n### Orders old vs new\n\nOwner ops; 5 rounds, 2 with drift.');
  const rows = report.split('\n').filter((line) => /^\| \d+ \|/.test(line));
  expect(
    rows.map((line) =>
      line
        .split('|')
        .map((c) => c.trim())
        .filter((c, i) => i !== 2 && c !== ''),
    ),
  ).toEqual([
    ['1', '2', '1', '0', '1'],
    ['2', '2', '1', '0', '1'],
    ['3', '0', '0', '0', '0'],
    ['4', '0', '0', '0', '0'],
    ['5', '0', '0', '0', '0'],
  ]);
});
