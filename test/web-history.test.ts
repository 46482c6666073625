/**
 * The runbook history page, from runs recorded in a real SQLite store the way the activities record them: each run's
 * duration and outcome, time per phase as stacked bars, back-out durations, the forecast's P50/P90 after each run, and
 * the steps that vary most; a hostile runbook text stays text; it reads on a 375 px phone in Chromium.
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
name: hist-crm
version: "1"
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: freeze
    kind: data_freeze
    steps:
      - { id: stop, title: 'Stop <img src=x onerror=alert(1)>', owner: dba, expected: 5m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
  - id: migrate
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: dba, expected: 30m, depends_on: [stop], action: { kind: shell, command: "true" } }
      - { id: index, title: Index, owner: dba, expected: 10m, depends_on: [copy], action: { kind: shell, command: "true" } }
`);

const MIN = 60_000;
let store: RecordStore;
let page: StatusPage;
let browser: Browser;
const ids: string[] = [];

beforeAll(async () => {
  store = await openRecordStore({ databaseUrl: migratedStore('cutover-hist-') });
  const t0 = Date.parse('2026-11-01T20:00:00.000Z');
  // The copy varies a lot, the index hardly; the third run backs out.
  ids.push(await recordRun(store, { runbook: BOOK, startMs: t0, durations: { stop: 5 * MIN, copy: 20 * MIN, index: 10 * MIN } }));
  ids.push(
    await recordRun(store, { runbook: BOOK, startMs: t0 + 86_400_000, durations: { stop: 5 * MIN, copy: 50 * MIN, index: 11 * MIN } }),
  );
  ids.push(
    await recordRun(store, {
      runbook: BOOK,
      startMs: t0 + 2 * 86_400_000,
      durations: { stop: 5 * MIN, copy: 35 * MIN },
      failed: { copy: 'disk full' },
      backout: { reason: 'copy failed', trigger: 'step_failed', undo: { stop: 3 * MIN } },
    }),
  );
  page = await serveStatusPage({ port: 0, store });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await page?.close();
  await store?.close();
});

describe('the runbook history page', () => {
  it('shows each run, time per phase, back-outs, the forecast after each run and the steps that vary most', async () => {
    const answer = await fetch(`${page.url}/runbooks/hist-crm`);
    expect(answer.status).toBe(200);
    const body = await answer.text();
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await tab.goto(`${page.url}/runbooks/hist-crm`);
      const runs = tab.locator('table[aria-labelledby="runs"] tbody tr');
      await expect(runs.count()).resolves.toBe(3);
      await expect(runs.filter({ has: tab.locator(`th > a[href="/runs/${ids[0]!}"]`) }).innerText()).resolves.toMatch(
        /completed[\s\S]*35m00s/,
      );
      await expect(runs.filter({ has: tab.locator(`th > a[href="/runs/${ids[2]!}"]`) }).innerText()).resolves.toMatch(
        /backed out[\s\S]*3m00s/,
      );
      // Stacked bars: a segment per phase a run went through (3 + 3 + 2 in the first two phases).
      await expect(tab.locator('svg.history rect[class^="ph-"]').count()).resolves.toBe(2 + 2 + 2 + 2);
      await expect(tab.locator('table[aria-labelledby="forecasts"] tbody tr').count()).resolves.toBe(3);
      // The copy varies most, then the index; the freeze took 5m every time.
      const variable = await tab.locator('table[aria-labelledby="variable"] tbody th').allInnerTexts();
      expect(variable).toEqual(['copy', 'index', 'stop']);
      expect(body).not.toContain('<img src=x');
      await tab.setViewportSize({ width: 375, height: 800 });
      expect(await tab.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    } finally {
      await tab.close();
    }
  });

  it('answers an unknown runbook with a 404 sentence', async () => {
    const answer = await fetch(`${page.url}/runbooks/no-such-book`);
    expect(answer.status).toBe(404);
    expect(await answer.text()).toContain('There is no page at /runbooks/no-such-book (no runs of it are recorded).');
  });
});
