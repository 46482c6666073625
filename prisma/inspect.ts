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
  /** Runs the store has not seen end (newest first, at most {@link IN_FLIGHT_LIMIT}), with the runbook each runs. */
  inFlight: { runId: string; runbookSource: string }[];
}

/** How many unfinished runs doctor looks at: the ones that matter tonight, not years of abandoned rehearsals. */
export const IN_FLIGHT_LIMIT = 20;

interface MigrationRow {
  migration_name: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

const MIGRATIONS_QUERY = 'SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations';
/** Quoted names: the same text on SQLite and PostgreSQL (Prisma keeps the model's case). */
const IN_FLIGHT_QUERY = `SELECT "id", "runbookSource" FROM "Run" WHERE "endedAt" IS NULL ORDER BY "createdAt" DESC LIMIT ${IN_FLIGHT_LIMIT}`;

interface Rows {
  migrations: MigrationRow[];
  inFlight: { id: string; runbookSource: string }[];
}

/** How long a connection attempt to PostgreSQL may take before the server counts as unreachable. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Inspects the store at `location` without changing it.
 * @throws StoreError (StoreUnreachableError, StoreAuthenticationError, StoreTlsError, StoreNotADatabaseError, …)
 *   with the same sentences opening the store would give
 */
export async function inspectStore(projectRoot: string, location: DatabaseLocation): Promise<StoreInspection> {
  const committed = committedMigrations(projectRoot, location);
  let read: Rows | undefined;
  try {
    read = location.provider === 'sqlite' ? await readSqlite(location) : await readPostgres(location);
  } catch (error) {
    throw toStoreError(error, location);
  }
  if (read === undefined) return { exists: false, applied: [], pending: committed, failed: [], unknown: [], inFlight: [] };
  const rows = read.migrations;
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
    inFlight: read.inFlight.map((row) => ({ runId: row.id, runbookSource: row.runbookSource })),
  };
}

/** The migration rows of a SQLite file; `undefined` when the file does not exist. */
async function readSqlite(location: SqliteLocation): Promise<Rows | undefined> {
  if (!existsSync(location.path)) return undefined;
  const { default: Database } = await import('better-sqlite3');
  // readonly: no journal mode set, no file created. fileMustExist: a file that vanished is not re-created.
  const db = new Database(location.path, { readonly: true, fileMustExist: true, timeout: 1_000 });
  const query = <T>(sql: string): T[] => {
    try {
      return db.prepare(sql).all() as T[];
    } catch (error) {
      // No such table yet: nothing applied, no runs.
      if (/no such table|no such column/i.test(describe(error))) return [];
      throw error;
    }
  };
  try {
    return { migrations: query<MigrationRow>(MIGRATIONS_QUERY), inFlight: query<Rows['inFlight'][number]>(IN_FLIGHT_QUERY) };
  } finally {
    db.close();
  }
}

/** The migration rows of a PostgreSQL database; `undefined` when the database does not exist. */
async function readPostgres(location: PostgresLocation): Promise<Rows | undefined> {
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
  const query = async <T extends object>(sql: string): Promise<T[]> => {
    try {
      return (await client.query<T>(sql)).rows;
    } catch (error) {
      // 42P01, 42703: no such table or column yet: nothing applied, no runs.
      const code = (error as { code?: unknown }).code;
      if (code === '42P01' || code === '42703') return [];
      throw error;
    }
  };
  try {
    return { migrations: await query<MigrationRow>(MIGRATIONS_QUERY), inFlight: await query<Rows['inFlight'][number]>(IN_FLIGHT_QUERY) };
  } finally {
    await client.end().catch(() => undefined);
  }
}
