/**
 * The Temporal a command talks to: the cluster in TEMPORAL_ADDRESS, or the embedded default,
 * a local dev server (started on demand, or the one another cutover process already runs).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  isGrpcServiceError,
  makeGrpcRetryInterceptor,
  ServiceError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { ActivityStore } from '../prisma/records.js';
import { payloadCodecs } from '../common/payload-codec.js';
import { CLIENT_CHANNEL_ARGS } from '../common/temporal-channel.js';
import { EnvironmentError, InterruptedError } from './errors.js';
import { projectRoot } from './project-root.js';
import { loadTls, type Settings } from './settings.js';
import { beforeForcedExit, onStopRequest } from './signals.js';
import { findTemporalCli } from './temporal-cli.js';
import { findRunningDevServer, readServerInfo } from './dev-server-files.js';
import {
  DevServerAlreadyRunningError,
  DevServerStartError,
  startDevServer,
  type DevServer,
  type RestartPolicy,
  type ServerExit,
} from './temporal-server.js';

/** Where the Temporal SDK's own log goes (worker and connection warnings), under CUTOVER_HOME. */
export const SDK_LOG_FILE = 'temporal-sdk.log';

/** How long a server stopped by a repeated Ctrl-C gets before it is killed. */
const FORCED_STOP_GRACE_MS = 2_000;

