/**
 * The status page in a real headless Chromium (Debian's, which `npm test` installs when
 * missing): a stakeholder opens the run list, follows a run and reads its steps and decisions,
 * with no script errors and nothing fetched from anywhere but the page itself.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { launchChromium } from './support/chromium.js';
import { parseRunbook } from '../runbook/parse.js';
import type { GateState } from '../run/state.js';
import { applyVote, initialRunState } from '../run/transitions.js';
import {
  applyIncident,
  configTimes,
  openKpiIncident,
  raiseMarkers,
  reviewExitGate,
  startHypercare,
  takeReading,
  unmetExitCriteria,
} from '../run/hypercare.js';
import { takeDriftRound } from '../run/hypercare-drift.js';
import { serveStatusPage, type StatusPage } from '../web/server.js';
import { migratedStoreAt } from './support/store-template.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-browser-'));
let store: RecordStore;
let page: StatusPage;
/** The same records behind a token, as `cutover web` serves them with CUTOVER_WEB_TOKEN set. */
let guarded: StatusPage;
const TOKEN = 'c0ffee-0123456789abcdef-token';
let browser: Browser;

beforeAll(async () => {
  store = await openRecordStore({ databaseUrl: migratedStoreAt(path.join(dir, 'cutover.db')) });
  const source = `
name: crm-go-live
version: "r7"
lead: lead
roles: { lead: [alice], dba: [bob], business: [dana] }
phases:
  - id: migrate
    kind: migration
    steps:
      - { id: customers, title: Migrate customers, owner: dba, expected: 40m, action: { kind: shell, command: "true" } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go / no-go, owner: lead, gate: { approvers: [lead, business] } }
`;
  const parsed = parseRunbook(source, 'crm.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const { runId, number } = await store.reserveRun({
    runbookName: 'crm-go-live',
    mode: 'rehearsal',
    runbookVersion: 'r7',
    versionHash: 'abc123',
    runbookSource: source,
    startedBy: 'alice',
  });
  const start = '2026-12-05T22:00:00.000Z';
  await store.markRunStarted(runId, { startedAt: start });
  const state = initialRunState(
    { runId, runNumber: number, runbook: parsed.runbook, versionHash: 'abc123', mode: 'rehearsal', startedBy: 'alice', baseDir: dir },
    start,
  );
  const compared = {
    matched: 1499,
    missing_in_target: 0,
    extra_in_target: 0,
    mismatched: 1,
    duplicate_keys: { source: 0, target: 0 },
    null_keys: { source: 0, target: 0 },
    rows_read: { source: 1500, target: 1500 },
    sampled: false,
    within_limits: true,
    limit_violations: [],
    seconds: 2,
  };
  state.steps.customers = {
    ...state.steps.customers!,
    status: 'succeeded',
    attempts: 1,
    startedAt: start,
    endedAt: '2026-12-05T22:52:00.000Z',
    reconcile: compared,
  };
  await store.recordReconcileResult({
    runId,
    stepId: 'customers',
    attempt: 1,
    check: '',
    round: 1,
    startedAt: '2026-12-05T22:51:58.000Z',
    endedAt: '2026-12-05T22:52:00.000Z',
    result: {
      ...compared,
      columns: [{ source: 'country', target: 'country', mismatched: 1 }],
      examples: [{ kind: 'mismatched', key: { id: 70 }, columns: ['country'], source: { country: 'FR' }, target: { country: 'XX' } }],
      key_examples: [],
      sample: null,
      target_columns_not_compared: [],
    },
  });
  let gate: GateState = { ...state.steps.go!.gate!, status: 'open' };
  gate = applyVote(gate, {
    by: 'alice',
    role: 'lead',
    decision: 'approve',
    reason: 'counts match',
    at: '2026-12-05T22:53:00.000Z',
    automatic: false,
  });
  gate = applyVote(gate, { by: 'dana', role: 'business', decision: 'approve', at: '2026-12-05T22:54:00.000Z', automatic: false });
  state.steps.go = {
    ...state.steps.go!,
    status: 'succeeded',
    attempts: 1,
    gate,
    startedAt: '2026-12-05T22:52:00.000Z',
    endedAt: '2026-12-05T22:54:00.000Z',
  };
  state.decisions.push(
    { kind: 'approve', by: 'alice', role: 'lead', target: 'go', reason: 'counts match', at: '2026-12-05T22:53:00.000Z', automatic: false },
    { kind: 'approve', by: 'dana', role: 'business', target: 'go', at: '2026-12-05T22:54:00.000Z', automatic: false },
  );
  state.status = 'completed';
  state.outcome = 'completed in 54m00s';
  state.endedAt = '2026-12-05T22:54:00.000Z';
  await store.finishRun(runId, { status: 'completed', outcome: state.outcome, endedAt: state.endedAt, state });

  await recordHypercareRun();
  page = await serveStatusPage({ port: 0, store });
  guarded = await serveStatusPage({ port: 0, store, token: TOKEN });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await page?.close();
  await guarded?.close();
  await store?.close();
});

