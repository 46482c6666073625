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
import { serveStatusPage, type StatusPage } from '../web/server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-browser-'));
let store: RecordStore;
let page: StatusPage;
/** The same records behind a token, as `cutover web` serves them with CUTOVER_WEB_TOKEN set. */
let guarded: StatusPage;
const TOKEN = 'c0ffee-0123456789abcdef-token';
let browser: Browser;

beforeAll(async () => {
  store = await openRecordStore({ databaseUrl: `file:${path.join(dir, 'cutover.db')}` });
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
