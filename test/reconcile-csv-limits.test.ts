/**
 * CSV files at the edges of what the sort file and the parser take, through the built `cutover reconcile` as a user
 * runs it: a wide file out of key order compares (or, past SQLite's column limit, is refused in one sentence), a row
 * that never ends (a quote never closed) is refused naming the file and line, and no copy of the data is left in the
 * temporary folder either way.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from './support/cli.js';
import { scratch } from './support/reconcile-data.js';

const dir = scratch();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const temp = path.join(dir, 'tmp');
mkdirSync(temp);
const env = cliEnv({ TMPDIR: temp });

/** A CSV file of `width` columns (`id`, `c1`...), rows in the order of `ids`. */
function wideCsv(name: string, width: number, ids: number[]): void {
  const header = ['id', ...Array.from({ length: width - 1 }, (_, i) => `c${i + 1}`)];
  const rows = ids.map((id) => [String(id), ...Array.from({ length: width - 1 }, (_, i) => `v${id}-${i}`)].join(','));
  writeFileSync(path.join(dir, name), `${header.join(',')}\n${rows.join('\n')}\n`);
}

function reconcile(name: string, source: string, target: string) {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `source: { driver: csv, path: ${source} }\ntarget: { driver: csv, path: ${target} }\nkey: [{ column: id, type: integer }]\n`,
  );
  return runCli(['reconcile', file, '--json'], env, dir);
}

function oneSentence(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('CSV files at the limits', () => {
  it('compares a 400-column file out of key order, and leaves nothing in the temporary folder', () => {
    const ids = Array.from({ length: 250 }, (_, i) => 250 - i);
    wideCsv('wide-a.csv', 400, ids);
    wideCsv('wide-b.csv', 400, ids);
    const run = reconcile('wide', 'wide-a.csv', 'wide-b.csv');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ matched: 250, mismatched: 0 });
    expect(readdirSync(temp)).toEqual([]);
  });

  it('refuses a file wider than the sort file in one sentence, leaving nothing behind', () => {
    wideCsv('wider-a.csv', 2001, [2, 1]);
    wideCsv('wider-b.csv', 2001, [2, 1]);
    const run = reconcile('wider', 'wider-a.csv', 'wider-b.csv');
    expect(run.code).toBe(6);
    expect(oneSentence(run.stderr)).toBe(
      'cutover: the source (CSV file wider-a.csv) has 2001 columns, and a CSV file that is not in key order is sorted in a file of at most 2000; export only the columns you compare, or in key order',
    );
    expect(readdirSync(temp)).toEqual([]);
  });

  it('refuses a row longer than 8 MiB (a quote never closed) naming the file and line, leaving nothing behind', () => {
    const body = Array.from({ length: 400_000 }, (_, i) => `${i},value number ${i} of the file`).join('\n');
    writeFileSync(path.join(dir, 'open-quote.csv'), `id,v\n1,"never closed\n${body}\n`);
    writeFileSync(path.join(dir, 'small.csv'), 'id,v\n1,a\n');
    const run = reconcile('open-quote', 'open-quote.csv', 'small.csv');
    expect(run.code).toBe(6);
    expect(oneSentence(run.stderr)).toMatch(
      /^cutover: the source \(CSV file open-quote.csv\), line \d+: a row is longer than 8 MiB, which no export's row is; most likely a quote is never closed: check the file's quoting and `source.quote`$/,
    );
    expect(readdirSync(temp)).toEqual([]);
  });
});