describe('the status page in Chromium', () => {
  it('lists the run, opens it, and shows its steps and decisions', async () => {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    tab.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    tab.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    tab.on('request', (r) => {
      if (!r.url().startsWith(page.url)) problems.push(`outside request: ${r.url()}`);
    });

    await tab.goto(page.url);
    const link = tab.getByRole('link', { name: 'crm-go-live-1' });
    await expect(link.isVisible()).resolves.toBe(true);
    await link.click();
    await tab.waitForURL(`${page.url}/runs/crm-go-live-1`);

    const heading = await tab.getByRole('heading', { level: 1 }).innerText();
    expect(heading).toContain('crm-go-live-1');
    const customers = tab.getByRole('row', { name: /customers/ });
    await expect(customers.innerText()).resolves.toMatch(/Migrate customers[\s\S]*dba[\s\S]*succeeded[\s\S]*40m00s[\s\S]*52m00s/);
    const body = await tab.locator('body').innerText();
    expect(body).toContain('counts match');
    expect(body).toMatch(/dana[\s\S]*business/);
    // What the comparison found, and its differing rows as a file a spreadsheet opens.
    await expect(customers.innerText()).resolves.toContain('compared: 1,499 matched, 1 differ');
    const [download] = await Promise.all([tab.waitForEvent('download'), customers.getByRole('link', { name: 'CSV' }).click()]);
    expect(download.suggestedFilename()).toBe('crm-go-live-1-customers-reconcile.csv');
    expect(readFileSync(await download.path(), 'utf8')).toContain('(action),1,1,mismatched,70,country,FR,XX,');

    const shot = path.join(process.env.CUTOVER_SCREENSHOTS ?? dir, 'run-page.png');
    await tab.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
  });
});

/**
 * A run that went live five hours ago and is in hypercare, as its last snapshot in the store: incidents opened and
 * resolved through the run's own rules, one breached and one approaching its target, a stale KPI with its incident.
 */
