/**
 * The files and ports around the embedded dev server: `server.json` (who runs it, where), the start lock, free local
 * ports, the server's log. Kept apart from starting and supervising the server (temporal-server.ts).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';

/** The file in the data folder that marks the running server. */
export const SERVER_INFO_FILE = 'server.json';

/** Temporal search attribute types that `temporal server start-dev --search-attribute` accepts. */
export type SearchAttributeTypeName = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/** Thrown when another process holds the start lock of a data folder for longer than we are willing to wait. */
export class DevServerLockTimeoutError extends Error {
  override readonly name = 'DevServerLockTimeoutError';
  readonly lockFile: string;
  readonly holderPid: number | undefined;

  constructor(lockFile: string, holderPid: number | undefined) {
    super(
      `Timed out waiting for ${lockFile} (held by pid ${holderPid ?? 'unknown'}, which is starting a Temporal dev server): ` +
        'wait for it to finish, or delete the file if that process is gone.',
    );
    this.lockFile = lockFile;
    this.holderPid = holderPid;
  }
}

/** What `<dataDir>/server.json` holds while a dev server runs. */
export interface DevServerInfo {
  address: string;
  uiUrl?: string;
  pid: number;
  namespace: string;
  startedAt: string;
}

/**
 * Returns the gRPC address of the dev server another process started on `dataDir`, when its `server.json` exists,
 * its pid is alive and the address answers; otherwise `undefined`. This is how a second terminal (`cutover approve`)
 * joins the server that `cutover rehearse` started.
 */
export async function findRunningDevServer(dataDir: string, timeoutMs = 3_000): Promise<string | undefined> {
  const info = readServerInfo(path.resolve(dataDir));
  if (!info || !isPidAlive(info.pid)) return undefined;
  return (await answers(info.address, info.namespace, timeoutMs)) ? info.address : undefined;
}

/** Reads `<dataDir>/server.json`; `undefined` when absent or unreadable. */
export function readServerInfo(dataDir: string): DevServerInfo | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(dataDir, SERVER_INFO_FILE), 'utf8')) as Partial<DevServerInfo>;
    if (typeof parsed.address !== 'string' || typeof parsed.pid !== 'number') return undefined;
    return {
      address: parsed.address,
      ...(typeof parsed.uiUrl === 'string' ? { uiUrl: parsed.uiUrl } : {}),
      pid: parsed.pid,
      namespace: typeof parsed.namespace === 'string' ? parsed.namespace : 'default',
      startedAt: typeof parsed.startedAt === 'string' ? parsed.startedAt : '',
    };
  } catch {
    return undefined;
  }
}

/** Whether the server answers `getSystemInfo` and knows the namespace (and, if given, its search attributes). */
export async function answers(
  address: string,
  namespace: string,
  timeoutMs: number,
  searchAttributes?: Readonly<Record<string, SearchAttributeTypeName>>,
): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    // connect() itself calls getSystemInfo, bounded by connectTimeout. No retries: the caller asks again, and a retry
    // the SDK scheduled would fire after the close below and throw from its timer.
    connection = await Connection.connect({ address, connectTimeout: timeoutMs, interceptors: [] });
    const conn = connection;
    const deadline = Date.now() + timeoutMs;
    await conn.withDeadline(deadline, () => conn.workflowService.describeNamespace({ namespace }));
    const wanted = Object.keys(searchAttributes ?? {});
    if (wanted.length > 0) {
      // Workflows start with these attributes; a start that races their registration would be refused.
      const { customAttributes } = await conn.withDeadline(deadline, () => conn.operatorService.listSearchAttributes({ namespace }));
      if (!wanted.every((key) => customAttributes?.[key] !== undefined)) return false;
    }
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

export function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

export async function freePorts(count: number): Promise<number[]> {
  // Hold every listener open until all are picked, so the ports differ from one another.
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      ports.push((server.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `lockFile` exclusively (`O_EXCL`), waiting while a live process holds it and breaking it when its holder is
 * gone. Returns the release function.
 */
export async function acquireLock(lockFile: string, deadline: number): Promise<() => void> {
  for (;;) {
    try {
      const fd = fs.openSync(lockFile, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => {
        // Only remove the lock if it is still ours (it may have been broken as stale and retaken).
        if (readLockPid(lockFile) === process.pid) fs.rmSync(lockFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readLockPid(lockFile);
    const stale =
      holder !== undefined
        ? !isPidAlive(holder)
        : // Empty: the holder died between creating and writing it, or is writing it right now.
          lockAgeMs(lockFile) > 5_000;
    if (stale) {
      fs.rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new DevServerLockTimeoutError(lockFile, holder);
    await sleep(200);
  }
}

export function readLockPid(lockFile: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function lockAgeMs(lockFile: string): number {
  try {
    return Date.now() - fs.statSync(lockFile).mtimeMs;
  } catch {
    return 0;
  }
}

export function removeServerInfo(dataDir: string, pid: number | undefined): void {
  // Never remove the record of a server that another process started after ours.
  if (readServerInfo(dataDir)?.pid === pid) fs.rmSync(path.join(dataDir, SERVER_INFO_FILE), { force: true });
}

export function writeFileAtomic(file: string, text: string): void {
  // A reader in another terminal must never see half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

export function readLogTail(logFile: string, lines = 20): string {
  try {
    return fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
