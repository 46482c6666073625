/**
 * The lint guard `npm test` runs: ESLint must refuse a workflow file that leaves a promise floating or imports a
 * Node built-in (the two mistakes that make a Temporal workflow silently wrong or unbundleable), and an import that
 * runs the wrong way between the layers (eslint.config.js, MAY_IMPORT).
 */
import { ESLint } from 'eslint';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const probe = `import { readFileSync } from 'node:fs';
import { sleep } from '@temporalio/workflow';

export async function probeWorkflow(): Promise<string> {
  sleep('1 minute');
  return readFileSync('/etc/hostname', 'utf8');
}
`;

/** Files that are not on disk, linted with the repository's rules (one ESLint for all: its project service is shared). */
const PROBES = ['workflows/lint-probe.ts', 'web/lint-probe.ts', 'reconcile/lint-probe.ts', 'cli/lint-probe.ts', 'run/lint-probe.ts'];
const probeLinter = new ESLint({
  cwd: root,
  // The probes are not on disk, so they cannot be in tsconfig.eslint.json: type them with the project service's
  // default project instead (same compiler options), keeping the repository's own rules.
  overrideConfig: {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        project: null,
        projectService: { allowDefaultProject: PROBES, defaultProject: 'tsconfig.json' },
        tsconfigRootDir: root,
      },
    },
  },
});

describe('eslint.config.js', () => {
  it('reports a floating promise and a Node import in workflow code', async () => {
    const [result] = await probeLinter.lintText(probe, { filePath: path.join(root, 'workflows', 'lint-probe.ts') });
    const rules = result!.messages.map((m) => `${m.ruleId ?? 'fatal'}:${m.line}`);
    expect(rules).toContain('no-restricted-imports:1');
    expect(rules).toContain('@typescript-eslint/no-floating-promises:5');
  });

  it.each([
    ['web/lint-probe.ts', "import { startAndFollow } from '../cli/start-run.js';", 'web/ may import only from'],
    ['reconcile/lint-probe.ts', "import type { Runbook } from '../runbook/schema.js';", 'reconcile/ may import only from lib'],
    ['cli/lint-probe.ts', "import { createActivities } from '../activities/index.js';", 'cli/ may import only from'],
    ['run/lint-probe.ts', "import { formatDuration } from '../timing/report.js';", 'run/ may import only from'],
    ['workflows/lint-probe.ts', "import { openRecordStore } from '../prisma/store.js';", 'workflows/ may import only from'],
  ])('refuses a wrong-way import: %s', async (file, line, message) => {
    const [result] = await probeLinter.lintText(`${line}\nexport const probe = 1;\n`, { filePath: path.join(root, file) });
    const layered = result!.messages.filter((m) => m.ruleId === 'import-x/no-restricted-paths');
    expect(layered.map((m) => m.line)).toEqual([1]);
    expect(layered[0]!.message).toContain(message);
  });
});