async function recordHypercareRun(): Promise<void> {
  const source = `
name: erp-go-live
version: 1
lead: lead
roles: { lead: [alice], ops: [olga], bi: [ben] }
connections:
  kpi: { driver: sqlite, path: kpi.db }
phases:
  - id: go
    kind: interface_switch_on
    steps:
      - { id: sync-on, title: Sync on, owner: ops, expected: 1m, action: { kind: shell, command: "true" } }
hypercare:
  mttr: { sev1: 1h, sev2: 4h, sev3: 1d }
  kpis:
    - { id: orders, title: Orders loaded, owner: bi, sla: 24h, repeat: 1h, source: { kind: sql, connection: kpi, query: "SELECT 1" } }
    - { id: invoices, owner: ops, sla: 2h, repeat: 1h, severity: 2, source: { kind: sql, connection: kpi, query: "SELECT 1" } }
  reconcile:
    - { id: orders, title: Orders old vs new, owner: ops, source: { connection: kpi, table: legacy_orders }, target: { connection: kpi, table: orders }, key: id, repeat: 1h }
  owners: { interfaces: { sync-on: ops }, systems: { kpi: bi } }
  exit: { approvers: [lead] }
`;
  const parsed = parseRunbook(source, 'erp.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const { runId, number } = await store.reserveRun({
    runbookName: 'erp-go-live',
    mode: 'live',
    runbookVersion: '1',
    versionHash: 'def456',
    runbookSource: source,
    startedBy: 'alice',
  });
  // One clock for the whole history: read afresh per call, a loaded machine's milliseconds between an incident's
  // opening and its resolution put a 1h00m MTTR over its 1h target.
  const now = Date.now();
  const ago = (ms: number) => new Date(now - ms).toISOString();
  const H = 3_600_000;
  await store.markRunStarted(runId, { startedAt: ago(6 * H) });
  const state = initialRunState(
    { runId, runNumber: number, runbook: parsed.runbook, versionHash: 'def456', mode: 'live', startedBy: 'alice', baseDir: dir },
    ago(6 * H),
  );
  state.steps['sync-on'] = { ...state.steps['sync-on']!, status: 'succeeded', attempts: 1, startedAt: ago(6 * H), endedAt: ago(5 * H) };
  const hc = startHypercare(parsed.runbook, ago(5 * H));
  const times = configTimes(parsed.runbook);
  const open = (severity: number, title: string, owner: string, at: number) =>
    applyIncident(hc, { action: 'open', by: 'olga', severity, title, owner }, ago(at));
  const resolve = (id: string, at: number) => applyIncident(hc, { action: 'resolve', by: 'olga', incidentId: id }, ago(at));
  resolve(open(1, 'Orders stuck', 'ops', 5 * H).id, 4.5 * H); // 30m against 1h
  resolve(open(1, 'Labels missing', 'ops', 4 * H).id, 2.5 * H); // 1h30m: sev1 MTTR 1h00m, within its 1h
  open(2, 'Invoices late', 'ops', 4.5 * H); // past its 4h target
  open(3, 'Slow search', 'ben', 19 * 60_000); // 19m of a day
  takeReading(parsed.runbook, hc, { kpiId: 'orders', latest: ago(2 * H), at: ago(10 * 60_000) });
  const stale = takeReading(parsed.runbook, hc, { kpiId: 'invoices', latest: ago(3 * H), at: ago(10 * 60_000) });
  if (stale) openKpiIncident(hc, 'invoices', stale, ago(10 * 60_000));
  // The parallel run: the first round found drift, the two since none.
  takeDriftRound(parsed.runbook, hc, { reconcileId: 'orders', missing: 2, mismatched: 1, at: ago(3 * H) });
  takeDriftRound(parsed.runbook, hc, { reconcileId: 'orders', at: ago(2 * H) });
  takeDriftRound(parsed.runbook, hc, { reconcileId: 'orders', at: ago(H) });
  raiseMarkers(hc, times, Date.now());
  reviewExitGate(hc, unmetExitCriteria(parsed.runbook, hc, Date.now()), ago(0));
  state.hypercare = hc;
  state.status = 'waiting';
  await store.recordRunState(runId, state);
}

