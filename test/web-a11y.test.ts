/**
 * Accessibility of every page, checked by axe-core in real Chromium: the list of runs, a run's page (its timeline,
 * steps, decisions and back-out), the wallboard, a runbook's history and a comparison of two of its runs report no
 * serious or critical violation.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { serveStatusPage, type StatusPage } from '../web/server.js';
import { launchChromium } from './support/chromium.js';
import { recordRun, timingRunbook } from './support/timing-data.js';
import { migratedStore } from './support/store-template.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const BOOK = timingRunbook(`
name: a11y-crm
version: "1"
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: freeze
    kind: data_freeze
    title: Freeze the data
    steps:
      - { id: stop, title: Stop writes, owner: dba, expected: 5m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
  - id: migrate
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: dba, expected: 30m, depends_on: [stop], action: { kind: shell, command: "true" } }
`);

let store: RecordStore;
let page: StatusPage;
let browser: Browser;
let runId: string;
let firstId: string;

beforeAll(async () => {
  store = await openRecordStore({ databaseUrl: migratedStore('cutover-a11y-') });
  const t0 = Date.parse('2026-11-01T20:00:00.000Z');
  firstId = await recordRun(store, { runbook: BOOK, startMs: t0, durations: { stop: 300_000, copy: 1_500_000 } });
  runId = await recordRun(store, {
    runbook: BOOK,
    startMs: t0 + 86_400_000,
    durations: { stop: 300_000, copy: 600_000 },
    failed: { copy: 'disk full' },
    backout: { reason: 'copy failed', trigger: 'step_failed', undo: { stop: 120_000 } },
  });
  page = await serveStatusPage({ port: 0, store });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await page?.close();
  await store?.close();
});

describe('accessibility (axe-core)', () => {
  it('finds no serious or critical violation on any page, wide or on a phone', async () => {
    // axe is injected by the test, so the page's own CSP (no inline script) is bypassed for this context only.
    const context = await browser.newContext({ bypassCSP: true });
    try {
      const found: string[] = [];
      for (const width of [1280, 375]) {
        for (const pathname of [
          '/',
          `/runs/${runId}`,
          '/board',
          '/runbooks/a11y-crm',
          `/runbooks/a11y-crm/compare?a=${firstId}&b=${runId}`,
        ]) {
          const tab = await context.newPage();
          await tab.setViewportSize({ width, height: 900 });
          await tab.goto(`${page.url}${pathname}`);
          await tab.evaluate(AXE);
          const violations = await tab.evaluate<{ id: string; impact: string; nodes: string[] }[]>(
            "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) })))",
          );
          for (const v of violations)
            if (v.impact === 'serious' || v.impact === 'critical')
              found.push(`${pathname} @${width}px: ${v.id} (${v.impact}) at ${v.nodes.join(', ')}`);
          await tab.close();
        }
      }
      expect(found).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
