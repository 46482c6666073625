/**
 * Runs the built `cutover` command as a user would: a separate process, its own environment,
 * stdout, stderr and exit code. `npm test` builds `dist/` first (scripts/setup.mjs).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migratedStoreAt } from './store-template.js';

export const PROJECT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(PROJECT, 'bin', 'cutover.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The process id it ran as (the SDK's default client identity is pid@host). */
  pid?: number;
}

/**
 * A fresh data folder and record store for one test's CLI calls, against `temporalAddress`. The store is a copy of the
 * run's migrated empty one (store-template.ts): what the first command would have created, without its Prisma run.
 * `{ noStore: true }` leaves the folder empty, for tests of what cutover does before its store exists.
 */
export function cliEnv(extra: Record<string, string | undefined> = {}, options: { noStore?: boolean } = {}): Record<string, string> {
  const home = mkdtempSync(path.join(tmpdir(), 'cutover-cli-'));
  if (!options.noStore) migratedStoreAt(path.join(home, 'cutover.db'));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('TEMPORAL_') && !k.startsWith('CUTOVER_')) env[k] = v;
  }
  env.CUTOVER_HOME = home;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `cutover ...args` to completion. */
export function runCli(args: string[], env: Record<string, string>, cwd = PROJECT, timeoutMs = 120_000): CliResult {
  const result = spawnSync(process.execPath, [BIN, ...args], { env, cwd, encoding: 'utf8', timeout: timeoutMs });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, pid: result.pid ?? 0 };
}

const started: ChildProcess[] = [];

/** Kills whatever `startCli` started and is still running (call it in `afterEach`). */
export function killStartedCli(): void {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Starts `cutover ...args` in the background, collecting its output; `killStartedCli` cleans up. */
export function startCli(
  args: string[],
  env: Record<string, string>,
  cwd = PROJECT,
): ChildProcess & { output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return Object.assign(child, { output: () => output, exited });
}

/** Waits until `predicate` holds, polling. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  predicate: (value: T) => boolean,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)?.slice(0, 2000)}`);
}

/** Starts `cutover worker ...args` in the background and resolves once it says it serves (its "Ctrl-C stops it" line). */
export async function startWorkerCli(args: string[], env: Record<string, string>, cwd = PROJECT, what = 'the worker') {
  const worker = startCli(['worker', ...args], env, cwd);
  await eventually(
    () => worker.output(),
    (o) => o.includes('Ctrl-C stops it'),
    60_000,
    what,
  );
  return worker;
}
