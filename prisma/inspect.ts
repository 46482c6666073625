/**
 * A read-only look at the record store, for `cutover doctor`: can it be reached with these credentials, and which
 * migrations are applied, pending, failed half-way, or unknown to this cutover. Unlike opening the store
 * (prisma/store.ts), it never creates the database or its file and never applies a migration: it reads Prisma's
 * `_prisma_migrations` table through the plain driver.
 */
import { existsSync } from 'node:fs';
import { describe, toStoreError } from './connection.js';
import type { DatabaseLocation, PostgresLocation, SqliteLocation } from './database-url.js';
import { committedMigrations } from './migrations.js';

/** What the store holds, compared with this cutover's committed migrations. */
export interface StoreInspection {
  /** False when the SQLite file or the PostgreSQL database does not exist yet (the first start creates it). */
  exists: boolean;
  /** Applied and finished. */
  applied: string[];
  /** Committed here, not applied there: the next start applies them. */
  pending: string[];
  /** Started and not finished (Prisma then refuses to go on). */
  failed: string[];
  /** Applied there, not committed here: the database was migrated by a newer cutover. */
  unknown: string[];
}

interface MigrationRow {
  migration_name: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

const MIGRATIONS_QUERY = 'SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations';

/** How long a connection attempt to PostgreSQL may take before the server counts as unreachable. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Inspects the store at `location` without changing it.
 * @throws StoreError (StoreUnreachableError, StoreAuthenticationError, StoreTlsError, StoreNotADatabaseError, …)
 *   with the same sentences opening the store would give
 */
export async function inspectStore(projectRoot: string, location: DatabaseLocation): Promise<StoreInspection> {
  const committed = committedMigrations(projectRoot, location);
  let rows: MigrationRow[] | undefined;
  try {
    rows = location.provider === 'sqlite' ? await readSqlite(location) : await readPostgres(location);
  } catch (error) {
    throw toStoreError(error, location);
  }
  if (rows === undefined) return { exists: false, applied: [], pending: committed, failed: [], unknown: [] };
  const finished = new Set(rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => r.migration_name));
  const failed = [...new Set(rows.filter((r) => r.finished_at === null && r.rolled_back_at === null).map((r) => r.migration_name))].filter(
    (name) => !finished.has(name),
  );
  return {
    exists: true,
    applied: committed.filter((name) => finished.has(name)),
    pending: committed.filter((name) => !finished.has(name) && !failed.includes(name)),
    failed: failed.sort(),
    unknown: [...finished].filter((name) => !committed.includes(name)).sort(),
  };
}

/** The migration rows of a SQLite file; `undefined` when the file does not exist. */
async function readSqlite(location: SqliteLocation): Promise<MigrationRow[] | undefined> {
  if (!existsSync(location.path)) return undefined;
  const { default: Database } = await import('better-sqlite3');
  // readonly: no journal mode set, no file created. fileMustExist: a file that vanished is not re-created.
  const db = new Database(location.path, { readonly: true, fileMustExist: true, timeout: 1_000 });
  try {
    return db.prepare(MIGRATIONS_QUERY).all() as MigrationRow[];
  } catch (error) {
    if (/no such table/i.test(describe(error))) return [];
    throw error;
  } finally {
    db.close();
  }
}

/** The migration rows of a PostgreSQL database; `undefined` when the database does not exist. */
async function readPostgres(location: PostgresLocation): Promise<MigrationRow[] | undefined> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: location.connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An error on an idle client (the server going away) must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    if ((error as { code?: unknown }).code === '3D000') return undefined;
    throw error;
  }
  try {
    return (await client.query<MigrationRow>(MIGRATIONS_QUERY)).rows;
  } catch (error) {
    // 42P01: no migration table yet, so nothing is applied.
    if ((error as { code?: unknown }).code === '42P01') return [];
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}
