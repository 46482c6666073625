/**
 * The README's runbook example is what a new cutover lead copies first: it must stay valid.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../lib/yaml-document/problems.js';
import { parseRunbook } from '../runbook/parse.js';

const readme = readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');

describe('README', () => {
  it('has a runbook example that validates', () => {
    const block = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, 'a ```yaml block in README.md').toBeDefined();
    const parsed = parseRunbook(block!, 'README.md');
    expect(parsed.ok ? [] : parsed.problems.map(formatProblem)).toEqual([]);
    if (parsed.ok) {
      const kinds = new Set(parsed.runbook.phases.map((p) => p.kind));
      expect(kinds.has('go_no_go')).toBe(true);
    }
  });

  it('has a reconcile example for runbooks that validates', () => {
    const section = readme.slice(readme.indexOf('### In a runbook'));
    const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block, 'a ```yaml block under "In a runbook"').toBeDefined();
    const head = 'name: readme\nversion: 1\nlead: lead\nroles: { lead: [ana], business-owner: [ben], integration: [chen] }\n';
    const parsed = parseRunbook(head + block!, 'README.md');
    expect(parsed.ok ? [] : parsed.problems.map(formatProblem)).toEqual([]);
    const kinds = parsed.ok
      ? parsed.runbook.phases.flatMap((p) => p.steps.flatMap((s) => [s.action?.kind, ...s.checks.map((c) => c.kind)]))
      : [];
    expect(kinds.filter((k) => k === 'reconcile')).toHaveLength(3);
  });

  it('lists every environment variable cutover reads in its one table', () => {
    // Read from cutover's sources: `env.NAME` / `process.env.NAME` for CUTOVER_* and TEMPORAL_* names.
    const root = path.resolve(import.meta.dirname, '..');
    const sources = ['cli', 'prisma', 'worker', 'web', 'activities'].flatMap((dir) =>
      readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts') && !file.startsWith('generated'))
        .map((file) => readFileSync(path.join(root, dir, file), 'utf8')),
    );
    const read = new Set(sources.flatMap((text) => [...text.matchAll(/\benv\.((?:CUTOVER|TEMPORAL)_[A-Z0-9_]+)/g)].map((m) => m[1]!)));
    // Set by cutover for its own SQL child process, never by a user.
    for (const internal of ['CUTOVER_SQLITE_MODULE', 'CUTOVER_PG_MODULE']) read.delete(internal);
    // Set by cutover for a step's commands (documented with the action kinds), read back from the step's own context.
    for (const runVariable of ['CUTOVER_RUN_ID', 'CUTOVER_STEP_ID', 'CUTOVER_ATTEMPT', 'CUTOVER_IDEMPOTENCY_KEY']) {
      read.delete(runVariable);
      expect(readme, runVariable).toContain(`\`${runVariable}\``);
    }
    const table = readme.slice(readme.indexOf('**Every environment variable.**'));
    expect(read.size).toBeGreaterThan(10);
    for (const name of read) expect(table, name).toMatch(new RegExp(`^\\| [^|]*\`${name}\``, 'm'));
  });

  it('documents every exit code the CLI defines', async () => {
    const { EXIT } = await import('../cli/errors.js');
    for (const code of Object.values(EXIT)) expect(readme).toMatch(new RegExp(`\\| ${code} \\|`));
  });
});
