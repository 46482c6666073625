// A real PostgreSQL server for one benchmark or test file, started by it: Debian's `initdb` and
// `postgres`, run as the `postgres` user when we are root (initdb refuses root), kept a direct
// child so it is reaped and stops with us (`pg_ctl` would daemonize, and nothing here reaps
// daemons). About a second from nothing to ready. `fsync=off` because the data is thrown away; the
// SQLite store the deploy bench compares it with does not sync per commit either (WAL mode, and
// better-sqlite3 builds with synchronous=NORMAL for WAL). Plain ESM so that bench/ can use it;
// the TypeScript tests import it through test/support/postgres.ts (types in postgres.d.mts).
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

// What initdb writes for `-A trust --auth-host=scram-sha-256`: the socket in the server's own
// folder trusted, TCP with a password.
const PASSWORD_HBA = `local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
local replication all trust
host replication all 127.0.0.1/32 scram-sha-256
host replication all ::1/128 scram-sha-256
`;

/**
 * Starts a fresh PostgreSQL and resolves once it takes connections. Without `password`, every user
 * is trusted; with one, connections over TCP need a password (scram-sha-256), `password` for
 * `postgres`. With `seed` (the data folder of a trusting cluster that was stopped cleanly, see
 * `stop({ keepData: true })`), a copy of it instead of a new initdb: the same server, with whatever
 * databases the seed holds. See postgres.d.mts for what it answers.
 */
export async function startPostgres(options = {}) {
  const who = account();
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-pg-'));
  const data = path.join(dir, 'data');
  if (who) chownSync(dir, who.uid, who.gid);
  if (options.seed) {
    // cp keeps the owner and the 0700 mode PostgreSQL insists on.
    const copy = spawnSync('cp', ['-a', options.seed, data], { encoding: 'utf8' });
    if (copy.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`copying the PostgreSQL seed ${options.seed} failed: ${copy.stderr || copy.error}`);
    }
    if (options.password !== undefined) writeFileSync(path.join(data, 'pg_hba.conf'), PASSWORD_HBA);
  } else {
    const auth = ['-A', 'trust'];
    if (options.password !== undefined) {
      const pwfile = path.join(dir, 'pwfile');
      writeFileSync(pwfile, `${options.password}\n`);
      if (who) chownSync(pwfile, who.uid, who.gid);
      auth.push('--auth-host=scram-sha-256', `--pwfile=${pwfile}`);
    }
    const init = spawnSync(path.join(BIN, 'initdb'), [...auth, '--no-sync', '-U', 'postgres', '-D', data], {
      encoding: 'utf8',
      ...(who ?? {}),
      env: { ...process.env, LC_ALL: 'C.UTF-8' },
    });
    if (init.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed: ${init.stderr || init.error}`);
    }
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
  const stop = async ({ keepData = false } = {}) => {
    if (running()) {
      // SIGINT: "fast shutdown", which ends open sessions instead of waiting for them.
      server.kill('SIGINT');
      let timer;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      clearTimeout(timer);
    }
    if (keepData && running()) throw new Error(`PostgreSQL did not stop within 10 s, so its data folder ${data} is not a clean copy`);
    if (!keepData) kill();
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
    if (options.seed && options.password !== undefined) {
      // The seed trusts everyone: give `postgres` its password over the socket, which stays trusted.
      const { default: pg } = await import('pg');
      const client = new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' });
      await client.connect();
      try {
        await client.query(`ALTER ROLE postgres PASSWORD ${client.escapeLiteral(options.password)}`);
      } finally {
        await client.end();
      }
    }
  } catch (err) {
    kill();
    throw err;
  }
  return {
    port,
    /** The postmaster's process id (its backends are its children). */
    pid: server.pid,
    url: (database, user) => {
      const credentials = user
        ? `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}`
        : options.password === undefined
          ? 'postgres'
          : `postgres:${encodeURIComponent(options.password)}`;
      return `postgresql://${credentials}@127.0.0.1:${port}/${database}`;
    },
    kill,
    /** What the server wrote to its log so far. */
    log: () => log,
    /** The server's data folder. */
    dataDir: data,
    stop,
  };
}