describe('hypercare on the run page, in Chromium', () => {
  it('shows open incidents by age and owner with their target, MTTR per severity against target, the parallel run and the KPI pack', async () => {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await tab.goto(`${page.url}/runs/erp-go-live-1`);
    const section = tab.locator('#sec-hypercare');
    await expect(section.getByRole('heading', { name: 'Hypercare' }).isVisible()).resolves.toBe(true);
    const rows = async (table: string) =>
      (await section.locator(`table.${table} tbody tr`).allInnerTexts()).map((row) => row.split('\t').map((cell) => cell.trim()));
    // Oldest first, each with its owner, age and target state; how many each owner holds.
    expect(await rows('incidents')).toEqual([
      ['INC-3', 'sev2', 'Invoices late', 'ops', expect.stringMatching(/^4h30m$/), 'breached', ''],
      ['INC-4', 'sev3', 'Slow search', 'ben', expect.stringMatching(/^19m0\ds$/), 'within target', ''],
      [
        'INC-5',
        'sev2',
        expect.stringMatching(/^KPI invoices is stale: data from .*, 2h50m old \(SLA 2h\)$/),
        'ops',
        expect.stringMatching(/^10m0\ds$/),
        'within target',
        '',
      ],
    ]);
    await expect(section.innerText()).resolves.toContain('3 open: ops 2, ben 1. Oldest first.');
    expect(await rows('mttr')).toEqual([
      ['sev1', '2', '0', '1h00m', '1h00m', 'within target', '0'],
      ['sev2', '0', '2', '—', '4h00m', '—', '1'],
      ['sev3', '0', '1', '—', '1d', '—', '0'],
    ]);
    expect(await rows('kpis')).toEqual([
      ['Orders loaded', 'bi', expect.stringMatching(/ UTC$/), '24h', 'fresh', expect.stringMatching(/ UTC \(1 checks, 0 stale\)$/)],
      ['invoices', 'ops', expect.stringMatching(/ UTC$/), '2h', 'stale (INC-5)', expect.stringMatching(/ UTC \(1 checks, 1 stale\)$/)],
    ]);
    // The parallel run: its last round, its rounds at 0 in a row against the exit's drift_rounds (3 by default).
    expect(await rows('drift')).toEqual([
      ['Orders old vs new', 'ops', expect.stringMatching(/^round 3: no drift \(.* UTC\)$/), '2', '3', '3', '1'],
    ]);
    // The exit gate stays shut while a sev2 is open, and says why.
    await expect(section.locator('ul.unmet').innerText()).resolves.toContain('sev2 incident INC-3 is open (Invoices late)');
  });
});

describe('the status page behind a token, in Chromium', () => {
  it('opens from the shared link, drops the token from the address, and keeps working on reload', async () => {
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      const seen: string[] = [];
      tab.on('request', (r) => seen.push(r.url()));
      const answer = await tab.goto(`${guarded.url}/runs/crm-go-live-1?token=${TOKEN}`);
      expect(answer?.status()).toBe(200);
      expect(tab.url()).toBe(`${guarded.url}/runs/crm-go-live-1`);
      expect(await tab.getByRole('heading', { level: 1 }).innerText()).toContain('crm-go-live-1');
      // Back in history and forward again: the address with the token is gone from the history too.
      await tab.goto(`${guarded.url}/`);
      await tab.goBack();
      expect(tab.url()).toBe(`${guarded.url}/runs/crm-go-live-1`);

      const reloaded = await tab.reload();
      expect(reloaded?.status()).toBe(200);
      expect(tab.url()).not.toContain('token');
      await tab.getByRole('link', { name: 'All runs' }).click();
      await tab.waitForURL(`${guarded.url}/`);
      await expect(tab.getByRole('link', { name: 'crm-go-live-1' }).isVisible()).resolves.toBe(true);

      // Only the link itself ever carried the token; the page cannot read its cookie (HttpOnly).
      expect(seen.filter((url) => url.includes(TOKEN))).toEqual([`${guarded.url}/runs/crm-go-live-1?token=${TOKEN}`]);
      expect(await tab.evaluate('document.cookie')).toBe('');
      const [cookie] = await context.cookies(guarded.url);
      expect(cookie).toMatchObject({ name: 'cutover_token', httpOnly: true, sameSite: 'Strict', path: '/', secure: false });
    } finally {
      await context.close();
    }
  });

  it('shows another browser without the cookie the page that asks for the token', async () => {
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      const answer = await tab.goto(`${guarded.url}/runs/crm-go-live-1`);
      expect(answer?.status()).toBe(401);
      expect(await tab.getByRole('heading', { level: 1 }).innerText()).toBe('This page needs its token');
      const body = await tab.locator('body').innerText();
      expect(body).toContain('open the link the cutover lead shared');
      expect(body).not.toContain('Migrate customers');
    } finally {
      await context.close();
    }
  });
});
