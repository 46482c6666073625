/**
 * Two runs of a runbook compared on its history page, from runs recorded in a real SQLite store: the form (two lists
 * and a threshold) works without JavaScript in Chromium, the comparison shows each step's plan and both runs' times
 * with the difference, the steps slower or faster beyond the threshold and both totals; a run in flight counts until
 * now; an unknown run, a run of another runbook or a missing or malformed parameter gets a sentence, never a trace.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { serveStatusPage, type StatusPage } from '../web/server.js';
import { launchChromium } from './support/chromium.js';
import { recordRun, timingRunbook } from './support/timing-data.js';
import { migratedStore } from './support/store-template.js';

const BOOK = timingRunbook(`
name: cmp-crm
version: "1"
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: freeze
    kind: data_freeze
    steps:
      - { id: stop, title: 'Stop <script>alert(1)</script>', owner: dba, expected: 5m, action: { kind: shell, command: "true" } }
  - id: migrate
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: dba, expected: 30m, depends_on: [stop], action: { kind: shell, command: "true" } }
      - { id: index, title: Index, owner: dba, expected: 10m, depends_on: [copy], action: { kind: shell, command: "true" } }
`);

const OTHER = timingRunbook(`
name: cmp-other
version: "1"
lead: lead
roles: { lead: [alice] }
phases:
  - id: only
    kind: migration
    steps:
      - { id: stop, title: Stop, owner: lead, expected: 5m, action: { kind: shell, command: "true" } }
`);

const MIN = 60_000;
let store: RecordStore;
let page: StatusPage;
let browser: Browser;
let first: string;
let second: string;
let live: string;
let other: string;

beforeAll(async () => {
  store = await openRecordStore({ databaseUrl: migratedStore('cutover-cmp-') });
  const t0 = Date.parse('2026-11-01T20:00:00.000Z');
  first = await recordRun(store, { runbook: BOOK, startMs: t0, durations: { stop: 5 * MIN, copy: 20 * MIN, index: 10 * MIN } });
  // The copy takes 30 minutes more (+150%), the index 2 minutes less (-20%), the freeze the same.
  second = await recordRun(store, {
    runbook: BOOK,
    startMs: t0 + 86_400_000,
    durations: { stop: 5 * MIN, copy: 50 * MIN, index: 8 * MIN },
  });
  // The live run, in flight for about 10 minutes: its freeze took 6 minutes, its copy runs.
  live = await recordRun(store, {
    runbook: BOOK,
    mode: 'live',
    startMs: Date.now() - 10 * MIN,
    durations: { stop: 6 * MIN },
    inFlight: true,
  });
  other = await recordRun(store, { runbook: OTHER, startMs: t0, durations: { stop: 5 * MIN } });
  page = await serveStatusPage({ port: 0, store });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await page?.close();
  await store?.close();
});

describe('comparing two runs on the history page', () => {
  it('picks two runs with a form that works without JavaScript and shows them side by side', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    try {
      const tab = await context.newPage();
      await tab.goto(`${page.url}/runbooks/cmp-crm`);
      // Without a choice: the run before the newest against the newest.
      await expect(tab.locator('#cmp-a').inputValue()).resolves.toBe(second);
      await expect(tab.locator('#cmp-b').inputValue()).resolves.toBe(live);
      await tab.selectOption('#cmp-a', first);
      await tab.selectOption('#cmp-b', second);
      await Promise.all([tab.waitForURL(/\/runbooks\/cmp-crm\/compare\?/), tab.click('form.compare button[type=submit]')]);
      const url = new URL(tab.url());
      expect(Object.fromEntries(url.searchParams)).toEqual({ a: first, b: second, threshold: '10' });

      await expect(tab.locator('h1').innerText()).resolves.toBe(`${first} against ${second}`);
      const row = (id: string) => tab.locator('#cmp-steps tbody tr').filter({ has: tab.locator(`code:text-is("${id}")`) });
      // Step, planned, A, B, B − A, note.
      await expect(row('copy').locator('td').allInnerTexts()).resolves.toEqual(['30m00s', '20m00s', '50m00s', '+30m00s', 'slower']);
      await expect(row('index').locator('td').allInnerTexts()).resolves.toEqual(['10m00s', '10m00s', '8m00s', '-2m00s', 'faster']);
      await expect(row('stop').locator('td').allInnerTexts()).resolves.toEqual(['5m00s', '5m00s', '5m00s', '±0s', '']);
      await expect(tab.locator('#cmp-slower tbody th').allInnerTexts()).resolves.toEqual(['copy']);
      await expect(tab.locator('#cmp-faster tbody th').allInnerTexts()).resolves.toEqual(['index']);
      await expect(tab.locator('#cmp-total').innerText()).resolves.toBe('B took +28m00s against A (1h03m against 35m00s).');
      const phases = tab.locator('#cmp-phases tbody tr');
      await expect(phases.filter({ hasText: 'migrate' }).locator('td').allInnerTexts()).resolves.toEqual([
        '40m00s',
        '30m00s',
        '58m00s',
        '+28m00s',
        '',
      ]);
      // A hostile step title shows as text.
      await expect(row('stop').locator('th').innerText()).resolves.toContain('Stop <script>alert(1)</script>');

      // A higher threshold: the index's 20% no longer counts; the form keeps the choice.
      await tab.selectOption('#cmp-threshold', '25');
      await Promise.all([tab.waitForURL(/threshold=25/), tab.click('form.compare button[type=submit]')]);
      await expect(tab.locator('#cmp-faster').count()).resolves.toBe(0);
      await expect(tab.locator('#cmp-slower tbody th').allInnerTexts()).resolves.toEqual(['copy']);
      await expect(tab.locator('#cmp-a').inputValue()).resolves.toBe(first);

      // Readable on a phone: the wide tables scroll inside themselves.
      await tab.setViewportSize({ width: 375, height: 800 });
      expect(await tab.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    } finally {
      await context.close();
    }
  });

  it('compares a rehearsal with the live run in flight, counting it until now', async () => {
    const answer = await fetch(`${page.url}/runbooks/cmp-crm/compare?a=${second}&b=${live}`);
    expect(answer.status).toBe(200);
    const tab = await browser.newPage();
    try {
      await tab.setContent(await answer.text());
      const total = await tab.locator('#cmp-total').innerText();
      // About ten minutes since the live run started, against the rehearsal's 63.
      expect(total).toMatch(/^B has taken -5\dm\d\ds against A \(1\dm\d\ds against 1h03m, a run still in flight counted until now\)\.$/);
      await expect(tab.locator('#cmp-runs tbody tr').nth(1).innerText()).resolves.toMatch(/live[\s\S]*so far/);
      // Its freeze took a minute more (+20%); its copy has not ended, so it is neither slower nor faster.
      await expect(tab.locator('#cmp-slower tbody th').allInnerTexts()).resolves.toEqual(['stop']);
      await expect(tab.locator('#cmp-faster').count()).resolves.toBe(0);
    } finally {
      await tab.close();
    }
  });

  it('links each run of the history to a comparison with the run before it', async () => {
    const body = await (await fetch(`${page.url}/runbooks/cmp-crm`)).text();
    expect(body).toContain(`<a href="/runbooks/cmp-crm/compare?a=${first}&amp;b=${second}">against ${first}</a>`);
  });

  it('answers an unknown run, a run of another runbook and a missing or malformed choice with a sentence', async () => {
    const cases: [string, number, string][] = [
      [`a=no-such-run&b=${second}`, 404, 'There is no run `no-such-run` to compare; pick two runs of cmp-crm on its history page.'],
      [
        `a=${first}&b=${other}`,
        400,
        `Run \`${other}\` is a run of cmp-other, not of cmp-crm; pick two runs of cmp-crm on its history page.`,
      ],
      [`a=${first}`, 400, 'Pick two runs to compare, as ?a=RUN&amp;b=RUN; the form on /runbooks/cmp-crm offers the runs of cmp-crm.'],
      [
        `a=${first}&b=${second}&threshold=ten`,
        400,
        'The threshold parameter must be a whole percentage from 1 to 1000, such as ?threshold=10.',
      ],
      [`a=${first}&b=${second}&b=${live}`, 400, 'Pick two runs to compare'],
    ];
    for (const [query, code, sentence] of cases) {
      const answer = await fetch(`${page.url}/runbooks/cmp-crm/compare?${query}`);
      const body = await answer.text();
      expect([query, answer.status]).toEqual([query, code]);
      expect(body).toContain(sentence);
      expect(body).not.toMatch(/\bat .*\.(ts|js):\d+|Error:/);
    }
    const unknown = await (await fetch(`${page.url}/runbooks/cmp-crm/compare?a=nope&b=${first}`)).text();
    expect(unknown).toContain('Back to <a href="/runbooks/cmp-crm">the history of cmp-crm</a>');
  });
});
