/**
 * One scratch folder per test run. The tests, the commands and servers they start, and the browser all write their
 * scratch files to the system's temporary folder (os.tmpdir(), which reads TMPDIR); a run used to leave some 300
 * folders (74 MB) in /tmp. The global setup points TMPDIR at a folder of the run's own before any test file starts
 * (they and their children inherit it), and removes it at the end when every file passed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Makes the run's folder in the temporary folder and points this process's TMPDIR at it; answers its path. */
export function useRunTempDir(): string {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-test-run-'));
  // Open to all, as /tmp is: the PostgreSQL tests run initdb and the server as the unprivileged postgres user.
  fs.chmodSync(runDir, 0o1777);
  process.env['TMPDIR'] = runDir;
  return runDir;
}

/**
 * Removes the run's folder, unless the run failed: then it stays, with what the tests kept to look at (a fault
 * scenario's history, a server's log), and the answer is the line that says where.
 */
export function releaseRunTempDir(runDir: string, failed: boolean): string | undefined {
  if (failed) return `The failed run's scratch files are kept in ${runDir}`;
  fs.rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
  return undefined;
}
