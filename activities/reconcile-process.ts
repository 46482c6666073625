/**
 * Runs one reconciliation in a child process (`reconcile-child.ts`) and waits for its answer,
 * reporting progress on the way. Never throws: every ending, including a timeout, a cancellation,
 * a worker that stops and a child that crashes, is an answer. A comparison only reads, so stopping
 * it is always safe: it is killed, never left running.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findProjectRoot } from '../prisma/paths.js';
import type { ReconcileConfig } from '../reconcile/config.js';
import type { ReconcileProgress } from '../reconcile/reconcile.js';
import type { ReconcileResult } from '../reconcile/result.js';
import type { ChildMessage, ChildRequest } from './reconcile-child.js';
import { StderrTail } from './stderr-tail.js';

/** How a reconciliation in its own process ended. */
export type ReconcileAnswer =
  | { kind: 'done'; result: ReconcileResult }
  /** The engine refused: a side cannot be read, a value cannot be compared. `message` names the side. */
  | { kind: 'failed'; name: string; message: string }
  | { kind: 'timed_out' }
  | { kind: 'cancelled' }
  /** The worker is stopping: the comparison was stopped and may be asked again. */
  | { kind: 'worker_stopped' }
  | { kind: 'crashed'; message: string };

export interface ReconcileRequest {
  config: ReconcileConfig;
  /** Relative CSV and SQLite paths are relative to it (the runbook's folder). */
  baseDir: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** True when the abort is the worker stopping rather than a cancellation. */
  workerStopping?: () => boolean;
  onProgress?: (progress: ReconcileProgress) => void;
  /** The child's environment (the worker's, less cutover's own secrets). */
  env: Record<string, string>;
  /** Where the child's temporary folder goes (default: the system's temporary folder). */
  tempDir?: string;
}

/**
 * The child's compiled file: beside this one in `dist/`. Tests run the TypeScript sources, where
 * there is no `.js` beside this file, so they use the build in `dist/` (`npm test` builds it first).
 */
function childScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'reconcile-child.js');
  // Bundled into dist/cli/commands.cjs, "here" is dist/cli/: the child is then found from the project's root.
  return existsSync(beside) ? beside : path.join(findProjectRoot(here), 'dist', 'activities', 'reconcile-child.js');
}

/** Runs the comparison in its own process; resolves with how it ended. */
export function runReconcileProcess(request: ReconcileRequest): Promise<ReconcileAnswer> {
  return new Promise<ReconcileAnswer>((resolve) => {
    let settled = false;
    const stderr = new StderrTail();
    // The child's sort files go in a folder of the parent's making, removed once the child has exited: a child killed
    // at its timeout or on a cancellation cannot remove them itself, and they are a copy of the data compared.
    const scratch = mkdtempSync(path.join(request.tempDir ?? tmpdir(), 'cutover-reconcile-'));
    const child = fork(childScript(), [], {
      env: request.env,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const finish = (answer: ReconcileAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(answer);
    };
    const timer = setTimeout(() => finish({ kind: 'timed_out' }), request.timeoutMs);
    const onAbort = (): void => finish(request.workerStopping?.() ? { kind: 'worker_stopped' } : { kind: 'cancelled' });
    if (request.signal?.aborted) {
      onAbort();
      return;
    }
    request.signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr.add(chunk);
    });
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'progress') request.onProgress?.(message.progress);
      else if (message.type === 'done') finish({ kind: 'done', result: message.result });
      else finish({ kind: 'failed', name: message.name, message: message.message });
    });
    const removeScratch = (): void => rmSync(scratch, { recursive: true, force: true });
    child.on('error', (err) => {
      if (child.exitCode === null && child.signalCode === null && child.pid === undefined) removeScratch();
      finish({ kind: 'crashed', message: err.message });
    });
    child.once('exit', removeScratch);
    // 'close', not 'exit': it comes after every message the child sent was read.
    child.on('close', (code, signal) => {
      // A child that answered has exited on its own; one that did not, crashed (out of memory, killed).
      const why = signal ? `was killed (${signal})` : `exited with code ${code}`;
      const last = stderr.lastLine();
      finish({ kind: 'crashed', message: `the comparison process ${why}${last ? `: ${last}` : ''}` });
    });
    const message: ChildRequest = { config: request.config, baseDir: request.baseDir, tempDir: scratch, timeoutMs: request.timeoutMs };
    child.send(message);
  });
}
