/**
 * `cutover report RUN` from runs recorded in a real SQLite store, through the built CLI; the HTML is opened in a
 * real Chromium (parsed and laid out as a reader's browser does, printed to PDF) and read back from its DOM.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../run/state.js';
import { openRecordStore } from '../prisma/store.js';
import { cliEnv, runCli } from './support/cli.js';
import { recordRun, timingRunbook } from './support/timing-data.js';
import { migratedStoreAt } from './support/store-template.js';

const MIN = 60_000;
const EVIL = `Load <script>alert("pwned")</script> & 'co'`;
const RUNBOOK = `name: crm-report
version: "2.0"
lead: lead
roles: { lead: [alice], dba: [bob], business: [dana] }
window: { length: 2h }
hypercare: { mttr: 30m }
phases:
  - id: prep
    kind: preparation
    steps:
      - { id: backup, title: Back up, owner: dba, expected: 10m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
  - id: move
    kind: migration
    steps:
      - id: load
        title: ${JSON.stringify(EVIL)}
        owner: dba
        expected: 30m
        depends_on: [backup]
        idempotent: true
        retry: { attempts: 2 }
        action: { kind: shell, command: "true" }
        backout: { kind: shell, command: "true" }
      - { id: count-rows, title: Count rows, owner: dba, expected: 5m, depends_on: [load], action: { kind: shell, command: "true" } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go?, owner: lead, gate: { approvers: [business] } }
`;

function decision(kind: Decision['kind'], by: string, role: string, at: number, target: string, reason: string): Decision {
  return { kind, by, role, at: new Date(at).toISOString(), target, reason, automatic: false };
}

let env: Record<string, string>;
let dir: string;
let browser: Browser;
const t0 = Date.parse('2026-11-10T20:00:00Z');
const t1 = Date.parse('2026-11-12T20:00:00Z');

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cutover-report-'));
  env = cliEnv({ CUTOVER_DATABASE_URL: migratedStoreAt(path.join(dir, 'store.db')) });
  const store = await openRecordStore({ databaseUrl: env.CUTOVER_DATABASE_URL });
  try {
    const runbook = timingRunbook(RUNBOOK);
    await recordRun(store, { runbook, startMs: t0, durations: { backup: 10 * MIN, load: 28 * MIN, 'count-rows': 5 * MIN, go: 3 * MIN } });
    const second = await recordRun(store, {
      runbook,
      startMs: t1,
      // load failed once (at 11m + 20m), was retried by the lead 12 minutes later and took 40m in all.
      durations: { backup: 11 * MIN, load: 40 * MIN, 'count-rows': 6 * MIN, go: 4 * MIN },
      attempts: { load: 2 },
      checks: [
        {
          stepId: 'count-rows',
          outcome: {
            name: 'orders <b>match</b>',
            kind: 'sql',
            passed: false,
            detail: 'expected 1200, got 1187 <i>rows</i>',
            at: new Date(t1 + 58 * MIN).toISOString(),
          },
        },
        {
          stepId: 'backup',
          outcome: { name: 'backup file exists', kind: 'shell', passed: true, detail: 'ok', at: new Date(t1 + 11 * MIN).toISOString() },
        },
      ],
      decisions: [
        decision('resolve', 'alice', 'lead', t1 + 43 * MIN, 'load: retry', 'disk was full <script>x</script>'),
        decision('reject', 'dana', 'business', t1 + 60 * MIN, 'go', 'counts differ'),
        decision('request_backout', 'alice', 'lead', t1 + 60 * MIN, 'crm-report-2', 'no-go'),
      ],
      backout: { reason: 'no-go at the gate', trigger: 'gate_rejected', undo: { load: 9 * MIN, backup: 4 * MIN } },
    });
    // A reconcile check of count-rows found rows missing in the new system, outside its limits.
    await store.recordReconcileResult({
      runId: second,
      stepId: 'count-rows',
      attempt: 1,
      check: 'orders match',
      round: 1,
      startedAt: new Date(t1 + 57 * MIN).toISOString(),
      endedAt: new Date(t1 + 58 * MIN).toISOString(),
      result: {
        matched: 1187,
        missing_in_target: 13,
        extra_in_target: 0,
        mismatched: 0,
        duplicate_keys: { source: 0, target: 0 },
        null_keys: { source: 0, target: 0 },
        columns: [],
        examples: [],
        key_examples: [],
        rows_read: { source: 1200, target: 1187 },
        sampled: false,
        sample: null,
        target_columns_not_compared: [],
        within_limits: false,
        limit_violations: ['13 keys missing in target, more than the 0 allowed'],
        seconds: 0.2,
      },
    });
  } finally {
    await store.close();
  }
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe('cutover report --format html', () => {
  it('writes one self-contained page with the timeline chart, every decision and failed check, and runbook names as text', async () => {
    const file = path.join(dir, 'report.html');
    const result = runCli(['report', 'crm-report-2', '--format', 'html', '--out', file], env);
    expect(result.stderr).toBe(`wrote ${file}\n`);
    expect(result.code).toBe(0);
    const html = readFileSync(file, 'utf8');
    // Nothing to fetch: no script, no stylesheet or image from elsewhere.
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);

    const page = await browser.newPage();
    const requests: string[] = [];
    const dialogs: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(pathToFileURL(file).href);
    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(dialogs).toEqual([]);
    expect(await page.locator('script').count()).toBe(0);

    // The chart: a planned and an actual bar per step that ran, labelled by step.
    const chart = page.locator('svg.timeline');
    expect(await chart.count()).toBe(1);
    expect(await chart.locator('rect.actual').count()).toBe(4);
    expect(await chart.locator('rect.planned').count()).toBeGreaterThanOrEqual(3);
    expect(await chart.locator('text.label').allTextContents()).toEqual(['backup', 'load', 'count-rows', 'go']);
    expect((await chart.boundingBox())!.height).toBeGreaterThan(50);

    // The step title with HTML in it is text, shown as written.
    const body = await page.locator('body').innerText();
    expect(body).toContain(EVIL);
    expect(body).toContain('disk was full <script>x</script>');

    // Every decision and every failed check, listed.
    const decisions = await page.locator('table.decisions tbody tr').allInnerTexts();
    expect(decisions).toHaveLength(3);
    expect(decisions.join('\n')).toMatch(/dana \(business\)\s+reject\s+go\s+counts differ/);
    expect(decisions.join('\n')).toContain('request backout');
    const failedChecks = await page.locator('table.failed-checks tbody tr').allInnerTexts();
    expect(failedChecks).toHaveLength(1);
    expect(failedChecks[0]).toContain('orders <b>match</b>');
    expect(failedChecks[0]).toContain('expected 1200, got 1187 <i>rows</i>');
    expect(await page.locator('table.failed-steps tbody tr').allInnerTexts()).toEqual([expect.stringMatching(/^load\s+1\s/)]);

    // What the reconciliation found.
    const reconciliations = await page.locator('table.reconciliations tbody tr').allInnerTexts();
    expect(reconciliations).toEqual([
      expect.stringMatching(/count-rows\s+check "orders match"\s+outside limits 13 keys missing in target.*\s+1,187\s+13\s+0\s+0/),
    ]);

    // Back-out, hypercare against its target, the previous rehearsal, the forecast.
    expect(body).toMatch(/Backed out \(gate_rejected\): no-go at the gate/);
    expect(await page.locator('table.undos tbody tr').count()).toBe(2);
    expect(body).toMatch(/Mean time to resolve 12m00s against a target of 30m00s\s*met/);
    expect(body).toMatch(/Against crm-report-1 \(completed, took 46m00s\)/);
    expect(await page.locator('table.slower tbody tr').first().innerText()).toMatch(/^load/);
    expect(body).toMatch(/Forecast of the night/);
    expect(body).toMatch(/latest safe go\/no-go/i);

    // It prints: Chromium lays it out on paper.
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  });
});

describe('cutover report --format md', () => {
  it('prints Markdown with the timeline, decisions, failed checks and escaped names', () => {
    const result = runCli(['report', 'crm-report-2'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const md = result.stdout;
    expect(md).toMatch(/^# crm-report-2: rehearsal of crm-report v2\.0/);
    expect(md).toContain('## Timeline');
    expect(md).toMatch(/```text\nbackup\s+plan ░+/);
    expect(md).toContain('disk was full &lt;script&gt;x&lt;/script&gt;');
    expect(md).not.toContain('<script>');
    expect(md).toContain('orders &lt;b&gt;match&lt;/b&gt;');
    expect(md).toMatch(/\| dana \(business\) \| reject \| go \| counts differ \|/);
    expect(md).toContain('Mean time to resolve 12m00s against a target of 30m00s: **met**');
    expect(md).toContain('## Forecast of the night');
    expect(md).toMatch(
      /\| count-rows \| check "orders match" \| \*\*outside limits\*\* 13 keys missing in target, more than the 0 allowed \| 1,187 \| 13 \| 0 \| 0 \|/,
    );
    // A gate with no plan shows none, not 0ms.
    expect(md).toMatch(/\| \*\*go\*\* \| decide \| lead \| succeeded \| — \| 4m00s \|/);
  });

  it('says in one sentence when the run is unknown or the file cannot be written', () => {
    const unknown = runCli(['report', 'crm-report-9'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('cutover: there is no run `crm-report-9`; `cutover list` shows the runs\n');
    const unwritable = runCli(
      ['report', 'crm-report-2', '--format', 'html', '--out', path.join(dir, 'no', 'such', 'folder', 'r.html')],
      env,
    );
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toMatch(/^cutover: cannot write .*r\.html \(ENOENT\); pick a folder you can write to\n$/);
    const format = runCli(['report', 'crm-report-2', '--format', 'pdf'], env);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--format wants md or html, not "pdf"');
  });
});
