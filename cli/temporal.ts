/**
 * The Temporal a command talks to: the cluster in TEMPORAL_ADDRESS, or the embedded default,
 * a local dev server (started on demand, or the one another cutover process already runs).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { RunRecorder } from '../activities/recording.js';
import { createWorker, installQuietRuntime } from '../worker/create-worker.js';
import { EnvironmentError, InterruptedError } from './errors.js';
import { projectRoot } from './project-root.js';
import { loadTls, type Settings } from './settings.js';
import { DevServerAlreadyRunningError, findRunningDevServer, findTemporalCli, readServerInfo, startDevServer } from './temporal-server.js';

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
  /** Runs a worker in this process until the session closes. */
  startWorker(recorder: RunRecorder): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Start the embedded server when none is running (commands that start or host runs). */
  startEmbedded: boolean;
  /** Said when there is no server and this command would not start one. */
  purpose?: string;
}

/** Connects as the settings say; throws {@link EnvironmentError} with what to do. */
export async function connectTemporal(settings: Settings, options: ConnectOptions): Promise<TemporalSession> {
  const stops: Array<() => Promise<void>> = [];
  let address = settings.temporalAddress;
  let uiUrl: string | undefined;
  const embedded = address === undefined;
  if (address === undefined) {
    const running = await findRunningDevServer(settings.home);
    if (running) {
      address = running;
      uiUrl = readServerInfo(settings.home)?.uiUrl;
    } else if (options.startEmbedded) {
      // Ctrl-C while the server starts must not leave it running with nobody to stop it.
      let interrupted = false;
      const onSignal = () => {
        interrupted = true;
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const server = await startDevServer({ cliPath: findTemporalCli(projectRoot()), dataDir: settings.home, namespace: settings.namespace }).finally(() => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        });
        if (interrupted) {
          await server.stop();
          throw new InterruptedError('interrupted while the embedded Temporal server started; it was stopped again');
        }
        address = server.address;
        uiUrl = server.uiUrl;
        stops.push(async () => {
          await waitForOtherUsers(settings.home);
          await server.stop();
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
    address: address as string,
    ...(tls !== undefined ? { tls } : {}),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
  };
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions, connectTimeout: '10s' });
    await connection.workflowService.getSystemInfo({});
  } catch (err) {
    await Promise.all(stops.map((stop) => stop()));
    throw new EnvironmentError(
      `cannot reach Temporal at ${address} (${(err as Error).message.split('\n')[0]}); ` +
        (embedded ? 'the embedded server did not answer: see its log in ' + settings.home : 'check TEMPORAL_ADDRESS, TLS settings and that the cluster is up'),
    );
  }
  try {
    await connection.workflowService.describeNamespace({ namespace: settings.namespace });
  } catch (err) {
    await connection.close();
    await Promise.all(stops.map((stop) => stop()));
    const notFound = (err as { code?: number }).code === 5;
    throw new EnvironmentError(
      notFound
        ? `namespace ${settings.namespace} does not exist on Temporal at ${address}; create it (temporal operator namespace create --namespace ${settings.namespace}) or set TEMPORAL_NAMESPACE`
        : `Temporal at ${address} did not describe namespace ${settings.namespace} (${(err as Error).message.split('\n')[0]})`,
    );
  }
  const client = new Client({ connection, namespace: settings.namespace });
  stops.unshift(() => connection.close());

  let worker: Worker | undefined;
  let stopping = false;
  let workerRun: Promise<void> | undefined;
  let native: NativeConnection | undefined;
  const finalAddress: string = connectionOptions.address;
  return {
    client,
    address: finalAddress,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    embedded,
    ...(uiUrl ? { uiUrl } : {}),
    async startWorker(recorder) {
      installQuietRuntime();
      native = await NativeConnection.connect(connectionOptions);
      worker = await createWorker({
        connection: native,
        namespace: settings.namespace,
        taskQueue: settings.taskQueue,
        recorder,
        workerStopping: () => stopping,
      });
      workerRun = worker.run();
      // A worker that dies (lost connection, bad bundle) must not fail silently.
      workerRun.catch((err: unknown) => {
        process.stderr.write(`cutover: the worker stopped: ${(err as Error).message}\n`);
      });
    },
    async close() {
      stopping = true;
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun?.catch(() => undefined);
      await native?.close();
      for (const stop of stops) await stop();
    },
  };
}

const usersDir = (home: string): string => path.join(home, 'users');

/** Marks this process as using the embedded server; returns how to unmark it. */
function registerUser(home: string): () => void {
  const file = path.join(usersDir(home), String(process.pid));
  mkdirSync(usersDir(home), { recursive: true });
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
  const onSignal = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    while (others.length > 0 && !interrupted) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      others = otherUsers(home);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
