/**
 * A comparison stopped from outside (its timeout, a cancellation, its worker SIGKILLed) is a killed process: whatever
 * it had written to its sort file (a copy of the data) must not outlive it. The CSV side here is a named pipe the test holds open, so the
 * comparison sits in its loading phase, its sort file made, until the timeout kills it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runReconcileProcess } from '../activities/reconcile-process.js';
import { commandEnvironment } from '../activities/action-context.js';
import { eventually, PROJECT } from './support/cli.js';
import { config, csvFile, scratch } from './support/reconcile-data.js';

const dir = scratch();
const held: number[] = [];
afterAll(() => {
  for (const fd of held.splice(0)) closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

/** A named pipe with a header and one row in it, held open for writing so the reader never sees its end. */
function endlessCsv(name: string): void {
  const fifo = path.join(dir, name);
  execFileSync('mkfifo', [fifo]);
  // Read and write: opening a pipe so does not wait for a reader, and keeps one writer for as long as the test runs.
  const fd = openSync(fifo, constants.O_RDWR);
  held.push(fd);
  writeSync(fd, 'id,v\n2,b\n1,a\n');
}

describe('a comparison in its own process', () => {
  it.each([
    ['outlives its timeout', 'timed_out'],
    ['is cancelled', 'cancelled'],
  ] as const)('leaves no sort file behind when it %s', async (name, kind) => {
    const temp = path.join(dir, `tmp-${kind}`);
    mkdirSync(temp);
    endlessCsv(`${kind}.csv`);
    csvFile(dir, `${kind}-target.csv`, 'id,v\n1,a\n');
    // A sample of N rows needs a pass over the source first, so the CSV file goes to its sort file at once.
    const yaml = `source: { driver: csv, path: ${kind}.csv }\ntarget: { driver: csv, path: ${kind}-target.csv }\nkey: [{ column: id, type: integer }]\nsample: { rows: 1 }\n`;
    const stop = new AbortController();
    const answer = runReconcileProcess({
      config: config(yaml),
      baseDir: dir,
      timeoutMs: kind === 'timed_out' ? 10_000 : 600_000,
      signal: stop.signal,
      env: { ...commandEnvironment(), TMPDIR: temp },
      tempDir: temp,
    });
    const sortFile = (): string[] =>
      readdirSync(temp, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('sorted.db'));
    await eventually(sortFile, (files) => files.length === 1, 10_000, 'the sort file');
    if (kind === 'cancelled') stop.abort();
    expect((await answer).kind).toBe(kind);
    await eventually(
      () => readdirSync(temp),
      (left) => left.length === 0,
      10_000,
      'an empty temporary folder',
    );
  });

  it('leaves no sort file behind when the worker that started it is SIGKILLed', async () => {
    const temp = path.join(dir, 'tmp-worker-killed');
    mkdirSync(temp);
    endlessCsv('killed.csv');
    csvFile(dir, 'killed-target.csv', 'id,v\n1,a\n');
    const yaml = `source: { driver: csv, path: killed.csv }\ntarget: { driver: csv, path: killed-target.csv }\nkey: [{ column: id, type: integer }]\nsample: { rows: 1 }\n`;
    const request = { baseDir: dir, timeoutMs: 600_000, env: { ...commandEnvironment(), TMPDIR: temp }, tempDir: temp };
    // The worker: a process of its own running the built comparison, as `cutover worker` does.
    const script = path.join(dir, 'worker.mjs');
    const built = (file: string) => JSON.stringify(path.join(PROJECT, 'dist', file));
    writeFileSync(
      script,
      [
        `const { runReconcileProcess } = await import(${built('activities/reconcile-process.js')});`,
        `const { parseReconcileConfig } = await import(${built('reconcile/parse-config.js')});`,
        `const { config } = parseReconcileConfig(${JSON.stringify(yaml)}, 'killed.yaml');`,
        `await runReconcileProcess({ ...${JSON.stringify(request)}, config });`,
      ].join('\n'),
    );
    const worker = spawn(process.execPath, [script], { stdio: 'ignore' });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    const sortFile = (): string[] =>
      readdirSync(temp, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('sorted.db'));
    await eventually(sortFile, (files) => files.length === 1, 30_000, 'the sort file');
    worker.kill('SIGKILL');
    await exited;
    await eventually(
      () => readdirSync(temp),
      (left) => left.length === 0,
      20_000,
      'an empty temporary folder',
    );
  }, 90_000);
});
