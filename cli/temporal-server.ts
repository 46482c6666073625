/**
 * The embedded Temporal dev server: starting `temporal server start-dev` (the binary: temporal-cli.ts) on free local
 * ports with its state in a file under a data folder, and attaching a second terminal to a server that another
 * `cutover` process started (dev-server-files.ts).
 *
 * The server never outlives the process that started it: it runs under a small supervisor process that stops and
 * reaps it when that process dies, even of SIGKILL. And a server that dies on its own can be started again on the
 * same ports and database file ({@link DevServerOptions.restart}), so that everyone connected to it reconnects.
 *
 * Nothing else in the project may assume this server exists: with `TEMPORAL_ADDRESS` set the CLI never calls
 * {@link startDevServer}.
 */
import { withoutOwnSecrets } from '../common/own-secrets.js';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  acquireLock,
  answers,
  freePorts,
  isPidAlive,
  portAccepts,
  readLogTail,
  readServerInfo,
  removeServerInfo,
  SERVER_INFO_FILE,
  writeFileAtomic,
  type DevServerInfo,
  type SearchAttributeTypeName,
} from './dev-server-files.js';

/** Thrown when the dev server could not be started: its process exited early, or it did not answer in time. */
export class DevServerStartError extends Error {
  override readonly name = 'DevServerStartError';
  /** The server's log file, which holds its full output. */
  readonly logFile: string;
  /** The process exit code, or `undefined` when it was still running (timed out) or was killed by a signal. */
  readonly exitCode: number | undefined;
  /** The last lines the server printed. */
  readonly logTail: string;
  /** What went wrong, without the log lines. */
  readonly reason: string;

  constructor(message: string, logFile: string, exitCode: number | undefined, logTail: string) {
    super(logTail ? `${message}; last lines of ${logFile}:\n${logTail}` : `${message} (${logFile} is empty)`);
    this.reason = message;
    this.logFile = logFile;
    this.exitCode = exitCode;
    this.logTail = logTail;
  }
}

/** Thrown when a dev server started by another process is already running on the same data folder. */
export class DevServerAlreadyRunningError extends Error {
  override readonly name = 'DevServerAlreadyRunningError';
  /** The running server's gRPC address: attach to it instead of starting another. */
  readonly address: string;
  readonly pid: number;
  readonly dataDir: string;

  constructor(dataDir: string, address: string, pid: number) {
    super(`A Temporal dev server (pid ${pid}) is already running at ${address} for ${dataDir}: use it, or stop it first.`);
    this.address = address;
    this.pid = pid;
    this.dataDir = dataDir;
  }
}

/** Options of {@link startDevServer}. */
export interface DevServerOptions {
  /** Path of the `temporal` binary, usually from {@link findTemporalCli}. */
  cliPath: string;
  /** Folder for the server's state (`temporal.db`), log, `server.json` and start lock. Created if missing. */
  dataDir: string;
  /** Namespace created at start (the server always creates `default` too). */
  namespace?: string;
  /** Serve the Web UI on a free port (`true`) or run headless (`false`). */
  ui?: boolean;
  /** Search attributes registered on the namespace at start. */
  searchAttributes?: Readonly<Record<string, SearchAttributeTypeName>>;
  /** Extra `--dynamic-config-value KEY=JSON` settings. */
  dynamicConfig?: Readonly<Record<string, unknown>>;
  /** Where the server's output goes; defaults to `<dataDir>/temporal-server.log`. Truncated at each start. */
  logFile?: string;
  /** How long to wait for the server to answer. */
  startTimeoutMs?: number;
  /**
   * Start the server again, on the same ports and database file, when it exits without {@link DevServer.stop}:
   * clients and workers connected to it then reconnect by themselves. Without it, a dead server stays dead.
   */
  restart?: RestartPolicy;
}

/** What {@link DevServerOptions.restart} does, and whom it tells. */
export interface RestartPolicy {
  /** Failed starts in a row before giving up (and the most exits tolerated within a minute); default 3. */
  attempts?: number;
  /** The server died and is answering again. */
  onRestarted(event: { exit: ServerExit; pid: number; attempt: number }): void;
  /** The server died and could not be started again; `error` says why. */
  onGaveUp(error: Error, exit: ServerExit): void;
}

