/**
 * Connections to the record store's database: a Prisma client over the provider's driver adapter
 * (better-sqlite3 for a SQLite file, node-postgres for PostgreSQL), and the translation of what the
 * drivers say into the store's own errors (prisma/store-errors.ts), naming the database.
 */
import { accessSync, chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from '#prisma/sqlite';
import type { DatabaseLocation, PostgresLocation, SqliteLocation } from './database-url.js';
import {
  StoreAuthenticationError,
  StoreBusyError,
  StoreDatabaseMissingError,
  StoreError,
  StoreNotADatabaseError,
  StoreNotWritableError,
  StoreTlsError,
  StoreUnreachableError,
  StoreUrlError,
} from './store-errors.js';

/**
 * The client the repository uses. Both providers' generated clients have the same models and
 * methods (their schemas share the models, test/store.test.ts keeps them equal); they differ in the
 * types of `$transaction` options only, so the repository is typed against SQLite's.
 */
export type Db = PrismaClient;

/** How long a connection attempt to a PostgreSQL server may take before it counts as unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;

/** A client on the database, ready for queries. */
export async function createClient(location: DatabaseLocation): Promise<Db> {
  return location.provider === 'sqlite' ? createSqliteClient(location) : createPostgresClient(location);
}

async function createSqliteClient(location: SqliteLocation): Promise<Db> {
  // timeout: how long SQLite waits for another process's lock (the CLI, a worker and the status page
  // share the file) within one statement before giving up with SQLITE_BUSY; see BUSY_TIMEOUT_MS.
  const adapter = new PrismaBetterSQLite3({ url: location.url, timeout: BUSY_TIMEOUT_MS });
  // minimal: Prisma's default message quotes the calling source and the whole query (33 KB for one
  // upsert); it travels into activity failures, where Temporal refuses it as too large.
  const prisma = new PrismaClient({ adapter, errorFormat: 'minimal' });
  try {
    // WAL lets the status page read while a worker writes. Foreign keys: better-sqlite3's build turns
    // them on, but SQLite's own default is off and the schema's references and cascades rely on them.
    await waitingOutLocks(() => prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL'));
    await prisma.$queryRawUnsafe('PRAGMA foreign_keys = ON');
    return prisma;
  } catch (error) {
    await prisma.$disconnect().catch(() => undefined);
    throw error;
  }
}

/**
 * How long SQLite itself waits for another process's lock, within one statement: not at all.
 * better-sqlite3 is synchronous: while SQLite waits, the whole Node thread waits with it, and a worker
 * then answers no query, sends no heartbeat and runs nothing else. Even 100 ms a try was too much:
 * with a few store calls waiting out a 30 s lock at once, the worker's thread was blocked most of the
 * time and `cutover status` took 8 s, queries up to 3.4 s (test/faults-store-lock.test.ts under load).
 * So SQLite answers SQLITE_BUSY at once, and the store waits between tries without blocking
 * ({@link waitingOutLocks}).
 */
const BUSY_TIMEOUT_MS = 0;
/** How long one store call waits for another process's lock before it fails with StoreBusyError. */
const LOCK_WAIT_MS = 5000;
/**
 * The first pause between tries (a lock held for a moment by another writer), doubling up to LOCK_RETRY_MS: a try
 * costs the thread about 10 ms (Prisma builds the query each time), so a long lock is not tried too often.
 */
const LOCK_FIRST_RETRY_MS = 5;
const LOCK_RETRY_MS = 250;

/**
 * Runs `fn` again while another process holds the SQLite file locked, for up to LOCK_WAIT_MS. Safe
 * for the store's writes: a statement refused for a lock changed nothing, and every write is an
 * upsert or a guarded update anyway. (PostgreSQL waits for row locks itself, without blocking Node.)
 */
export async function waitingOutLocks<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let pause = LOCK_FIRST_RETRY_MS; ; pause = Math.min(LOCK_RETRY_MS, pause * 2)) {
    try {
      return await fn();
    } catch (error) {
      if (!/SQLITE_BUSY|database is locked/i.test(describe(error)) || Date.now() >= deadline) throw error;
      await sleep(pause);
    }
  }
}

