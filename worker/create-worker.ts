/**
 * Wires the run workflow to its activities on a task queue. The workflow code comes from the
 * bundle the build wrote (`dist/workflow-bundle.js`), so a worker starts without webpack;
 * without it (tests, a source checkout) the SDK bundles `workflows/` on start.
 */
import { existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, type NativeConnection, Runtime, Worker, type LogEntry, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { poolTaskQueue } from '../runbook/pools.js';
import { payloadCodecs } from '../common/payload-codec.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Where the workflow code is: a prebuilt bundle when there is one, else the sources. With `encryptedFailures`, the
 * bundle that takes in the failure converter (see {@link encryptedFailures}): the SDK loads the converter the workflow
 * code uses only through its bundle, so the plain one would leave the workflow's own failures in plain text.
 */
export function workflowSource(encryptedFailures = false): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  // Compiled: dist/worker/create-worker.js -> dist/workflow-bundle.js (both written by scripts/setup.mjs).
  const bundle = path.resolve(here, '..', encryptedFailures ? 'workflow-bundle-encrypted-failures.js' : 'workflow-bundle.js');
  if (existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  // Bundled on start; the SDK takes the failure converter in when the worker's data converter names one.
  const ts = path.resolve(here, '..', 'workflows', 'index.ts');
  return { workflowsPath: existsSync(ts) ? ts : path.resolve(here, '..', 'workflows', 'index.js') };
}

export interface CreateWorkerOptions extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Overrides where the workflow code comes from (tests pass a bundle built once per file). */
  workflows?: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;
  /** Identity shown in Temporal's UI and recorded with every step attempt it runs; defaults to pid@host. */
  identity?: string;
  /** Encrypts every payload the worker sends and decrypts what it receives (see payload-codec.ts). */
  payloadKey?: Buffer;
}

let runtimeInstalled = false;

/**
 * Sends the SDK's own log (its Rust core's too: poll retries, lost connections) to `logFile`, never to the terminal:
 * while a restarted Temporal server comes back, the core warns several times a second, and the CLI's own lines are
 * what a cutover lead reads. Without a file (tests), warnings and errors go to stderr. The SDK's own shutdown on
 * SIGINT/SIGTERM is off: cutover stops its workers itself (see cli/signals.ts). Must run before the first connection
 * is made, so callers invoke it before `NativeConnection.connect`.
 */
export function installQuietRuntime(logFile?: string): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const write = logFile ? appendTo(logFile) : (line: string) => process.stderr.write(line);
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN', (entry) => writeWorkerLog(entry, write)),
      telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
      shutdownSignals: [],
    });
  } catch {
    // A runtime already exists (the host process made one); keep it.
  }
}

/** Appends lines to `file`, creating its folder; a write that fails is dropped (a log must never stop a run). */
function appendTo(file: string): (line: string) => void {
  let fd: number | undefined;
  return (line) => {
    try {
      if (fd === undefined) {
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        fd = openSync(file, 'a');
      }
      writeSync(fd, line);
    } catch {
      // disk full, folder removed: nothing better to do with a log line
    }
  };
}

/**
 * One line per SDK warning or error. A failed activity attempt is not one: that is a step failing, which cutover
 * reports itself in words a cutover lead reads.
 */
function writeWorkerLog(entry: LogEntry, write: (line: string) => void): void {
  if (entry.message === 'Activity failed') return;
  const error = entry.meta?.error as { message?: string } | undefined;
  const where = typeof entry.meta?.workflowId === 'string' ? ` (${entry.meta.workflowId})` : '';
  const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  write(`${at} cutover worker ${entry.level.toLowerCase()}: ${entry.message}${where}${error?.message ? `: ${error.message}` : ''}\n`);
}

/**
 * Failure messages and stack traces as payloads, so the codec encrypts them too: activities' failures (converted
 * here) and the workflow's own (converted in its sandbox, by the converter its bundle took in: see
 * {@link workflowSource}). The SDK loads the converter with `require`, so only the compiled file
 * (dist/worker/failure-converter.js) can serve; from the TypeScript sources (tests in-process) failure messages stay
 * plain text.
 */
function encryptedFailures(): { failureConverterPath?: string; payloadConverterPath?: string } {
  const compiled = path.resolve(here, 'failure-converter.js');
  // And the payload converter that tells the workflow which of its inputs arrived unencrypted (payload-converter.ts).
  const payloads = path.resolve(here, 'payload-converter.js');
  return existsSync(compiled) && existsSync(payloads) ? { failureConverterPath: compiled, payloadConverterPath: payloads } : {};
}

/** The name a worker goes by when it is given none: the SDK's own default, pid@host. */
export function defaultWorkerName(): string {
  return `${process.pid}@${hostname()}`;
}

/** What every worker of this process shares, whichever queue it polls. */
function sharedOptions(options: CreateWorkerOptions) {
  const identity = options.identity ?? defaultWorkerName();
  return {
    connection: options.connection,
    namespace: options.namespace,
    activities: createActivities({
      store: options.store,
      workerName: identity,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.workerStopping ? { workerStopping: options.workerStopping } : {}),
    }),
    // Quick steps get to finish when the worker stops; long ones are left running and their
    // outcome reported as unknown (see actions.ts), never killed half-way.
    shutdownGraceTime: '5s',
    identity,
    ...(options.payloadKey
      ? { dataConverter: { payloadCodecs: payloadCodecs(options.payloadKey, { markUnencrypted: true }), ...encryptedFailures() } }
      : {}),
  };
}

/** Builds a worker for cutover's task queue (runs and unpinned steps); `run()` it and `shutdown()` when done. */
export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  installQuietRuntime();
  return Worker.create({
    ...sharedOptions(options),
    taskQueue: options.taskQueue,
    ...(options.workflows ?? workflowSource(options.payloadKey !== undefined && encryptedFailures().failureConverterPath !== undefined)),
  });
}

/**
 * Builds a worker for one pool: it runs only the steps pinned there with `runs_on` (their actions, checks and
 * back-outs), on this machine, and hosts no runs. `options.taskQueue` is the runs' queue; the pool's is next to it.
 */
export async function createPoolWorker(options: CreateWorkerOptions & { pool: string }): Promise<Worker> {
  installQuietRuntime();
  return Worker.create({ ...sharedOptions(options), taskQueue: poolTaskQueue(options.taskQueue, options.pool) });
}
