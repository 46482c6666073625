/**
 * What cutover writes to disk on its own (the data folder, the SQLite record store) is readable by its user only: the
 * store holds decisions, reconciliation rows and outputs of steps, and the folder the embedded server's data. Checked
 * with the built CLI in a fresh data folder, and with a store an older version left readable to everyone.
 */
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEnv, PROJECT, runCli } from './support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-modes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const runbook = path.join(PROJECT, 'test', 'fixtures', 'sample-crm-runbook.yaml');
const mode = (file: string): string => (statSync(file).mode & 0o777).toString(8);

describe('files cutover makes', () => {
  it('makes its data folder 0700 and the record store 0600, and tightens a store left 0644', () => {
    const home = path.join(dir, 'project', '.cutover');
    const env = cliEnv({ CUTOVER_HOME: home });
    const first = runCli(['history', runbook], env, dir);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(mode(home)).toBe('700');
    expect(mode(path.join(home, 'cutover.db'))).toBe('600');

    chmodSync(path.join(home, 'cutover.db'), 0o644);
    expect(runCli(['history', runbook], env, dir).code).toBe(0);
    expect(mode(path.join(home, 'cutover.db'))).toBe('600');
  });
});