/** A running dev server started by this process. */
export interface DevServer {
  /** gRPC address, `127.0.0.1:PORT`. */
  readonly address: string;
  readonly namespace: string;
  /** Web UI address, absent when headless. */
  readonly uiUrl?: string;
  /** The `temporal` process id; it changes when the server is restarted. */
  readonly pid: number;
  readonly logFile: string;
  /** The server's SQLite database file. */
  readonly dbFile: string;
  /**
   * SIGTERM, wait for exit (SIGKILL after `graceMs`, 10 s by default), remove `server.json`. Safe to call more than
   * once; a later call with a shorter grace hurries a stop already under way.
   */
  stop(graceMs?: number): Promise<void>;
}

const DEFAULT_SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeTypeName>> = {
  CutoverRunbook: 'Keyword',
  CutoverMode: 'Keyword',
};
// A busy 2-core box with a cold page cache can take tens of seconds to start the Go binary and migrate SQLite.
const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
// Free ports are picked by us and bound later by the server, so another process can take one in between.
const PORT_RACE_ATTEMPTS = 3;
const DB_FILE = 'temporal.db';
const RESTART_ATTEMPTS = 3;
const CRASH_LOOP_WINDOW_MS = 60_000;
const LOCK_FILE = 'server.lock';

/**
 * Starts `temporal server start-dev` on free 127.0.0.1 ports with its state persisted in `<dataDir>/temporal.db`
 * (so a restarted server still knows earlier runs), and resolves once the server answers and the namespace (with its
 * search attributes) is usable. The server is a child of a supervisor that is a child of this process: if this process
 * dies without calling {@link DevServer.stop}, the supervisor stops the server (SIGTERM, SIGKILL after 10 s).
 *
 * Only one server may use a data folder (SQLite would report "database is locked"): an exclusive lock file guards
 * the start, and `server.json` marks the running server.
 *
 * @throws {DevServerAlreadyRunningError} when a live server already owns `dataDir` (attach to `error.address`).
 * @throws {DevServerStartError} when the process exits early or does not answer within the deadline.
 * @throws {DevServerLockTimeoutError} when another process holds the start lock past the deadline.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const dataDir = path.resolve(options.dataDir);
  // The server's database holds every run's history: its user's only.
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  // Waiting for the lock may include another process's whole start, hence twice the start deadline.
  const releaseLock = await acquireLock(path.join(dataDir, LOCK_FILE), Date.now() + 2 * timeoutMs + 10_000);
  try {
    const existing = readServerInfo(dataDir);
    if (existing) {
      if (isPidAlive(existing.pid) && (await answers(existing.address, existing.namespace, 3_000))) {
        throw new DevServerAlreadyRunningError(dataDir, existing.address, existing.pid);
      }
      // Left behind by a process that died without stopping its server, or a reused pid: not ours to keep.
      fs.rmSync(path.join(dataDir, SERVER_INFO_FILE), { force: true });
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await spawnAndWait(options, dataDir, timeoutMs);
      } catch (error) {
        const portTaken = error instanceof DevServerStartError && /address already in use/i.test(error.logTail);
        if (!portTaken || attempt >= PORT_RACE_ATTEMPTS) throw error;
      }
    }
  } finally {
    releaseLock();
  }
}

/** How the server process ended: its exit code, or the signal that killed it. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One server process, run through its supervisor (see {@link SUPERVISOR_SOURCE}). */
interface Launch {
  /** The `temporal` process id. */
  readonly pid: number;
  readonly exited: Promise<ServerExit>;
  hasExited(): boolean;
  /** SIGTERM now, SIGKILL after `graceMs` (a second call may shorten the grace). */
  stop(graceMs: number): void;
}