/** A connection to Temporal for one command, and whatever it started that must be stopped. */
export interface TemporalSession {
  client: Client;
  address: string;
  namespace: string;
  taskQueue: string;
  /** True when this is the embedded dev server (this process's or another's). */
  embedded: boolean;
  /** The Temporal web UI, when the embedded server has one. */
  uiUrl?: string;
  /**
   * Rejects with an {@link EnvironmentError} when the embedded server this process started died and could not be
   * started again; never settles otherwise. (A server that could be restarted is announced on stderr, in one line.)
   */
  serverLost: Promise<never>;
  /**
   * Runs workers in this process until the session closes: one for the runs' task queue (unless `serveRuns` is
   * false), and one for each of `pools` (the steps pinned there with `runs_on`).
   */
  startWorker(store: ActivityStore, options?: { pools?: readonly string[]; serveRuns?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Start the embedded server when none is running (commands that start or host runs). */
  startEmbedded: boolean;
  /** Said when there is no server and this command would not start one. */
  purpose?: string;
  /** What carries on after the embedded server was restarted, for the one line that says so (default "runs in flight continue"). */
  afterRestart?: string;
  /**
   * Answer at once when Temporal refuses a call because too many requests are in flight (RESOURCE_EXHAUSTED), instead
   * of retrying it for half a minute: a person at a terminal is better served by the refusal.
   */
  failFastWhenBusy?: boolean;
}

/** Connects as the settings say; throws {@link EnvironmentError} with what to do. */
export async function connectTemporal(settings: Settings, options: ConnectOptions): Promise<TemporalSession> {
  const stops: Array<() => Promise<void>> = [];
  let address = settings.temporalAddress;
  let uiUrl: string | undefined;
  let loseServer!: (error: EnvironmentError) => void;
  const serverLost = new Promise<never>((_, reject) => (loseServer = reject));
  // Nobody may be listening (a command that does not follow a run); the rejection is still not an unhandled one.
  serverLost.catch(() => undefined);
  const embedded = address === undefined;
  if (address === undefined) {
    const running = await findRunningDevServer(settings.home);
    if (running) {
      address = running;
      uiUrl = readServerInfo(settings.home)?.uiUrl;
    } else if (options.startEmbedded) {
      // Ctrl-C while the server starts must not leave it running with nobody to stop it.
      let interrupted = false;
      const stopListening = onStopRequest(() => {
        interrupted = true;
      });
      try {
        // Set once the server exists; the restart policy needs it to name the database file.
        // eslint-disable-next-line prefer-const -- the restart policy's closure may read it before startDevServer resolves
        let started: DevServer | undefined;
        const server = await startDevServer({
          cliPath: findTemporalCli(projectRoot()),
          dataDir: settings.home,
          namespace: settings.namespace,
          restart: restartPolicy(settings, () => started, options.afterRestart ?? 'runs in flight continue', loseServer),
        }).finally(stopListening);
        started = server;
        // A second Ctrl-C (or SIGTERM, SIGHUP) leaves at once, but never without the server.
        const unregister = beforeForcedExit(() => server.stop(FORCED_STOP_GRACE_MS));
        if (interrupted) {
          await server.stop();
          unregister();
          throw new InterruptedError('interrupted while the embedded Temporal server started; it was stopped again');
        }
        address = server.address;
        uiUrl = server.uiUrl;
        stops.push(async () => {
          await waitForOtherUsers(settings.home);
          await server.stop();
          unregister();
        });
      } catch (err) {
        if (err instanceof InterruptedError) throw err;
        if (err instanceof DevServerAlreadyRunningError) {
          // Another cutover process started it a moment ago: share it.
          address = err.address;
          uiUrl = readServerInfo(settings.home)?.uiUrl;
        } else {
          // A missing binary, a server that would not start, a busy lock: all say what to do.
          throw new EnvironmentError((err as Error).message);
        }
      }
    } else {
      throw new EnvironmentError(
        `no cutover run is live here: the embedded Temporal server is not running in ${settings.home}` +
          ` (it runs while \`cutover rehearse\`, \`cutover run\` or \`cutover worker\` does)` +
          `${options.purpose ? `, so cannot ${options.purpose}` : ''}; or set TEMPORAL_ADDRESS to your cluster`,
      );
    }
  }
  // Long-lived commands on the embedded server say so, so that the one that started the server
  // does not stop it under them when its own run ends.
  if (embedded && options.startEmbedded) {
    const leave = registerUser(settings.home);
    stops.unshift(async () => leave());
  }
  const tls = embedded ? undefined : loadTls(settings.tls);
  const connectionOptions = {
    address: address,
    ...(tls !== undefined ? { tls } : {}),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
  };
  const retries = guardedRetries(options.failFastWhenBusy === true);
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...connectionOptions,
      channelArgs: CLIENT_CHANNEL_ARGS,
      connectTimeout: '10s',
      interceptors: [makeGrpcRetryInterceptor(retries.options)],
    });
    await connection.workflowService.getSystemInfo({});
  } catch (err) {
    await Promise.all(stops.map((stop) => stop()));
    throw new EnvironmentError(
      `cannot reach Temporal at ${address} (${(err as Error).message.split('\n')[0]}); ` +
        (embedded
          ? 'the embedded server did not answer: see its log in ' + settings.home
          : 'check TEMPORAL_ADDRESS, TLS settings and that the cluster is up'),
    );
  }
  try {
    await connection.workflowService.describeNamespace({ namespace: settings.namespace });
  } catch (err) {
    await connection.close();
    await Promise.all(stops.map((stop) => stop()));
    throw new EnvironmentError(namespaceProblem(err, settings.namespace, address));
  }
  // The same codec on the client and the worker: what one encrypts, the other reads.
  const client = new Client({
    connection,
    namespace: settings.namespace,
    dataConverter: { payloadCodecs: payloadCodecs(settings.payloadKey) },
  });
  stops.unshift(async () => {
    await retries.settle();
    await connection.close();
  });

  const workers: Worker[] = [];
  let stopping = false;
  const workerRuns: Promise<void>[] = [];
  let native: NativeConnection | undefined;
  const finalAddress: string = connectionOptions.address;
  return {
    client,
    address: finalAddress,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    embedded,
    ...(uiUrl ? { uiUrl } : {}),
    serverLost,
    async startWorker(store, { pools = [], serveRuns = true } = {}) {
      // Loaded here, not with this module: the worker's native bridge and bundler cost every command that only
      // talks to a run (approve, status) a good part of its start-up.
      const { NativeConnection } = await import('@temporalio/worker');
      const { createPoolWorker, createWorker, installQuietRuntime } = await import('../worker/create-worker.js');
      installQuietRuntime(path.join(settings.home, SDK_LOG_FILE));
      native ??= await NativeConnection.connect(connectionOptions);
      const options = {
        connection: native,
        namespace: settings.namespace,
        taskQueue: settings.taskQueue,
        store,
        workerStopping: () => stopping,
        ...(settings.workerName ? { identity: settings.workerName } : {}),
        ...(settings.payloadKey ? { payloadKey: settings.payloadKey } : {}),
      };
      const started = [
        ...(serveRuns ? [await createWorker(options)] : []),
        ...(await Promise.all(pools.map((pool) => createPoolWorker({ ...options, pool })))),
      ];
      for (const worker of started) {
        workers.push(worker);
        const running = worker.run();
        workerRuns.push(running);
        // A worker that dies (lost connection, bad bundle) must not fail silently.
        running.catch((err: unknown) => {
          process.stderr.write(`cutover: the worker for ${worker.options.taskQueue} stopped: ${(err as Error).message}\n`);
        });
      }
    },
    async close() {
      stopping = true;
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await Promise.all(workerRuns.map((running) => running.catch(() => undefined)));
      await native?.close();
      for (const stop of stops) await stop();
    },
  };
}

