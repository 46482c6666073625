/**
 * Hypercare on a real Temporal dev server, with short durations: the exit gate opens only while its criteria hold and
 * its approval ends the run, across a hand-over; incident changes made while executions hand over are all kept. The
 * 30-day timeline (markers to the minute, the stale KPI's incident, MTTR per severity, bad input, the decision log)
 * runs on the time-skipping server in workflow-hypercare-30-days.test.ts.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunState } from '../run/state.js';
import { approveHypercareExitUpdate } from '../workflows/messages.js';
import { sendPersonRequest, type IncidentChange } from '../common/person-requests.js';
import { sqliteFile } from './support/reconcile-data.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

/** A KPI database whose report was last loaded `agoMs` ago. */
function loadedAgo(file: string, agoMs: number): void {
  const db = new Database(path.join(h.dir, file));
  db.exec('CREATE TABLE IF NOT EXISTS orders (loaded_at TEXT)');
  db.exec('DELETE FROM orders');
  db.prepare('INSERT INTO orders VALUES (?)').run(new Date(Date.now() - agoMs).toISOString());
  db.close();
}

const runbook = (name: string, db: string, exit: string) => `
name: ${name}
version: 1
lead: lead
roles: { lead: [alice], bi: [ben], ops: [olga] }
connections:
  kpi: { driver: sqlite, path: ${db} }
phases:
  - id: go
    kind: interface_switch_on
    steps:
      - { id: sync-on, title: Sync on, owner: lead, expected: 1s, action: { kind: simulate, duration: 0s } }
hypercare:
  mttr: { sev1: 8s, sev2: 1m, sev3: 1h }
  approaching: 0.5
  kpis:
    - { id: orders, owner: bi, sla: 1h, repeat: 1s, source: { kind: sql, connection: kpi, query: "SELECT max(loaded_at) FROM orders" } }
  owners: { interfaces: { sync-on: ops }, systems: { kpi: bi } }
  exit: ${exit}
`;

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (err: unknown) => (err instanceof WorkflowUpdateFailedError ? (err.cause?.message ?? err.message) : String(err)),
  );
const inHypercare = (state: RunState) => state.hypercare?.kpis[0]?.fresh !== undefined;

describe('hypercare on the run', () => {
  it('the exit gate opens only while its criteria hold; its approval ends the run, across a hand-over', async () => {
    sqliteFile(h.dir, 'b.db', 'CREATE TABLE orders (loaded_at TEXT)', []);
    loadedAgo('b.db', 60_000);
    const handle = await h.start(runbook('hc-exit', 'b.db', '{ approvers: [lead, bi], mttr_days: 1 }'), { historyBudget: 60 });
    await waitForState(handle, (s) => s.hypercare?.exit.status === 'open');
    // Sent as the CLI sends them: a request that meets a hand-over is sent again (see the last test).
    const send = (change: IncidentChange) => sendPersonRequest(handle, { kind: 'incident', as: 'ben', change });
    const approve = (as: string) => sendPersonRequest(handle, { kind: 'approve', gateId: 'hypercare-exit', as });
    await send({ action: 'open', severity: 2, title: 'Invoices late', owner: 'bi' });
    await waitForState(handle, (s) => s.hypercare!.exit.status === 'pending');
    expect(await refusal(handle.executeUpdate(approveHypercareExitUpdate, { args: [{ gateId: 'hypercare-exit', by: 'alice' }] }))).toBe(
      'the hypercare exit gate is not open: its criteria do not hold (sev2 incident INC-1 is open (Invoices late))',
    );
    // Hourly rounds in small: the run hands over to new executions while the incident is open, and keeps it.
    const state = await waitForState(handle, (s) => (s.execution ?? 1) >= 2, 60_000);
    expect(state.hypercare!.incidents[0]).toMatchObject({ id: 'INC-1', status: 'open' });
    await send({ action: 'resolve', incidentId: 'INC-1' });
    await waitForState(handle, (s) => s.hypercare!.exit.status === 'open');
    await approve('alice');
    const gate = await approve('ben');
    expect(gate.status).toBe('approved');
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(result.outcome).toMatch(/^went live in \S+; hypercare exited after \S+$/);
    expect(result.state.hypercare!.status).toBe('exited');
    expect(result.state.decisions.filter((d) => d.target === 'hypercare-exit').map((d) => [d.kind, d.by])).toEqual([
      ['approve', 'alice'],
      ['approve', 'ben'],
    ]);
  });
});

describe('hypercare across many hand-overs', () => {
  it('keeps every incident change made while executions hand over', async () => {
    sqliteFile(h.dir, 'c.db', 'CREATE TABLE orders (loaded_at TEXT)', []);
    loadedAgo('c.db', 60_000);
    const handle = await h.start(runbook('hc-many', 'c.db', '{ approvers: [lead], mttr_days: 1 }'), { historyBudget: 40 });
    await waitForState(handle, inHypercare);
    // As the CLI sends them: a request that meets the moment of a hand-over is refused unapplied, and sent again.
    const send = (change: IncidentChange) => sendPersonRequest(handle, { kind: 'incident', as: 'olga', change });
    for (let i = 0; i < 40; i += 1) {
      const { id } = await send({ action: 'open', severity: 4, title: `n${i}`, owner: 'ops' });
      await send({ action: 'resolve', incidentId: id });
    }
    const state = await waitForState(handle, (s) => s.hypercare!.incidents.length === 40);
    expect(state.execution).toBeGreaterThan(2);
    expect(state.hypercare!.incidents.filter((i) => i.status !== 'resolved').map((i) => i.id)).toEqual([]);
    await handle.cancel();
  });
});
