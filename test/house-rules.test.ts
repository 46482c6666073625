/**
 * The house's size limits, checked on every file rather than remembered: no source file over 600 lines and no
 * function over 200, so every room can be read whole. Generated files, the benchmark fixtures in bench/lib and the
 * frozen first workflow (workflows/legacy/, kept only so old runs replay) are the agreed exceptions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const MAX_FILE_LINES = 600;
const MAX_FUNCTION_LINES = 200;
const SOURCE = /\.(ts|tsx|mts|mjs|js|cjs)$/;
const SKIPPED_DIRS = new Set([
  'node_modules',
  'dist',
  '.git',
  '.tools',
  '.cutover',
  'generated',
  'coverage',
  'histories',
  'faults-histories',
]);
const EXCEPTIONS = [/^bench\/lib\//, /^workflows\/legacy\//];

function sourceFiles(dir = ROOT): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED_DIRS.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(full));
    else if (SOURCE.test(entry.name)) files.push(path.relative(ROOT, full));
  }
  return files.filter((file) => !EXCEPTIONS.some((pattern) => pattern.test(file)));
}

/** Every function in `file` longer than the limit, as `file:line name (N lines)`. */
function longFunctions(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > MAX_FUNCTION_LINES) {
        const name = node.name && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)';
        found.push(`${file}:${start + 1} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('house rules', () => {
  const files = sourceFiles();

  it(`no source file is over ${MAX_FILE_LINES} lines`, () => {
    expect(files.length).toBeGreaterThan(100);
    const long = files
      .map((file) => ({ file, lines: readFileSync(path.join(ROOT, file), 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > MAX_FILE_LINES)
      .map(({ file, lines }) => `${file} (${lines} lines)`);
    expect(long).toEqual([]);
  });

  it(`no function is over ${MAX_FUNCTION_LINES} lines`, () => {
    // Test files' describe() callbacks are scopes, not functions anyone reads as one: they are measured by their tests.
    const long = files.flatMap((file) => longFunctions(file, readFileSync(path.join(ROOT, file), 'utf8')));
    const inSources = long.filter((entry) => !(entry.startsWith('test/') && entry.includes('(anonymous)')));
    expect(inSources).toEqual([]);
  });
});
