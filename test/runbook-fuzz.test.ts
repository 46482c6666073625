/**
 * Fuzzed runbooks: the properties of bench/lib/fuzz-runbooks.mjs with small counts, against the
 * TypeScript sources, and a few generated bad files through the real `cutover validate`.
 *
 * The property: parsing and validating any text returns (never throws), and either accepts a
 * runbook with at least one step and unique step ids, or lists problems that each have a
 * message and a line and column inside the text. `npm run bench -- survive` runs thousands.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aliasBomb, arbitraries, deepText, fuzzRunbooks, hugeRunbook, judge, violation } from '../bench/lib/fuzz-runbooks.mjs';
import { parseRunbook } from '../runbook/parse.js';
import { cliEnv, PROJECT, type CliResult } from './support/cli.js';

/** fast-check's property over an arbitrary of texts: no violation. */
const holds = (arbitrary: fc.Arbitrary<string>) =>
  fc.property(arbitrary, (text) => {
    const wrong = violation(text, parseRunbook);
    if (wrong !== undefined) throw new Error(wrong);
  });

describe('fuzzed runbooks', () => {
  it('accepts every valid generated runbook, in any style, line ending and byte-order mark', () => {
    fc.assert(
      fc.property(arbitraries.validText, (text) => {
        const { ok, violation: wrong } = judge(text, parseRunbook);
        if (wrong !== undefined) throw new Error(wrong);
        if (!ok) throw new Error(JSON.stringify((parseRunbook(text, 'fuzz.yaml') as { problems: unknown }).problems));
      }),
      { numRuns: 100 },
    );
  });

  it('answers mutated runbooks with located problems: removed fields, wrong types, duplicates, cycles', () => {
    fc.assert(holds(arbitraries.mutatedText), { numRuns: 300 });
  });

  it('answers malformed YAML with located problems: quotes, brackets, tabs, indentation, aliases, junk', () => {
    fc.assert(holds(arbitraries.malformedText), { numRuns: 300 });
  });

  it('answers runbooks with ids, titles and owners in any script', () => {
    fc.assert(holds(arbitraries.unicodeText), { numRuns: 150 });
  });

  it('answers deeply nested documents', () => {
    fc.assert(holds(arbitraries.deepText), { numRuns: 30 });
  });

  it('answers huge documents', () => {
    fc.assert(holds(arbitraries.hugeText), { numRuns: 3 });
    expect(judge(hugeRunbook(3000), parseRunbook)).toEqual({ ok: true, violation: undefined });
  });

  it('fuzzRunbooks counts every answer and gives the same figures for the same seed', async () => {
    const run = () =>
      fuzzRunbooks({ runs: 150, seed: 42, parseRunbook, arbitrary: fc.oneof(arbitraries.validText, arbitraries.malformedText) });
    const [first, second] = [await run(), await run()];
    expect(first.crashes).toEqual([]);
    expect(first.accepted + first.rejected).toBe(150);
    expect(first.accepted).toBeGreaterThan(0);
    expect(first.rejected).toBeGreaterThan(0);
    expect([second.accepted, second.rejected]).toEqual([first.accepted, first.rejected]);
  });

  it('fuzzRunbooks reports a crash with the seed and path that replay it', async () => {
    const figures = await fuzzRunbooks({
      runs: 5,
      seed: 7,
      parseRunbook: (text) => {
        if (text.includes('\n')) throw new Error('boom');
        return { ok: false, problems: [] };
      },
      arbitrary: fc.constantFrom('a', 'b\nc'),
    });
    expect(figures.runs).toBe(5);
    expect(figures.crashes.length).toBeGreaterThan(0);
    for (const crash of figures.crashes) {
      expect(crash).toEqual({ seed: 7, path: expect.stringMatching(/^\d+$/), input: expect.any(String), error: expect.any(String) });
      const replayed = fc.sample(fc.constantFrom('a', 'b\nc'), { seed: 7, numRuns: Number(crash.path) + 1 })[Number(crash.path)];
      expect(replayed).toBe(crash.input);
    }
    expect(figures.crashes.map((c) => c.error)).toContain('threw Error: boom');
    expect(figures.crashes.map((c) => c.error)).toContain('refused the runbook without a problem');
    const problem = { file: 'fuzz.yaml', line: 1, column: 1, path: '', message: 'm' };
    const warns = () => {
      process.emitWarning('careful');
      return { ok: false, problems: [problem], warnings: [] };
    };
    expect(judge('x', warns)).toEqual({ violation: 'printed a process warning: careful' });
    expect(judge('x', () => ({ ok: false, problems: [{ ...problem, line: 2 }], warnings: [] })).violation).toBe(
      'a problem at line 2 of 1: m',
    );
  });
});

/** `cutover ...args` in its own process, without blocking, so several run at once. */
function cutover(args: string[], cwd: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(PROJECT, 'bin', 'cutover.js'), ...args],
      { cwd, env: cliEnv(), timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error && typeof error.code === 'number' ? error.code : error ? null : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('cutover validate on generated bad files', () => {
  it('exits 3 naming the file and a line, never with a stack trace', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-fuzz-'));
    const firstRefused = (arbitrary: fc.Arbitrary<string>) =>
      fc.sample(arbitrary, { seed: 11, numRuns: 40 }).find((text) => judge(text, parseRunbook).ok === false)!;
    const files: Record<string, string> = {
      'alias-bomb.yaml': aliasBomb(9, 10, 'roles'),
      'deep.yaml': deepText(20_000, 'flow-seq'),
      'huge.yaml': `name: huge\nnotes: "${'x'.repeat(6 * 1024 * 1024)}"\n`,
      'crlf-bom-unclosed.yaml': '\uFEFFname: "demo\r\nversion: 1\r\n',
      'malformed.yaml': firstRefused(arbitraries.malformedText),
      'mutated.yaml': firstRefused(arbitraries.mutatedText),
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    // Started together: each is a Node process that loads the CLI, on a shared 2-core box.
    const results = await Promise.all(Object.keys(files).map((name) => cutover(['validate', name], dir)));
    Object.keys(files).forEach((name, i) => {
      const { code, stdout, stderr } = results[i]!;
      const output = stdout + stderr;
      expect({ name, code, named: new RegExp(`^cutover: ${name.replace('.', '\\.')}:\\d+:\\d+`, 'm').test(output) }, output).toEqual({
        name,
        code: 3,
        named: true,
      });
      expect(output, name).not.toMatch(/^ {4}at /m);
      expect(output, name).not.toContain('a bug');
    });
  });

  it('--json lists the problems of an alias bomb with their positions', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-fuzz-'));
    writeFileSync(path.join(dir, 'bomb.yaml'), aliasBomb(9, 10, 'roles'));
    const result = await cutover(['validate', 'bomb.yaml', '--json'], dir);
    expect(result.code).toBe(3);
    const report = JSON.parse(result.stdout) as {
      valid: boolean;
      problems: { file: string; line: number; column: number; message: string }[];
    };
    expect(report.valid).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({
        file: 'bomb.yaml',
        line: expect.any(Number),
        column: expect.any(Number),
        message: expect.stringContaining('repeat more than 100,000 values'),
      }),
    ]);
  });
});