/**
 * The supervisor: a small Node process between cutover and `temporal`, run with `node -e` (so it works from the
 * sources and from dist/ alike). It exists because a dead parent runs no clean-up code: SIGKILL, or a signal nobody
 * handles. The supervisor notices its parent is gone (the IPC channel closes, and its parent pid changes), stops the
 * server (SIGTERM, then SIGKILL), reaps it (nothing else here reaps orphans), removes `server.json` and exits. While
 * the parent lives, it reports the server's pid and exit over IPC and stops it on request.
 */
const SUPERVISOR_SOURCE = `'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const parent = process.ppid;
let child, infoFile, orphaned = false, killAt = Infinity, killTimer;
const tell = (message, then) => {
  if (!process.connected) return then && then();
  try { process.send(message, () => then && then()); } catch { then && then(); }
};
const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
const stopChild = (graceMs) => {
  if (child === undefined) process.exit(0);
  if (!running()) return;
  child.kill('SIGTERM');
  if (Date.now() + graceMs >= killAt) return;
  killAt = Date.now() + graceMs;
  clearTimeout(killTimer);
  killTimer = setTimeout(() => { if (running()) child.kill('SIGKILL'); }, graceMs);
};
const orphan = () => {
  if (orphaned) return;
  orphaned = true;
  stopChild(${STOP_GRACE_MS});
};
const finish = (message) => {
  if (orphaned && infoFile) {
    try { if (JSON.parse(fs.readFileSync(infoFile, 'utf8')).pid === child.pid) fs.rmSync(infoFile, { force: true }); } catch {}
  }
  tell(message, () => process.exit(0));
};
process.on('message', (m) => {
  if (m.type === 'spawn') {
    infoFile = m.infoFile;
    child = spawn(m.command, m.args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (child.pid !== undefined) tell({ type: 'started', pid: child.pid });
    child.once('error', (error) => {
      try { fs.writeSync(2, error.message + '\\n'); } catch {}
      finish({ type: 'error', message: error.message });
    });
    child.once('exit', (code, signal) => finish({ type: 'exit', code, signal }));
  } else if (m.type === 'stop') {
    stopChild(m.graceMs);
  }
});
process.on('disconnect', orphan);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, orphan);
setInterval(() => { if (process.ppid !== parent) orphan(); }, 500).unref();
`;

type SupervisorMessage =
  | { type: 'started'; pid: number }
  | { type: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'error'; message: string };

/** Starts `temporal` under a supervisor; resolves once its pid is known, or it failed to start. */
async function launch(
  cliPath: string,
  args: readonly string[],
  logFile: string,
  infoFile: string,
  truncateLog: boolean,
): Promise<Launch & { spawnFailed: () => boolean }> {
  // The server writes straight into the file, so a chatty server never fills a pipe nobody reads.
  const logFd = fs.openSync(logFile, truncateLog ? 'w' : 'a');
  let supervisor: ChildProcess;
  try {
    // Neither the server nor its supervisor needs cutover's own secrets, and a process that held them would show
    // them to every process of the same user in /proc/PID/environ.
    const env = withoutOwnSecrets(process.env);
    // A test runner's or a debugger's Node options have no business in the supervisor.
    delete env['NODE_OPTIONS'];
    // Its own session and process group: Ctrl-C in the terminal reaches only cutover, which can then stop its worker
    // while the server still answers, and stop the server last; a closed terminal's SIGHUP does not reach it either.
    // (Had the server died with the same Ctrl-C, the worker's shutdown would hang retrying its polls.)
    supervisor = spawn(process.execPath, ['-e', SUPERVISOR_SOURCE], {
      stdio: ['ignore', logFd, logFd, 'ipc'],
      detached: true,
      windowsHide: true,
      env,
    });
  } finally {
    fs.closeSync(logFd);
  }
  let pid: number | undefined;
  let exit: ServerExit | undefined;
  let spawnFailed = false;
  let resolveStarted!: () => void;
  const started = new Promise<void>((resolve) => (resolveStarted = resolve));
  const exited = new Promise<ServerExit>((resolve) => {
    const done = (how: ServerExit): void => {
      exit ??= how;
      resolve(exit);
      resolveStarted();
    };
    supervisor.on('message', (message: SupervisorMessage) => {
      if (message.type === 'started') {
        pid = message.pid;
        resolveStarted();
      } else if (message.type === 'exit') {
        done({ code: message.code, signal: message.signal });
      } else {
        spawnFailed = true;
        done({ code: null, signal: null });
      }
    });
    // Should the supervisor itself die (someone killed it), the server's fate is unknown: treat it as gone.
    supervisor.once('exit', () => done({ code: null, signal: null }));
    supervisor.once('error', (error) => {
      fs.appendFileSync(logFile, `${error.message}\n`);
      spawnFailed = true;
      done({ code: null, signal: null });
    });
  });
  supervisor.send({ type: 'spawn', command: cliPath, args, infoFile });
  await started;
  const stop = (graceMs: number): void => {
    if (exit === undefined && supervisor.connected) supervisor.send({ type: 'stop', graceMs });
  };
  return {
    get pid() {
      return pid ?? -1;
    },
    exited,
    hasExited: () => exit !== undefined,
    spawnFailed: () => spawnFailed,
    stop,
  };
}

