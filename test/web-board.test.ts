/**
 * The wallboard in real Chromium, against a real run on the test Temporal server recorded in a real SQLite store: the
 * run's tile is green on plan, turns amber as it falls behind, then red when a step fails, with nobody touching the
 * page (it reloads itself); ended runs show as the latest of their runbook; dark, and readable on a phone.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunQueries } from '../common/run-follower.js';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { parseRunbook } from '../runbook/parse.js';
import { loadLiveModel } from '../timing/live-model-source.js';
import { serveStatusPage, type StatusPage } from '../web/server.js';
import { runStepsQuery, runSummaryQuery } from '../workflows/messages.js';
import { launchChromium } from './support/chromium.js';
import { startHarness, startReserved, waitForState, type Harness } from './support/workflow-harness.js';
import { migratedStore } from './support/store-template.js';

const RUNBOOK = `
name: board-crm
version: "1"
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: migrate
    kind: migration
    steps:
      - { id: slow, title: Slow copy, owner: dba, expected: 1s, action: { kind: shell, command: "sleep 15" } }
      - { id: boom, title: Load <b>orders</b>, owner: dba, expected: 1s, depends_on: [slow], action: { kind: shell, command: "exit 3" } }
`;

let h: Harness;
let store: RecordStore;
let page: StatusPage;
let browser: Browser;

beforeAll(async () => {
  store = await openRecordStore({ databaseUrl: migratedStore('cutover-board-') });
  h = await startHarness({ store });
  const follow = (runId: string): RunQueries => {
    const handle = h.client.workflow.getHandle(runId);
    return { summary: () => handle.query(runSummaryQuery), page: (offset, limit) => handle.query(runStepsQuery, { offset, limit }) };
  };
  // The live re-forecast as `cutover web` makes it: the runbook the run was started with, fitted from the store.
  const forecastModel = async (record: { id: string; runbookSource: string; versionHash: string }) => {
    const parsed = parseRunbook(record.runbookSource, record.id);
    return parsed.ok ? loadLiveModel(store, parsed.runbook, record.versionHash) : undefined;
  };
  page = await serveStatusPage({ port: 0, store, follow, forecastModel, boardLateMs: 1_500, boardRefreshS: 1 });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await page?.close();
  await h?.stop();
  await store?.close();
});

describe('the wallboard', () => {
  it('turns a run amber as it falls behind, then red when a step fails, without anyone touching it', async () => {
    const { runId, handle } = await startReserved(h, store, RUNBOOK);
    await waitForState(handle, (s) => s.steps.slow!.status === 'running');
    // The run's own page carries the live forecast, and who owns what.
    const runPage = await (await fetch(`${page.url}/runs/${runId}`)).text();
    expect(runPage).toMatch(/<h2 id="forecast">Forecast<\/h2>[\s\S]*finish \d\d:\d\d UTC \(P50, (?:in [^)]*|now)\) to \d\d:\d\d UTC \(P90/);
    expect(runPage).toContain('Load &lt;b&gt;orders&lt;/b&gt;');
    const tab = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    try {
      await tab.goto(`${page.url}/board`);
      const tile = tab.locator(`li.tile[data-run="${runId}"]`);
      await tile.waitFor({ timeout: 30_000 });
      // Amber for about 12 s: from 1.5 s past its planned 1 s until the 15 s step ends and the next one fails (long
      // enough for a page that reloads each second on a loaded machine to see it).
      await tab.locator(`li.tile.rag-amber[data-run="${runId}"]`).waitFor({ timeout: 30_000 });
      await expect(tile.innerText()).resolves.toMatch(/AMBER[\s\S]*behind plan[\s\S]*P90 finish \d\d:\d\d UTC/);
      await tab.locator(`li.tile.rag-red[data-run="${runId}"]`).waitFor({ timeout: 40_000 });
      await expect(tile.innerText()).resolves.toMatch(/RED[\s\S]*boom failed/);
      // Dark and large: a wall screen, not a form.
      const look = await tab.evaluate(
        '(() => { const s = getComputedStyle(document.body); return { bg: s.backgroundColor, size: parseFloat(s.fontSize) }; })()',
      );
      expect(look).toEqual({ bg: 'rgb(13, 17, 23)', size: expect.any(Number) });
      expect((look as { size: number }).size).toBeGreaterThanOrEqual(20);
      await tab.setViewportSize({ width: 375, height: 800 });
      expect(await tab.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    } finally {
      await tab.close();
      await handle.terminate('test over').catch(() => undefined);
    }
  }, 180_000);
});