async function createPostgresClient(location: PostgresLocation): Promise<Db> {
  // Loaded only for PostgreSQL, so a SQLite user's start does not pay for a second client.
  const [{ PrismaPg }, { PrismaClient: PostgresClient }] = await Promise.all([import('@prisma/adapter-pg'), import('#prisma/postgres')]);
  const adapter = new PrismaPg({ connectionString: location.connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  const prisma = new PostgresClient({ adapter, errorFormat: 'minimal' });
  try {
    await prisma.$executeRawUnsafe('SELECT 1');
    return prisma as unknown as Db;
  } catch (error) {
    await prisma.$disconnect().catch(() => undefined);
    throw error;
  }
}

/**
 * Fails early, with the path in the message, rather than deep inside SQLite or the Prisma CLI. The store (decisions,
 * outputs of steps, reconciliation rows) is its user's only: its folder is made 0700 and the file 0600 (SQLite gives
 * its journal and WAL files the file's mode), and a store an older version left readable to others is tightened.
 */
export function ensureWritable(location: SqliteLocation): void {
  const dir = path.dirname(location.path);
  try {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
    accessSync(dir, constants.W_OK);
    if (existsSync(location.path)) {
      const stat = statSync(location.path);
      if (!stat.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
      accessSync(location.path, constants.R_OK | constants.W_OK);
      if ((stat.mode & 0o077) !== 0 && stat.uid === process.getuid?.()) chmodSync(location.path, PRIVATE_FILE);
    } else {
      createPrivateFile(location.path);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StoreNotWritableError(location.path, code ?? String(error), { cause: error });
  }
}

/**
 * Makes sure the PostgreSQL database exists, creating it when the role may (SQLite creates its file;
 * PostgreSQL does not, and Prisma's migrate needs it to exist). Checked with node-postgres directly,
 * so an unreachable server, refused credentials or a missing database each get their own sentence.
 */
export async function ensureDatabase(location: PostgresLocation): Promise<void> {
  const [{ default: pg }, { parseIntoClientConfig }] = await Promise.all([import('pg'), import('pg-connection-string')]);
  const probe = new pg.Client({ connectionString: location.connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await probe.connect();
    return;
  } catch (error) {
    if (pgCode(error) !== '3D000') throw toStoreError(error, location);
  } finally {
    await probe.end().catch(() => undefined);
  }
  // Created from the maintenance database every server has, with the same credentials.
  let lastError: unknown;
  for (const maintenance of ['postgres', 'template1']) {
    const admin = new pg.Client({
      ...parseIntoClientConfig(location.connectionString),
      database: maintenance,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    try {
      await admin.connect();
      await admin.query(`CREATE DATABASE "${location.database.replace(/"/g, '""')}"`);
      return;
    } catch (error) {
      // Another process created it meanwhile: 42P04, or 23505 when both inserted into the catalog at once.
      if (pgCode(error) === '42P04' || pgCode(error) === '23505') return;
      lastError = error;
      if (pgCode(error) !== '3D000') break;
    } finally {
      await admin.end().catch(() => undefined);
    }
  }
  const reason = pgCode(lastError) === '42501' ? 'the user may not create databases' : describe(lastError).trim();
  throw new StoreDatabaseMissingError(location.display, location.database, reason, { cause: lastError });
}

function pgCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Everything an error says, causes included: drivers put their codes in `code`, `meta` or `cause`. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause === undefined ? '' : ` ${describe(error.cause)}`;
    // Prisma puts SQLite's code (SQLITE_NOTADB, SQLITE_BUSY_SNAPSHOT…) in `code`, not in the message.
    const { code, meta } = error as { code?: unknown; meta?: unknown };
    const errors = error instanceof AggregateError ? error.errors.map(describe).join(' ') : '';
    return `${String(code ?? '')} ${error.message}${meta === undefined ? '' : ` ${JSON.stringify(meta)}`}${cause} ${errors}`;
  }
  return String(error);
}

/** Turns what SQLite or PostgreSQL says through Prisma into the store's own errors, naming the database. */
export function toStoreError(error: unknown, location: DatabaseLocation): unknown {
  if (error instanceof StoreError) return error;
  const text = describe(error);
  const where = location.display;
  if (location.provider === 'sqlite') {
    if (/SQLITE_NOTADB|file is not a database|file is encrypted/i.test(text)) {
      return new StoreNotADatabaseError(where, { cause: error });
    }
    if (/SQLITE_BUSY|database is locked/i.test(text)) return new StoreBusyError(where, { cause: error });
    const io = /SQLITE_(CANTOPEN|READONLY|IOERR|PERM)\w*|unable to open database file|readonly database/i.exec(text);
    if (io) return new StoreNotWritableError(where, io[0], { cause: error });
    return error;
  }
  // 28P01: wrong password; 28000: no such role, or pg_hba.conf refuses it. P1000: Prisma's word for either.
  if (/\b28P01\b|\b28000\b|\bP1000\b|password authentication failed|role "[^"]*" does not exist|AuthenticationFailed/i.test(text)) {
    return new StoreAuthenticationError(where, { cause: error });
  }
  if (/\b3D000\b|\bP1003\b|DatabaseDoesNotExist/.test(text)) {
    return new StoreDatabaseMissingError(where, location.database, 'it was dropped, or never created', { cause: error });
  }
  const tls = /does not support SSL|self[- ]signed certificate|certificate|SSL|TLS/i.exec(text);
  if (tls) return new StoreTlsError(where, tls[0], { cause: error });
  const network =
    /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET|timeout expired|Connection terminated|\bP1001\b|DatabaseNotReachable/i.exec(
      text,
    );
  if (network) return new StoreUnreachableError(where, network[0], { cause: error });
  // pg-connection-string reads sslrootcert, sslcert and sslkey files while parsing the URL.
  const file = /(ENOENT|EACCES|EISDIR)[^']*'([^']+)'/.exec(text);
  if (file) return new StoreUrlError(where, `names a TLS file that cannot be read (${file[1]} ${file[2]})`);
  if (/invalid connection string|URIError|Invalid URL/i.test(text)) return new StoreUrlError(where, 'cannot be parsed');
  return error;
}

/** The mode of the folders cutover makes for its data: its user's only. */
export const PRIVATE_DIR = 0o700;
/** The mode of the SQLite store. */
export const PRIVATE_FILE = 0o600;

/** Creates an empty file readable by its user only, unless another process just made it. */
export function createPrivateFile(file: string): void {
  try {
    closeSync(openSync(file, 'wx', PRIVATE_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
