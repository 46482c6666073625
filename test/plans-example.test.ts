/**
 * The example plan in examples/plan/ is what its README says: the CSV imports (with its mapping file) to the committed
 * runbook, word for word, and the XLSX `cutover export` wrote of it imports back to the same runbook (same version
 * hash). Through the built CLI.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv, runCli } from './support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-example-plan-'));
const hashOf = (stdout: string) => /\(([0-9a-f]{16})\)/.exec(stdout)?.[1];

describe('examples/plan', () => {
  it('imports from CSV to the committed runbook, and from the exported XLSX to the same runbook', () => {
    const env = cliEnv();
    const out = path.join(mkdtempSync(path.join(dir, 'csv-')), 'runbook.yaml');
    const csv = runCli(['import', 'examples/plan/crm-plan.csv', '--columns', 'examples/plan/plan-columns.yaml', '--out', out], env);
    expect(csv.code, csv.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync('examples/plan/runbook.yaml', 'utf8'));

    const fromXlsx = path.join(dir, 'from-xlsx.yaml');
    const xlsx = runCli(['import', 'examples/plan/crm-plan.xlsx', '--out', fromXlsx], env);
    expect(xlsx.code, xlsx.stderr).toBe(0);
    const committed = runCli(['validate', 'examples/plan/runbook.yaml'], env);
    const reread = runCli(['validate', fromXlsx], env);
    expect(committed.stdout).toContain('valid — crm-go-live v3, 7 phases, 17 steps');
    expect(hashOf(reread.stdout)).toBe(hashOf(committed.stdout));
  });
});