/** The `temporal server start-dev` arguments for this data folder and these ports. */
function serverArgs(options: DevServerOptions, dataDir: string, namespace: string, port: number, uiPort: number | undefined): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port)];
  // The UI's news feed would reach for the internet, which this product must not need.
  args.push(...(uiPort !== undefined ? ['--ui-port', String(uiPort), '--ui-disable-news-fetch'] : ['--headless']));
  args.push('--db-filename', path.join(dataDir, DB_FILE), '--namespace', namespace);
  for (const [key, type] of Object.entries(options.searchAttributes ?? DEFAULT_SEARCH_ATTRIBUTES)) {
    args.push('--search-attribute', `${key}=${type}`);
  }
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {})) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  args.push('--log-level', 'warn');
  return args;
}

/**
 * Starts one server process on `port` (and `uiPort`) and waits until it answers; kills it and throws
 * {@link DevServerStartError} when it exits early or does not answer in time.
 */
async function startProcess(
  options: DevServerOptions,
  dataDir: string,
  timeoutMs: number,
  port: number,
  uiPort: number | undefined,
  truncateLog: boolean,
): Promise<Launch> {
  const namespace = options.namespace ?? 'default';
  const logFile = logFileOf(options, dataDir);
  const address = `127.0.0.1:${port}`;
  const args = serverArgs(options, dataDir, namespace, port, uiPort);
  const server = await launch(options.cliPath, args, logFile, path.join(dataDir, SERVER_INFO_FILE), truncateLog);

  const fail = async (message: string, exitCode: number | undefined): Promise<never> => {
    if (!server.hasExited()) {
      server.stop(0);
      await server.exited;
    }
    throw new DevServerStartError(message, logFile, exitCode, readLogTail(logFile));
  };

  const deadline = Date.now() + timeoutMs;
  const ready = (async (): Promise<boolean> => {
    while (!server.hasExited() && Date.now() < deadline) {
      // A plain TCP probe fails fast while nothing listens; a gRPC channel would sit in its reconnect backoff.
      if (!(await portAccepts(port))) {
        await sleep(100);
        continue;
      }
      const callTimeoutMs = Math.min(5_000, Math.max(500, deadline - Date.now()));
      if (await answers(address, namespace, callTimeoutMs, options.searchAttributes ?? DEFAULT_SEARCH_ATTRIBUTES)) {
        return true;
      }
      await sleep(250);
    }
    return false;
  })();
  const outcome = await Promise.race([ready, server.exited.then(() => 'exited' as const)]);
  if (outcome === 'exited' || server.hasExited()) {
    const { code, signal } = await server.exited;
    const how = server.spawnFailed() ? 'could not be started' : `exited during start with ${signal ? `signal ${signal}` : `code ${code}`}`;
    await fail(`The Temporal dev server (${options.cliPath}) ${how}`, code ?? undefined);
  }
  if (outcome !== true) {
    await fail(`The Temporal dev server did not answer at ${address} within ${Math.round(timeoutMs / 1000)} s`, undefined);
  }
  return server;
}