/**
 * Why Temporal would not describe the namespace, as one sentence naming the setting to fix (also `cutover doctor`'s
 * words): it does not exist, or the credentials may not see it.
 */
export function namespaceProblem(err: unknown, namespace: string, address: string): string {
  const code = grpcCode(err) ?? (err as { code?: number }).code;
  const said = (err as Error).message.split('\n')[0];
  if (code === NOT_FOUND) {
    return `namespace ${namespace} does not exist on Temporal at ${address}; create it (temporal operator namespace create --namespace ${namespace}) or set TEMPORAL_NAMESPACE`;
  }
  if (code === PERMISSION_DENIED || code === UNAUTHENTICATED) {
    return `Temporal at ${address} refused access to namespace ${namespace} (${said}); check TEMPORAL_API_KEY or the client certificate in TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY, and TEMPORAL_NAMESPACE`;
  }
  return `Temporal at ${address} did not describe namespace ${namespace} (${said}); check TEMPORAL_NAMESPACE and that the cluster is up`;
}

const usersDir = (home: string): string => path.join(home, 'users');

/** Marks this process as using the embedded server; returns how to unmark it. */
function registerUser(home: string): () => void {
  const file = path.join(usersDir(home), String(process.pid));
  mkdirSync(usersDir(home), { recursive: true, mode: 0o700 });
  writeFileSync(file, new Date().toISOString());
  return () => rmSync(file, { force: true });
}

/** Other live cutover processes using the embedded server in `home`. */
function otherUsers(home: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync(usersDir(home));
  } catch {
    return [];
  }
  return entries
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid !== process.pid)
    .filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        rmSync(path.join(usersDir(home), String(pid)), { force: true }); // a process that died
        return false;
      }
    });
}

/**
 * Before the process that started the embedded server stops it, waits for the other cutover
 * processes still using it (another rehearsal, a worker). A second Ctrl-C stops it at once.
 */
async function waitForOtherUsers(home: string): Promise<void> {
  let others = otherUsers(home);
  if (others.length === 0) return;
  process.stderr.write(
    `cutover: keeping the embedded Temporal server up for ${others.length} other cutover process(es) using it (pid ${others.join(', ')}); Ctrl-C stops it now\n`,
  );
  let interrupted = false;
  const stopListening = onStopRequest(() => {
    interrupted = true;
  });
  try {
    while (others.length > 0 && !interrupted) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      others = otherUsers(home);
    }
  } finally {
    stopListening();
  }
}

/** How a server died, in words: "signal SIGKILL", "exit code 2". */
function describeExit(exit: ServerExit): string {
  return exit.signal ? `signal ${exit.signal}` : exit.code !== null ? `exit code ${exit.code}` : 'no exit status';
}

/** A path as the user would type it: relative to the current directory when it is inside it. */
function shortPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/**
 * The embedded server belongs to the command that started it, which restarts it on the same database file and ports
 * when it dies under a run (the client, the in-process worker and other terminals reconnect by themselves), and says
 * so in one line; if that fails repeatedly, {@link TemporalSession.serverLost} rejects with one sentence.
 */
