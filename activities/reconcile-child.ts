/**
 * The process a worker runs one reconciliation in (started by `reconcile-process.ts`): it reads
 * the request from its parent over IPC, runs the engine, and answers with progress messages, then
 * the result or the error. A comparison is CPU work and long native calls (a sort in SQLite); in
 * its own process it cannot starve the heartbeats of the other steps the worker hosts, and
 * killing it stops it for sure.
 */
import { rmSync } from 'node:fs';
import { reconcile, type ReconcileProgress } from '../reconcile/reconcile.js';
import type { ReconcileConfig } from '../reconcile/config.js';
import type { ReconcileResult } from '../reconcile/result.js';

/** What the parent sends. */
export interface ChildRequest {
  config: ReconcileConfig;
  baseDir: string;
  /** The folder for sort files, which the parent removes once this process has exited. */
  tempDir: string;
  /** The comparison's timeout: no statement on a PostgreSQL side may outlive it. */
  timeoutMs: number;
}

/** What the child sends back: progress any number of times, then one `done` or `failed`. */
export type ChildMessage =
  | { type: 'progress'; progress: ReconcileProgress }
  | { type: 'done'; result: ReconcileResult }
  | { type: 'failed'; name: string; message: string };

/** Progress more often than this would only cost IPC messages nobody reads. */
const PROGRESS_EVERY_MS = 1000;

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) resolve();
    else process.send!(message, () => resolve());
  });
}

/** The folder of the comparison's sort files, once the request named it. */
let scratch: string | undefined;

// A worker that died (SIGKILL, out of memory) cannot hear the answer, nor remove the folder it made for the sort files
// (a copy of the data compared): stop reading at once, and remove it here.
process.once('disconnect', () => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  process.exit(1);
});

process.once('message', (request: ChildRequest) => {
  scratch = request.tempDir;
  let last = 0;
  const onProgress = (progress: ReconcileProgress): void => {
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    void send({ type: 'progress', progress });
  };
  reconcile(request.config, { baseDir: request.baseDir, tempDir: request.tempDir, statementTimeoutMs: request.timeoutMs, onProgress })
    .then(
      (result) => send({ type: 'done', result }),
      (err: unknown) =>
        send({
          type: 'failed',
          name: err instanceof Error ? err.name : 'Error',
          message: err instanceof Error ? err.message : String(err),
        }),
    )
    .finally(() => {
      process.removeAllListeners('disconnect');
      process.disconnect();
    });
});
