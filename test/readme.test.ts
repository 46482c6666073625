/**
 * The README's runbook example is what a new cutover lead copies first: it must stay valid.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem, parseRunbook } from '../runbook/parse.js';

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

  it('documents every exit code the CLI defines', async () => {
    const { EXIT } = await import('../cli/errors.js');
    for (const code of Object.values(EXIT)) expect(readme).toMatch(new RegExp(`\\| ${code} \\|`));
  });
});
