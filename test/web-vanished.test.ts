/**
 * A run that vanishes from Temporal while people watch it (deleted, or past the namespace's retention), against a real
 * run on the test Temporal server recorded in a real SQLite store: the open page says so in a sentence and stops
 * reconnecting; a reload, the JSON and the event stream answer from the record store with a note, never a stack trace.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunState } from '../common/read-run-state.js';
import type { RunQueries } from '../common/run-follower.js';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { serveStatusPage, type StatusPage } from '../web/server.js';
import { runStepsQuery, runSummaryQuery } from '../workflows/messages.js';
import { launchChromium, readStream } from './support/chromium.js';
import { startHarness, startReserved, waitForState, type Harness } from './support/workflow-harness.js';
import { migratedStore } from './support/store-template.js';

const RUNBOOK = `
name: vanish-crm
version: "1"
lead: lead
roles: { lead: [alice] }
phases:
  - id: move
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: lead, expected: 1s, action: { kind: shell, command: "true" } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead] } }
`;

const GONE = 'Temporal no longer has this run; reload the page for the state the record store holds.';
let h: Harness;
let store: RecordStore;
let page: StatusPage;
let browser: Browser;

beforeAll(async () => {
  store = await openRecordStore({ databaseUrl: migratedStore('cutover-vanish-') });
  h = await startHarness({ store });
  const follow = (runId: string): RunQueries => {
    const handle = h.client.workflow.getHandle(runId);
    return { summary: () => handle.query(runSummaryQuery), page: (offset, limit) => handle.query(runStepsQuery, { offset, limit }) };
  };
  // As `cutover web` reads a run's state: a run Temporal does not have is answered by the store.
  const liveState = async (runId: string) => {
    try {
      return (await readRunState(h.client.workflow.getHandle(runId))).state;
    } catch (error) {
      if ((error as Error).name === 'WorkflowNotFoundError') return undefined;
      throw error;
    }
  };
  page = await serveStatusPage({ port: 0, store, follow, liveState, retryMs: 300 });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await page?.close();
  await h?.stop();
  await store?.close();
});

describe('a run that vanished from Temporal', () => {
  it('is said in a sentence on the open page, and answered from the record store after', async () => {
    const { runId, handle } = await startReserved(h, store, RUNBOOK);
    await waitForState(handle, (s) => s.steps.go!.gate?.status === 'open');
    const tab = await browser.newPage();
    const problems: string[] = [];
    tab.on('pageerror', (e) => problems.push(e.message));
    try {
      await tab.goto(`${page.url}/runs/${runId}`);
      await tab.locator('#live[data-state="live"]').waitFor({ timeout: 15_000 });

      await h.client.workflowService.deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: runId } });
      // Deleting is asynchronous in Temporal; the page follows within its polls once it is done.
      await tab.locator('#live[data-state="ended"]').waitFor({ timeout: 30_000 });
      await expect(tab.locator('#live-status').innerText()).resolves.toBe(GONE);
      // What it showed stays: the steps, the gate.
      await expect(tab.locator('#sec-steps').innerText()).resolves.toContain('Copy');

      // A reload: the record store's last state, said to be that.
      const reload = await fetch(`${page.url}/runs/${runId}`);
      expect(reload.status).toBe(200);
      const body = await reload.text();
      expect(body).toMatch(
        /Temporal has no live state for this run right now; showing the last state the record store has|has not started recording its state yet/,
      );
      expect(body).not.toMatch(/\bat .*\.(ts|js):\d+|WorkflowNotFound|NOT_FOUND/);
      const json = (await (await fetch(`${page.url}/api/runs/${runId}`)).json()) as { source: string; note?: string };
      expect(json.source).toBe('store');
      expect(json.note).toBeTruthy();
      // The event stream: what the store has, then an end that says why.
      const stream = await readStream(`${page.url}/runs/${runId}/events`);
      try {
        const end = await stream.until((e) => e.type === 'end', 15_000);
        expect(JSON.parse(end.data)).toEqual({ sentence: GONE });
      } finally {
        stream.close();
      }
      expect(problems).toEqual([]);
    } finally {
      await tab.close();
    }
  }, 120_000);
});
