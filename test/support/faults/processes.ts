/**
 * Where things are, and the processes the fault scenarios start: `cutover` commands, workers, waits.
 * Part of the fault scenarios (index.ts says what they are and why they import the way they do).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type * as StoreModule from '../../../prisma/store.js';
import type { RecordStore } from '../../../prisma/record-store.js';
import type * as ReadStateModule from '../../../common/read-run-state.js';

// ---------------------------------------------------------------------------------------------
// Where things are

/** The checkout: the folder above this file holding the `package.json` named cutover. */
export const PROJECT = (() => {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'cutover') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no cutover checkout above ${import.meta.dirname}`);
  }
})();

export const BIN = path.join(PROJECT, 'bin', 'cutover.js');

/** A module of the build (`dist/`), typed by its source. */
export async function fromDist<T>(relative: string): Promise<T> {
  return (await import(pathToFileURL(path.join(PROJECT, 'dist', relative)).href)) as T;
}

export const openRecordStore = async (databaseUrl: string): Promise<RecordStore> =>
  (await fromDist<typeof StoreModule>('prisma/store.js')).openRecordStore({ databaseUrl });

export const readRunState = async () => (await fromDist<typeof ReadStateModule>('common/read-run-state.js')).readRunState;

// ---------------------------------------------------------------------------------------------
// Processes

/** A child process with its collected output and its exit. */
export type Child = ChildProcess & { output: () => string; exited: Promise<number | null> };

export const children = new Set<ChildProcess>();

/** SIGKILLs every process started here that is still running (call it after each test). */
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

/** Starts a process in the background, collecting its output. */
export function startProcess(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; detached?: boolean } = {},
): Child {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd ?? PROJECT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  children.add(child);
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    });
    // Could not start at all (ENOENT...): no 'exit' follows.
    child.on('error', (err) => {
      output += `${err.message}\n`;
      children.delete(child);
      resolve(null);
    });
  });
  return Object.assign(child, { output: () => output, exited });
}

/** Starts `cutover ...args` in the background. */
export function startCutover(args: string[], env: Record<string, string>, cwd: string): Child {
  return startProcess(process.execPath, [BIN, ...args], { env, cwd });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cutover ...args` to its end without blocking this process (the test plays several people at once). */
export async function cutover(args: string[], env: Record<string, string>, cwd: string, timeoutMs = 120_000): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  children.delete(child);
  return { code, stdout, stderr };
}

/** A stack trace in a command's output: what a person must never see for an expected failure. */
export const STACK_TRACE = /^\s+at .+\(.*:\d+:\d+\)|^\s+at .+:\d+:\d+$/m;

/** Waits until `fn()` satisfies `predicate`, polling. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  predicate: (value: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await fn();
      if (predicate(last)) return last;
    } catch {
      // Asked while something is down: ask again.
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 1500)}`);
    await sleep(200);
  }
}
