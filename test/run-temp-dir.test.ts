/**
 * The test run's scratch files go in one folder of its own (test/support/run-temp-dir.ts), not loose in /tmp.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { releaseRunTempDir } from './support/run-temp-dir.js';

describe("the test run's scratch folder", () => {
  it('is where this file and the processes it starts write their scratch files', () => {
    const here = os.tmpdir();
    expect(path.basename(here)).toMatch(/^cutover-test-run-/);
    const child = execFileSync(process.execPath, ['-e', 'process.stdout.write(require("node:os").tmpdir())'], { encoding: 'utf8' });
    expect(child).toBe(here);
  });

  it('goes at the end of a run that passed, and stays, named, after one that failed', () => {
    const passed = fs.mkdtempSync(path.join(os.tmpdir(), 'release-'));
    fs.mkdirSync(path.join(passed, 'cutover-wf-x'));
    fs.writeFileSync(path.join(passed, 'cutover-wf-x', 'runbook.yaml'), 'name: x\n');
    expect(releaseRunTempDir(passed, false)).toBeUndefined();
    expect(fs.existsSync(passed)).toBe(false);

    const failed = fs.mkdtempSync(path.join(os.tmpdir(), 'release-'));
    fs.writeFileSync(path.join(failed, 'kept.history.json'), '{}');
    expect(releaseRunTempDir(failed, true)).toBe(`The failed run's scratch files are kept in ${failed}`);
    expect(fs.readFileSync(path.join(failed, 'kept.history.json'), 'utf8')).toBe('{}');
  });
});
