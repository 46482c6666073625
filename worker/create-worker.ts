/**
 * Wires the run workflow to its activities on a task queue. The workflow code comes from the
 * bundle the build wrote (`dist/workflow-bundle.js`), so a worker starts without webpack;
 * without it (tests, a source checkout) the SDK bundles `workflows/` on start.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Where the workflow code is: a prebuilt bundle when there is one, else the sources. */
export function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  // Compiled: dist/worker/create-worker.js -> dist/workflow-bundle.js.
  const bundle = path.resolve(here, '..', 'workflow-bundle.js');
  if (existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  const ts = path.resolve(here, '..', 'workflows', 'index.ts');
  return { workflowsPath: existsSync(ts) ? ts : path.resolve(here, '..', 'workflows', 'index.js') };
}

export interface CreateWorkerOptions extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Overrides where the workflow code comes from (tests pass a bundle built once per file). */
  workflows?: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;
  /** Identity shown in Temporal's UI; defaults to the SDK's pid@host. */
  identity?: string;
}

let runtimeInstalled = false;

/**
 * Keeps the SDK to warnings and errors: it logs every worker state change at INFO on stderr,
 * and the CLI's own lines are what a cutover lead reads. Must run before the first
 * connection is made, so callers invoke it before `NativeConnection.connect`.
 */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN', writeWorkerLog) });
  } catch {
    // A runtime already exists (the host process made one); keep it.
  }
}

/**
 * One line per SDK warning or error on stderr. A failed activity attempt is not one: that is a
 * step failing, which cutover reports itself in words a cutover lead reads.
 */
function writeWorkerLog(entry: LogEntry): void {
  if (entry.message === 'Activity failed') return;
  const error = entry.meta?.error as { message?: string } | undefined;
  const where = typeof entry.meta?.workflowId === 'string' ? ` (${entry.meta.workflowId})` : '';
  process.stderr.write(`cutover worker ${entry.level.toLowerCase()}: ${entry.message}${where}${error?.message ? `: ${error.message}` : ''}\n`);
}

/** Builds a worker for cutover's task queue; `run()` it and `shutdown()` when done. */
export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  installQuietRuntime();
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: createActivities({
      recorder: options.recorder,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.workerStopping ? { workerStopping: options.workerStopping } : {}),
    }),
    // Quick steps get to finish when the worker stops; long ones are left running and their
    // outcome reported as unknown (see actions.ts), never killed half-way.
    shutdownGraceTime: '5s',
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.workflows ?? workflowSource()),
  });
}