async function spawnAndWait(options: DevServerOptions, dataDir: string, timeoutMs: number): Promise<DevServer> {
  const namespace = options.namespace ?? 'default';
  const ui = options.ui ?? true;
  const logFile = logFileOf(options, dataDir);
  const [port, uiPort] = (await freePorts(2)) as [number, number];
  const address = `127.0.0.1:${port}`;
  const uiUrl = ui ? `http://127.0.0.1:${uiPort}` : undefined;
  const dbFile = path.join(dataDir, DB_FILE);
  let current = await startProcess(options, dataDir, timeoutMs, port, ui ? uiPort : undefined, true);
  const writeInfo = (): void => {
    const info: DevServerInfo = { address, ...(uiUrl ? { uiUrl } : {}), pid: current.pid, namespace, startedAt: new Date().toISOString() };
    writeFileAtomic(path.join(dataDir, SERVER_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
  };
  writeInfo();

  let stopRequested = false;
  let restarting: Promise<void> | undefined;
  const unexpectedExits: number[] = [];

  /** Starts the server again on the same ports and database, so that every client reconnects by itself. */
  const restartAfter = async (exit: ServerExit, policy: RestartPolicy): Promise<void> => {
    const attempts = policy.attempts ?? RESTART_ATTEMPTS;
    const now = Date.now();
    unexpectedExits.push(now);
    const recent = unexpectedExits.filter((at) => now - at < CRASH_LOOP_WINDOW_MS);
    let lastError: Error | undefined;
    if (recent.length > attempts) {
      // A server that keeps dying would only take the lead's screen with it, one restart line at a time.
      lastError = new Error(`it stopped ${recent.length} times within ${CRASH_LOOP_WINDOW_MS / 1000} s`);
    } else {
      for (let attempt = 1; attempt <= attempts; attempt++) {
        if (stopRequested) return;
        try {
          // Another cutover process may be starting a server on this folder right now: one of us, not both.
          const release = await acquireLock(path.join(dataDir, LOCK_FILE), Date.now() + 2 * timeoutMs + 10_000);
          try {
            const existing = readServerInfo(dataDir);
            if (existing && existing.pid !== current.pid && isPidAlive(existing.pid)) {
              lastError = new Error(`another process started a Temporal server (pid ${existing.pid}) for ${dataDir} meanwhile`);
              break;
            }
            if (stopRequested) return;
            current = await startProcess(options, dataDir, timeoutMs, port, ui ? uiPort : undefined, false);
            writeInfo();
            watch(current);
          } finally {
            release();
          }
        } catch (error) {
          lastError = error as Error;
          if (attempt < attempts) await sleep(1_000 * attempt);
          continue;
        }
        // Stopped meanwhile: the restarted server is stopped at once, and there is nothing to announce.
        if (stopRequested) return;
        policy.onRestarted({ exit, pid: current.pid, attempt });
        return;
      }
    }
    removeServerInfo(dataDir, current.pid);
    policy.onGaveUp(lastError ?? new Error('unknown'), exit);
  };

  const watch = (server: Launch): void => {
    void server.exited.then((exit) => {
      if (stopRequested || server !== current) return;
      if (options.restart) restarting = restartAfter(exit, options.restart);
      else removeServerInfo(dataDir, server.pid);
    });
  };
  watch(current);

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = STOP_GRACE_MS): Promise<void> => {
    stopRequested = true;
    // A second, hastier call shortens the grace of a stop already under way.
    if (!current.hasExited()) current.stop(graceMs);
    return (stopping ??= (async () => {
      await restarting?.catch(() => undefined);
      const server = current;
      if (!server.hasExited()) {
        server.stop(graceMs);
        await server.exited;
      }
      removeServerInfo(dataDir, server.pid);
    })());
  };

  return {
    address,
    namespace,
    ...(uiUrl ? { uiUrl } : {}),
    get pid() {
      return current.pid;
    },
    logFile,
    dbFile,
    stop,
  };
}

function logFileOf(options: DevServerOptions, dataDir: string): string {
  return path.resolve(options.logFile ?? path.join(dataDir, 'temporal-server.log'));
}
