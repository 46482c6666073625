/**
 * `cutover plan RUNBOOK`: the one-page plan. The HTML, printed by real Chromium to an A3 landscape PDF, is one page
 * for a 120-step runbook (and the chart shows its lanes, the go/no-go, the point of no return, the freeze); the
 * Markdown says the same facts as tables. Through the built CLI.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planHtml, planMarkdown } from '../present/plan-page.js';
import { parseRunbook } from '../runbook/parse.js';
import { cliEnv, runCli } from './support/cli.js';
import { bigPlanRunbook } from './support/plan-runbook.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-plan-'));
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** Pages of a PDF Chromium wrote: its page objects (`/Type /Page`, not `/Pages`). */
const pageCount = (pdf: Buffer) => (pdf.toString('latin1').match(/\/Type\s*\/Page(?![s\w])/g) ?? []).length;

async function printed(file: string): Promise<{ pages: number; text: string }> {
  const page = await browser.newPage();
  try {
    await page.goto(`file://${file}`);
    const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true });
    return { pages: pageCount(pdf), text: await page.locator('body').innerText() };
  } finally {
    await page.close();
  }
}

describe('cutover plan', () => {
  it('prints a 120-step runbook on one A3 landscape page, with its lanes, go/no-go, freeze and point of no return', async () => {
    const text = bigPlanRunbook(120);
    const parsed = parseRunbook(text, 'big.yaml');
    expect(parsed.ok && parsed.runbook.phases.reduce((n, p) => n + p.steps.length, 0)).toBe(120);
    writeFileSync(path.join(dir, 'big.yaml'), text);
    const result = runCli(['plan', 'big.yaml', '--format', 'html', '--out', 'big-plan.html'], cliEnv(), dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('wrote big-plan.html');
    const { pages, text: shown } = await printed(path.join(dir, 'big-plan.html'));
    expect(pages).toBe(1);
    expect(shown).toContain('point of no return 2026-12-06');
    expect(shown).toContain('interface freeze 2026-12-06 03:00Z to 2026-12-06 04:00Z (bank batch)');
    const svg = readFileSync(path.join(dir, 'big-plan.html'), 'utf8');
    for (const lane of ['Data', 'Interfaces', 'Business', 'Infrastructure']) expect(svg).toContain(`>${lane}</text>`);
    expect(svg).toContain('GO/NO-GO: Go / no-go');
    expect(svg).toContain('retired: Task 117');
    expect(svg).toMatch(/class="fixed"[^>]*><title>fixed start: s10 not before 2026-12-06 00:00Z/);
  }, 120_000);

  it('prints the sample runbook and each template on one page too', async () => {
    for (const file of ['examples/sample/runbook.yaml', 'templates/erp/runbook.yaml']) {
      const out = path.join(dir, `${path.basename(path.dirname(file))}.html`);
      const result = runCli(['plan', file, '--out', out], cliEnv());
      expect(result.code, result.stderr).toBe(0);
      expect((await printed(out)).pages, file).toBe(1);
    }
  }, 120_000);

  it('gives the same facts as Markdown tables', () => {
    const result = runCli(['plan', 'templates/crm/runbook.yaml', '--format', 'md'], cliEnv());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('- point of no return: 2026-12-06 03:10Z (the planned back-out takes 2h50m)');
    expect(result.stdout).toContain('| decide | go_no_go | 1 | 2026-12-06 01:25Z to 2026-12-06 01:25Z | cutover-lead (lead-person) |');
    expect(result.stdout).toContain(
      '| 2026-12-06 01:45Z | legacy retirement: Legacy CRM retired (read-only archive) (`legacy-retired`) | dba |',
    );
  });

  it('says how hypercare ends and when the legacy tools retire, earliest first', () => {
    const parsed = parseRunbook(
      `
name: erp
version: 1
lead: lead
roles: { lead: [alice], dba: [bob], ops: [olga] }
phases:
  - id: go
    kind: interface_switch_on
    steps: [{ id: sync-on, title: Sync on, owner: ops, expected: 1m, action: { kind: shell, command: "true" } }]
hypercare:
  mttr: { sev1: 1h }
  owners: { interfaces: { sync-on: ops } }
  exit: { approvers: [lead, ops], mttr_days: 14, earliest: 21d }
  retirement:
    - { id: legacy-off, title: Legacy ERP switched off, date: 2027-03-31, owner: dba }
    - { id: legacy-ro, title: Legacy ERP read-only, date: 2027-01-15, owner: ops }
`,
      'erp.yaml',
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const exit =
      'hypercare until lead and ops approve its exit: no open sev1/sev2, MTTR within target over 14 days, no earlier than 21d after go-live';
    expect(planMarkdown(parsed.runbook)).toContain(
      `After go-live: ${exit}.\n\n| date | legacy retirement | owner |\n| --- | --- | --- |\n| 2027-01-15 | Legacy ERP read-only (\`legacy-ro\`) | ops |\n| 2027-03-31 | Legacy ERP switched off (\`legacy-off\`) | dba |\n`,
    );
    expect(planHtml(parsed.runbook)).toContain(
      `<p class="facts after"><strong>After go-live</strong> <span>${exit}</span><span>2027-01-15 legacy retirement: Legacy ERP read-only (ops)</span><span>2027-03-31 legacy retirement: Legacy ERP switched off (dba)</span></p>`,
    );
  });

  it('refuses a format it does not write', () => {
    const result = runCli(['plan', 'templates/crm/runbook.yaml', '--format', 'pdf'], cliEnv());
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('cutover: --format pdf is not a plan format; use html or md');
  });
});
