// A real PostgreSQL server for one benchmark, started by the benchmark itself: the same logic as
// test/support/postgres.ts (which bench/ cannot import: it is TypeScript). Debian's `initdb` and
// `postgres`, run as the `postgres` user when we are root (initdb refuses root), kept a direct
// child so it is reaped and stops with us (`pg_ctl` would daemonize, and nothing here reaps
// daemons). `fsync=off` because the data is thrown away; the SQLite store it is compared with does
// not sync per commit either (WAL mode, and better-sqlite3 builds with synchronous=NORMAL for WAL).
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BIN = process.env.CUTOVER_TEST_PG_BIN || '/usr/local/bin';

function account() {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0)
    throw new Error('running as root, but there is no postgres user to run PostgreSQL as');
  return { uid, gid };
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a fresh PostgreSQL (every user trusted) and resolves once it takes connections, with
 * `url(database)` (as the superuser `postgres`; the store creates the database on first use),
 * `log()`, `stop()` (idempotent) and `kill()` (synchronous, for an exit handler).
 */
export async function startPostgres() {
  const who = account();
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-bench-pg-'));
  const data = path.join(dir, 'data');
  if (who) chownSync(dir, who.uid, who.gid);
  const init = spawnSync(path.join(BIN, 'initdb'), ['-A', 'trust', '--no-sync', '-U', 'postgres', '-D', data], {
    encoding: 'utf8',
    ...(who ?? {}),
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || init.error}`);
  }
  const port = await freePort();
  const server = spawn(
    path.join(BIN, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    { ...(who ?? {}), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  server.stderr.setEncoding('utf8').on('data', (chunk) => (log += chunk));
  const exited = new Promise((resolve) => server.once('exit', () => resolve()));
  const running = () => server.exitCode === null && server.signalCode === null;
  const kill = () => {
    if (running()) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`PostgreSQL did not start within 30 s:\n${log}`)), 30_000);
      const check = () => {
        if (/ready to accept connections/.test(log)) {
          clearTimeout(timer);
          resolve();
        } else if (!running()) {
          clearTimeout(timer);
          reject(new Error(`PostgreSQL exited on start:\n${log}`));
        } else setTimeout(check, 25);
      };
      check();
    });
  } catch (err) {
    kill();
    throw err;
  }
  return {
    port,
    /** The postmaster's process id (its backends are its children). */
    pid: server.pid,
    url: (database) => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    kill,
    /** What the server wrote to its log so far. */
    log: () => log,
    async stop() {
      if (running()) {
        // SIGINT: "fast shutdown", which ends open sessions instead of waiting for them.
        server.kill('SIGINT');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      }
      kill();
    },
  };
}
