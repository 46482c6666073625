/**
 * The README's picture of the live run page, made from a real rehearsal on the test Temporal server recorded in a real
 * SQLite store (two earlier rehearsals give it a forecast), in real Chromium. The test checks that the page shows what
 * the run is doing (the gate waiting for people on top, the steps done, the forecast, the timeline) whether or not it
 * writes the picture: only with CUTOVER_WRITE_SCREENSHOTS=1 does it write docs/images/run-page.png, so an ordinary
 * test run leaves the tree as it was.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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
import { PROJECT } from './support/cli.js';
import { recordRun, timingRunbook } from './support/timing-data.js';
import { startHarness, waitForState, type Harness } from './support/workflow-harness.js';
import { migratedStore } from './support/store-template.js';

const BOOK = timingRunbook(`
name: crm-go-live
version: "7"
lead: lead
roles: { lead: [alice], dba: [bob], business: [dana] }
phases:
  - id: freeze
    kind: data_freeze
    title: Freeze the old CRM
    steps:
      - { id: stop-writes, title: Stop writes to the old CRM, owner: dba, expected: 2s, action: { kind: simulate, duration: 1s }, backout: { kind: simulate, duration: 1s } }
      - { id: export, title: Export customers and orders, owner: dba, expected: 3s, depends_on: [stop-writes], action: { kind: simulate, duration: 2s } }
  - id: migrate
    kind: migration
    title: Load the new CRM
    steps:
      - { id: load-customers, title: Load customers, owner: dba, expected: 3s, action: { kind: simulate, duration: 2s } }
      - { id: load-orders, title: Load orders, owner: dba, expected: 2s, action: { kind: simulate, duration: 3s } }
  - id: decide
    kind: go_no_go
    title: Go / no-go
    steps:
      - { id: go, title: Switch the interfaces on?, owner: lead, gate: { approvers: [lead, business], question: "Counts match: switch the interfaces on?", deadline: { after_opening: 30m } } }
  - id: after
    kind: hypercare
    steps:
      - { id: tell, title: Tell the service desk, owner: lead, action: { kind: manual, instructions: "Phone the service desk" } }
`);

let h: Harness;
let store: RecordStore;
let page: StatusPage;
let browser: Browser;

beforeAll(async () => {
  store = await openRecordStore({ databaseUrl: migratedStore('cutover-shot-') });
  // Two earlier rehearsals of the same version: the live forecast learns from them.
  const t0 = Date.parse('2026-11-20T20:00:00.000Z');
  const durations = { 'stop-writes': 1_200, export: 2_500, 'load-customers': 2_200, 'load-orders': 2_900, go: 4_000, tell: 3_000 };
  await recordRun(store, { runbook: BOOK, startMs: t0, durations });
  await recordRun(store, { runbook: BOOK, startMs: t0 + 86_400_000, durations: { ...durations, export: 3_100 } });
  h = await startHarness({ store });
  const follow = (runId: string): RunQueries => {
    const handle = h.client.workflow.getHandle(runId);
    return { summary: () => handle.query(runSummaryQuery), page: (offset, limit) => handle.query(runStepsQuery, { offset, limit }) };
  };
  // As `cutover web` wires it: the live re-forecast from the runbook the run was started with, fitted from the store.
  const forecastModel = async (record: { id: string; runbookSource: string; versionHash: string }) => {
    const parsed = parseRunbook(record.runbookSource, record.id);
    return parsed.ok ? loadLiveModel(store, parsed.runbook, record.versionHash) : undefined;
  };
  page = await serveStatusPage({ port: 0, store, follow, forecastModel });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await page?.close();
  await h?.stop();
  await store?.close();
});

describe("the README's picture of the live run page", () => {
  it('shows the run as it stands, and is written to docs/images/run-page.png when asked', async () => {
    const { runId } = await store.reserveRun({
      runbookName: BOOK.runbook.name,
      mode: 'rehearsal',
      runbookVersion: BOOK.runbook.version,
      // The real hash: the workflow checks the text it reads from the store against it.
      versionHash: BOOK.hash,
      runbookSource: BOOK.source,
      startedBy: 'alice',
    });
    const handle = await h.start(BOOK.source, { runId });
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    try {
      await waitForState(handle, (s) => s.steps.go!.gate?.status === 'open', 60_000);
      await tab.goto(`${page.url}/runs/${runId}`);
      await tab.locator('#live[data-state="live"]').waitFor({ timeout: 15_000 });
      // What the run shows: the gate waits for the lead and the business, on top; the four steps before it are done.
      await expect(tab.locator('#sec-waiting').innerText()).resolves.toMatch(
        /gate go: Counts match: switch the interfaces on\?[\s\S]*who may act/,
      );
      const steps = await tab.locator('#sec-steps').innerText();
      for (const title of ['Stop writes to the old CRM', 'Export customers and orders', 'Load customers', 'Load orders'])
        expect(steps).toMatch(new RegExp(`${title}[^\\n]*succeeded`));
      await expect(tab.locator('#sec-forecast').innerText()).resolves.toMatch(/P50[\s\S]*P90/);
      await expect(tab.locator('#sec-timeline svg rect').count()).resolves.toBeGreaterThanOrEqual(6);
      const picture = await tab.screenshot({ fullPage: true });
      expect(picture.subarray(1, 4).toString()).toBe('PNG');
      if (process.env.CUTOVER_WRITE_SCREENSHOTS === '1') {
        const file = path.join(PROJECT, 'docs', 'images', 'run-page.png');
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, picture);
      }
    } finally {
      await tab.close();
      await handle.terminate('test over').catch(() => undefined);
    }
  }, 180_000);
});
