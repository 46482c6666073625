/**
 * `--out` of `report`, `reconcile-report` and `decisions --export-head` (cli/report-file.ts) in a folder others can
 * write to: a symbolic link planted where the temporary file used to be (its name was the report's and the pid) must not
 * redirect the write, and the report is readable by its owner only.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPORT_FILE_MODE, writeAtomically } from '../cli/report-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-out-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writing a report file', () => {
  it('does not follow a link planted at a temporary name someone could guess', () => {
    const victim = path.join(dir, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    const report = path.join(dir, 'report.html');
    // Where the temporary file of this process's write used to be: the report's name and the pid, known in advance.
    symlinkSync(victim, path.join(dir, `.report.html.${process.pid}.tmp`));
    writeAtomically(report, '<p>the report</p>\n');
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readFileSync(report, 'utf8')).toBe('<p>the report</p>\n');
    // Nothing of its own left behind: the planted link is all that is there besides.
    expect(readdirSync(dir).sort()).toEqual(['.report.html.' + process.pid + '.tmp', 'report.html', 'victim.txt']);
  });

  it('writes the report readable by its owner only, and replaces a link at the target rather than what it points at', () => {
    const elsewhere = path.join(dir, 'elsewhere.txt');
    writeFileSync(elsewhere, 'untouched\n');
    const target = path.join(dir, 'linked.csv');
    symlinkSync(elsewhere, target);
    writeAtomically(target, 'a,b\n');
    expect(statSync(target).mode & 0o777).toBe(REPORT_FILE_MODE);
    expect(REPORT_FILE_MODE).toBe(0o600);
    expect(readFileSync(elsewhere, 'utf8')).toBe('untouched\n');
    expect(readFileSync(target, 'utf8')).toBe('a,b\n');
  });
});
