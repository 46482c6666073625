/**
 * A 30-day hypercare on Temporal's time-skipping test server (test/support/time-skipping.ts): the KPI is checked every
 * hour of the 30 days, incidents are opened and resolved at known days and hours, and the run keeps MTTR per
 * severity to the minute, raises the approaching and breach markers at the minute they fall due, opens one incident
 * for the KPI's owner while its report is stale, and opens the exit gate only once every criterion holds. Weeks pass
 * in seconds: the server jumps to the next timer whenever the worker has nothing in hand.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Incident, IncidentRequest } from '../run/hypercare.js';
import { hypercareView } from '../present/hypercare-view.js';
import { approveHypercareExitUpdate, changeIncidentUpdate, requestBackoutUpdate } from '../workflows/messages.js';
import { startHookReceiver, type HookReceiver } from './support/notify-receivers.js';
import { startTimeSkipping } from './support/time-skipping.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let env: TestWorkflowEnvironment;
let h: Harness;
let kpiServer: http.Server;
let hook: HookReceiver;
const SECRET = 'hypercare-30-days-hook-secret';
process.env.HC30_HOOK_SECRET = SECRET;
/** When hypercare began (server time), once the run went live. */
let start = Number.NaN;

beforeAll(async () => {
  env = await startTimeSkipping();
  [h, hook] = await Promise.all([startHarness({ address: env.address }), startHookReceiver(SECRET)]);
  // The KPI report: loaded an hour ago, except from day 10 to day 12, when its load stops at day 10.
  kpiServer = http.createServer((_req, res) => {
    void env.currentTimeMs().then((now) => {
      const since = now - start;
      const loaded = since >= 10 * DAY && since < 12 * DAY ? start + 10 * DAY : now - HOUR;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ refreshed_at: new Date(loaded).toISOString() }));
    });
  });
  await new Promise<void>((resolve) => kpiServer.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  kpiServer?.close();
  await hook?.close();
  await h?.stop();
  await env?.teardown();
});

const runbook = (port: number) => `
name: hc-30-days
version: 1
lead: lead
roles: { lead: [alice], bi: [ben], ops: [olga] }
notifications:
  channels:
    hook: { kind: webhook, url: '${hook.url}', secret: '\${env:HC30_HOOK_SECRET}' }
  routes:
    - { on: [incident_approaching, incident_breached], via: [hook] }
phases:
  - id: go
    kind: interface_switch_on
    steps:
      - { id: sync-on, title: Sync on, owner: lead, expected: 1s, action: { kind: simulate, duration: 0s } }
hypercare:
  mttr: { sev1: 1h, sev2: 4h, sev3: 1d }
  kpis:
    - id: orders
      owner: bi
      sla: 24h
      repeat: 1h
      severity: 4
      source: { kind: http, url: "http://127.0.0.1:${port}/orders", field: refreshed_at }
  owners: { interfaces: { sync-on: ops } }
  exit: { approvers: [lead], mttr_days: 7, earliest: 21d }
`;

/** Lets the server's clock run on to `at` after hypercare began, every timer on the way firing as it falls due. */
async function until(at: number): Promise<void> {
  const now = await env.currentTimeMs();
  if (start + at > now) await env.sleep(start + at - now);
}

const minutes = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms / MINUTE));

