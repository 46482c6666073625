/**
 * The lint guard `npm test` runs: ESLint must refuse a workflow file that leaves a promise floating or imports a
 * Node built-in, the two mistakes that make a Temporal workflow silently wrong or unbundleable.
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

describe('eslint.config.js', () => {
  it('reports a floating promise and a Node import in workflow code', async () => {
    const eslint = new ESLint({
      cwd: root,
      // The probe is not on disk, so it cannot be in tsconfig.eslint.json: type it with the project service's
      // default project instead (same compiler options), keeping the repository's own rules.
      overrideConfig: {
        files: ['**/*.ts'],
        languageOptions: {
          parserOptions: {
            project: null,
            projectService: { allowDefaultProject: ['workflows/*.ts'], defaultProject: 'tsconfig.json' },
            tsconfigRootDir: root,
          },
        },
      },
    });
    const [result] = await eslint.lintText(probe, { filePath: path.join(root, 'workflows', 'lint-probe.ts') });
    const rules = result!.messages.map((m) => `${m.ruleId ?? 'fatal'}:${m.line}`);
    expect(rules).toContain('no-restricted-imports:1');
    expect(rules).toContain('@typescript-eslint/no-floating-promises:5');
  });
});
