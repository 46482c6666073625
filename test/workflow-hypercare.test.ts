/**
 * Hypercare on a real Temporal dev server, with short durations (the SDK's time-skipping server is a binary that only
 * downloads from outside the package registries; the 30-day timeline runs against the pure rules in
 * run-hypercare.test.ts). A run that went live stays in hypercare: incidents come in as Updates and are logged, each
 * open incident's markers are raised at the second they were due, a stale KPI opens an incident for its owner (not a
 * back-out), the exit gate opens only while its criteria hold, and its approval ends the run, across a hand-over.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentRequest } from '../run/hypercare.js';
import type { RunState } from '../run/state.js';
import { approveHypercareExitUpdate, changeIncidentUpdate, requestBackoutUpdate } from '../workflows/messages.js';
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

const incident = (handle: WorkflowHandle, request: IncidentRequest) => handle.executeUpdate(changeIncidentUpdate, { args: [request] });
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (err: unknown) => (err instanceof WorkflowUpdateFailedError ? (err.cause?.message ?? err.message) : String(err)),
  );
const inHypercare = (state: RunState) => state.hypercare?.kpis[0]?.fresh !== undefined;

describe('hypercare on the run', () => {
  it('takes incidents, raises their markers when due, and opens one incident for a stale KPI instead of backing out', async () => {
    sqliteFile(h.dir, 'a.db', 'CREATE TABLE orders (loaded_at TEXT)', []);
    loadedAgo('a.db', 60_000);
    const handle = await h.start(runbook('hc-incidents', 'a.db', '{ approvers: [lead], mttr_days: 1 }'));
    let state = await waitForState(handle, inHypercare);
    expect(state.steps['sync-on']!.status).toBe('succeeded');
    expect(state.status).toBe('waiting'); // the exit gate is open: nothing is wrong yet
    expect(state.hypercare!.exit.status).toBe('open');

    // Bad input, one sentence each; nothing is logged.
    const decisionsBefore = state.decisions.length;
    expect(await refusal(incident(handle, { action: 'open', by: 'olga', severity: 7, title: 'x', owner: 'ops' }))).toBe(
      'severity 7 is not one of 1, 2, 3, 4 (1 is the worst)',
    );
    expect(await refusal(incident(handle, { action: 'resolve', by: 'olga', incidentId: 'INC-42' }))).toBe(
      'there is no incident INC-42 in this run; `cutover incident list RUN` shows them',
    );
    expect(await refusal(handle.executeUpdate(requestBackoutUpdate, { args: [{ by: 'alice', reason: 'why not' }] }))).toBe(
      'the run went live and is in hypercare: there is nothing left to back out; open an incident instead',
    );

    const opened = await incident(handle, {
      action: 'open',
      by: 'olga',
      severity: 1,
      title: 'Orders stuck in the queue',
      owner: 'ops',
      external: 'JIRA-7',
    });
    expect(opened).toMatchObject({ id: 'INC-1', severity: 1, status: 'open', owner: 'ops', external: 'JIRA-7' });
    const openedMs = Date.parse(opened.openedAt);
    // Approaching at half of 8 s, breached at 8 s: each with the second it was due, raised by the run's own timer.
    state = await waitForState(handle, (s) => s.hypercare!.incidents[0]!.breachedAt !== undefined, 60_000);
    const inc = state.hypercare!.incidents[0]!;
    expect(Date.parse(inc.approachingAt!) - openedMs).toBe(4_000);
    expect(Date.parse(inc.breachedAt!) - openedMs).toBe(8_000);
    expect(state.hypercare!.exit.status).toBe('pending');
    expect(state.hypercare!.exit.unmetCriteria).toContain('sev1 incident INC-1 is open (Orders stuck in the queue)');

    const resolved = await incident(handle, { action: 'resolve', by: 'olga', incidentId: 'INC-1', note: 'queue drained' });
    expect(resolved.status).toBe('resolved');
    expect(await refusal(incident(handle, { action: 'resolve', by: 'alice', incidentId: 'INC-1' }))).toBe(
      `incident INC-1 was already resolved at ${resolved.resolvedAt} by olga`,
    );

    // The report stops loading: two hours old against a one-hour SLA. One incident for bi, the run goes on.
    loadedAgo('a.db', 2 * 3_600_000);
    state = await waitForState(handle, (s) => s.hypercare!.incidents.length === 2, 30_000);
    expect(state.hypercare!.incidents[1]).toMatchObject({ id: 'INC-2', severity: 3, owner: 'bi', kpi: 'orders', openedBy: 'cutover' });
    state = await waitForState(handle, (s) => s.hypercare!.kpis[0]!.staleRounds >= 3, 30_000);
    expect(state.hypercare!.incidents).toHaveLength(2);
    expect(state.backout.status).toBe('not_requested');
    expect(state.decisions.slice(decisionsBefore).map((d) => [d.kind, d.by, d.target])).toEqual([
      ['incident', 'olga', 'INC-1 (open)'],
      ['incident', 'olga', 'INC-1 (resolve)'],
      ['incident', 'cutover', 'INC-2 (open)'],
    ]);
    await handle.cancel();
  });

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