function restartPolicy(
  settings: Settings,
  server: () => DevServer | undefined,
  afterRestart: string,
  lose: (error: EnvironmentError) => void,
): RestartPolicy {
  const dbFile = () => shortPath(server()?.dbFile ?? path.join(settings.home, 'temporal.db'));
  return {
    onRestarted({ exit }) {
      process.stderr.write(
        `cutover: the embedded Temporal server stopped unexpectedly (${describeExit(exit)}); restarted it on ${dbFile()}, ${afterRestart}\n`,
      );
    },
    onGaveUp(error, exit) {
      const log = server()?.logFile;
      const why =
        error instanceof DevServerStartError ? `${error.reason}: ${error.logTail.split('\n').at(-1) ?? ''}` : error.message.split('\n')[0];
      lose(
        new EnvironmentError(
          `the embedded Temporal server stopped unexpectedly (${describeExit(exit)}) and could not be restarted on ${dbFile()} ` +
            `(${why})${log ? `; its log is ${shortPath(log)}` : ''}; ` +
            'runs in flight are kept there and go on when `cutover worker` (or a rehearse) runs here again',
        ),
      );
    },
  };
}

/**
 * The SDK's gRPC retries, made safe to close under. The SDK schedules a retry on a plain timer that nothing cancels,
 * and a retry that fires after the connection was closed throws from that timer and takes the process down with a
 * stack trace: exactly what happens when a command ends while Temporal is away (a server restarting or lost).
 * So: `settle()` stops scheduling new retries and waits until the last scheduled one has fired (5 s at most),
 * and only then may the connection close. With `failFastWhenBusy`, RESOURCE_EXHAUSTED is not retried at all.
 */
function guardedRetries(failFastWhenBusy: boolean) {
  const defaults = defaultGrpcRetryOptions();
  let closing = false;
  let quietAt = 0;
  return {
    options: {
      retryableDecider: (attempt: number, status: Parameters<typeof defaults.retryableDecider>[1]) =>
        // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-comparison -- gRPC's numeric codes; grpc-js's Status enum is not a dependency
        !closing && !(failFastWhenBusy && status.code === RESOURCE_EXHAUSTED) && defaults.retryableDecider(attempt, status),
      delayFunction: (attempt: number, status: Parameters<typeof defaults.delayFunction>[1]) => {
        const delayMs = defaults.delayFunction(attempt, status);
        quietAt = Math.max(quietAt, Date.now() + delayMs + 100);
        return delayMs;
      },
    },
    async settle(): Promise<void> {
      closing = true;
      const waitMs = quietAt - Date.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    },
  };
}

const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;
const NOT_FOUND = 5;
const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;

/** The gRPC status code of a Temporal client error (looking through ServiceError causes), if there is one. */
export function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e)) return e.code;
  }
  return undefined;
}

/** Temporal's own words in a gRPC error (the SDK wraps them in its own, e.g. "Failed to start Workflow"), without the status prefix. */
export function grpcDetail(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const details = (e as { details?: unknown }).details;
    if (typeof details === 'string' && details) return details;
  }
  return (err as Error).message;
}

/** Whether Temporal was out of reach for a while (server down or restarting, network gone). */
export function isConnectionLost(err: unknown): boolean {
  const code = grpcCode(err);
  return code === UNAVAILABLE || code === DEADLINE_EXCEEDED || (code === undefined && err instanceof ServiceError);
}

/** Whether a call (an Update included) ran out of its deadline without an answer: it may still have been applied. */
export function isNoAnswer(err: unknown): boolean {
  return err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || grpcCode(err) === DEADLINE_EXCEEDED;
}

/**
 * Whether Temporal refused a call because its namespace has no mapping for a search attribute the call set (a fresh
 * cluster, or `temporal server start-dev` without `--search-attribute`). The SDK's own error says only "Failed to start
 * Workflow": the server's reason is in the gRPC status it carries as its `cause`.
 */
export function isMissingSearchAttribute(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-comparison -- gRPC's numeric codes; grpc-js's Status enum is not a dependency
    if (isGrpcServiceError(e) && e.code === INVALID_ARGUMENT && /search attribute/i.test(e.details || e.message)) return true;
  }
  return false;
}

/** Whether Temporal refused a call because too many requests (Updates) are in flight. */
export function isTooBusy(err: unknown): boolean {
  return grpcCode(err) === RESOURCE_EXHAUSTED;
}