it('runs 30 days of hourly KPI rounds and keeps MTTR, breaches, the stale KPI and the exit gate right', async () => {
  // A small history budget: the 30 days run across many executions (continue-as-new), which keep everything.
  const handle: WorkflowHandle = await h.start(runbook((kpiServer.address() as AddressInfo).port), { historyBudget: 500 });
  let state = await waitForState(handle, (s) => s.hypercare?.kpis[0]?.fresh === true);
  start = Date.parse(state.hypercare!.startedAt);
  expect(state.hypercare!.exit.unmetCriteria).toEqual([
    `the exit opens no earlier than ${new Date(start + 21 * DAY).toISOString()} (21d after hypercare began)`,
  ]);

  const change = (request: IncidentRequest): Promise<Incident> => handle.executeUpdate(changeIncidentUpdate, { args: [request] });
  /** Opens an incident at `at`, resolves it `after` later. */
  const incident = async (at: number, after: number, severity: number, title: string) => {
    await until(at);
    const { id } = await change({ action: 'open', by: 'olga', severity, title, owner: 'ops' });
    await until(at + after);
    return change({ action: 'resolve', by: 'olga', incidentId: id });
  };
  // Bad input, one sentence each, and nothing logged: a severity out of range, an incident the run does not have, a
  // back-out after go-live, an incident already resolved.
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => 'accepted',
      (err: WorkflowUpdateFailedError) => err.cause?.message,
    );
  expect(await refusal(change({ action: 'open', by: 'olga', severity: 7, title: 'x', owner: 'ops' }))).toBe(
    'severity 7 is not one of 1, 2, 3, 4 (1 is the worst)',
  );
  expect(await refusal(change({ action: 'resolve', by: 'olga', incidentId: 'INC-42' }))).toBe(
    'there is no incident INC-42 in this run; `cutover incident list RUN` shows them',
  );
  expect(await refusal(handle.executeUpdate(requestBackoutUpdate, { args: [{ by: 'alice', reason: 'why not' }] }))).toBe(
    'the run went live and is in hypercare: there is nothing left to back out; open an incident instead',
  );
  const first = await incident(2 * DAY, 40 * MINUTE, 1, 'Orders stuck in the queue');
  expect(await refusal(change({ action: 'resolve', by: 'alice', incidentId: first.id }))).toBe(
    `incident ${first.id} was already resolved at ${first.resolvedAt} by olga`,
  );
  await incident(5 * DAY, 2 * HOUR, 3, 'Label printer offline');
  await incident(6 * DAY, 4 * HOUR, 3, 'Slow search');

  // Day 10 the report stops loading; a day later it is stale, and the next hourly round opens one sev4 for bi.
  await until(12 * DAY);
  state = await waitForState(handle, () => true);
  const kpiIncident = state.hypercare!.incidents[3]!;
  expect(kpiIncident).toMatchObject({ id: 'INC-4', severity: 4, owner: 'bi', kpi: 'orders', openedBy: 'cutover', status: 'open' });
  const staleAfter = Date.parse(kpiIncident.openedAt) - (start + 11 * DAY);
  expect(staleAfter).toBeGreaterThan(0);
  expect(staleAfter).toBeLessThanOrEqual(HOUR + MINUTE);
  expect(state.hypercare!.incidents).toHaveLength(4); // one incident for the whole stale day, not one an hour
  expect(state.hypercare!.kpis[0]!.staleRounds).toBeGreaterThanOrEqual(23);
  expect(state.backout.status).toBe('not_requested'); // a stale KPI is an incident, never a back-out
  await change({ action: 'resolve', by: 'ben', incidentId: 'INC-4', note: 'loader restarted' });

  // Day 20: a sev2 that outlives its 4h target. Approaching at 3h, breached at 4h, each to the minute it fell due.
  await until(20 * DAY);
  const sev2 = await change({ action: 'open', by: 'olga', severity: 2, title: 'Invoices late', owner: 'ops' });
  await until(20 * DAY + 5 * HOUR);
  state = await waitForState(handle, () => true);
  const opened = Date.parse(sev2.openedAt);
  const marked = state.hypercare!.incidents.find((i) => i.id === sev2.id)!;
  expect(Date.parse(marked.approachingAt!) - opened).toBe(3 * HOUR);
  expect(Date.parse(marked.breachedAt!) - opened).toBe(4 * HOUR);
  await change({ action: 'resolve', by: 'olga', incidentId: sev2.id });
  // Both markers went to the incident's owner as events, each at the minute it fell due; none for the others.
  const told = hook.kept().map((m) => {
    const event = m.body.event as typeof m.body.event & { at: string };
    return [event.id, m.body.people, Date.parse(event.at) - opened];
  });
  expect(told).toEqual([
    [`incident_approaching:${sev2.id}`, ['olga'], 3 * HOUR],
    [`incident_breached:${sev2.id}`, ['olga'], 4 * HOUR],
  ]);

  // Day 27: hypercare is old enough, nothing is open, the KPI is fresh, but the breach is still inside the 7 days.
  await until(27 * DAY);
  state = await waitForState(handle, () => true);
  expect(state.hypercare!.exit.status).toBe('pending');
  expect(state.hypercare!.exit.unmetCriteria).toEqual(['sev2 MTTR over the last 7 days is 5h00m, over its 4h00m target']);
  const early = await refusal(handle.executeUpdate(approveHypercareExitUpdate, { args: [{ gateId: 'hypercare-exit', by: 'alice' }] }));
  expect(early).toMatch(/^the hypercare exit gate is not open: its criteria do not hold \(sev2 MTTR/);

  // The breach leaves the window 7 days after it was resolved (day 27 + 5h): the next hourly round opens the gate.
  await until(30 * DAY);
  state = await waitForState(handle, () => true);
  const hc = state.hypercare!;
  expect(hc.exit.status).toBe('open');
  const openedAfter = Date.parse(hc.exit.openedAt!) - (start + 27 * DAY + 5 * HOUR);
  expect(openedAfter).toBeGreaterThan(0);
  expect(openedAfter).toBeLessThanOrEqual(HOUR + MINUTE);
  // Every hour of the 30 days checked; the run handed over to new executions on the way, keeping everything.
  expect(hc.kpis[0]!.rounds).toBeGreaterThanOrEqual(30 * 24);
  expect(hc.kpis[0]!.rounds).toBeLessThanOrEqual(30 * 24 + 1);
  expect(state.execution).toBeGreaterThan(5);
  // MTTR per severity, to the minute: sev1 40m; sev2 5h; sev3 (2h + 4h) / 2; the KPI's sev4 open about a day.
  const mttr = hypercareView(hc, Date.parse(hc.exit.openedAt!)).mttr.map((m) => [m.severity, minutes(m.mttrMs), m.breaches]);
  expect(mttr.slice(0, 3)).toEqual([
    [1, 40, 0],
    [2, 300, 1],
    [3, 180, 0],
  ]);
  expect(mttr[3]![1]).toBeGreaterThan(23 * 60); // the KPI's sev4, open from day 11 to day 12

  await handle.executeUpdate(approveHypercareExitUpdate, { args: [{ gateId: 'hypercare-exit', by: 'alice' }] });
  const result = await resultOf(handle);
  expect(result.status).toBe('completed');
  expect(result.outcome).toMatch(/; hypercare exited after 720h00m$/);
  // Every incident change is in the decision log, the stale KPI's as the run's own, then the exit vote.
  expect(result.state.decisions.map((d) => [d.by, d.target])).toEqual([
    ...['INC-1', 'INC-2', 'INC-3'].flatMap((id) => [
      ['olga', `${id} (open)`],
      ['olga', `${id} (resolve)`],
    ]),
    ['cutover', 'INC-4 (open)'],
    ['ben', 'INC-4 (resolve)'],
    ['olga', 'INC-5 (open)'],
    ['olga', 'INC-5 (resolve)'],
    ['alice', 'hypercare-exit'],
  ]);
});
