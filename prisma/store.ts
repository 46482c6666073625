/**
 * Opening the record store: where it is (prisma/database-url.ts), a connection shared per database
 * and process (prisma/connection.ts), the committed migrations applied when one is missing
 * (prisma/migrations.ts), and the repository on top (prisma/record-store.ts).
 */
import type { Db } from './connection.js';
import { createClient, ensureDatabase, ensureWritable, toStoreError } from './connection.js';
import { databaseLocation, parseDatabaseUrl, type DatabaseLocation } from './database-url.js';
import { appliedMigrations, committedMigrations, migrateDeploy } from './migrations.js';
import { findProjectRoot } from './paths.js';
import { RecordStore, type SharedConnection } from './record-store.js';
import { StoreMigrationError, StoreMigrationMissingError } from './store-errors.js';

/** Options of `openRecordStore`. */
export interface OpenStoreOptions {
  /**
   * `file:<path>`, a plain path, or `postgres://…`/`postgresql://…` (prisma/database-url.ts); relative
   * paths are relative to the working directory. Default: `CUTOVER_DATABASE_URL`, else
   * `file:<CUTOVER_HOME or .cutover>/cutover.db`.
   */
  databaseUrl?: string;
  /** The project root (holding `prisma/`'s migrations). Default: found from this module's location. */
  projectRoot?: string;
}

/**
 * One PrismaClient per database per process, shared by every `RecordStore` opened on it. Beyond
 * economy, this matters for SQLite: better-sqlite3 is synchronous, so a second connection in the same
 * process that waits for the first one's write lock would block the very event loop the first one needs
 * to finish its transaction.
 */
const connections = new Map<string, Promise<{ connection: SharedConnection; applied: string[] }>>();

/**
 * Opens the run store, creating the SQLite file (or the PostgreSQL database) and applying committed
 * migrations when needed.
 *
 * Opening an up-to-date database only compares migration names (a few ms); `migrate deploy` runs, as a
 * child process through scripts/prisma.mjs, only when a committed migration is missing. Stores opened
 * on the same database in one process share one connection; each `close()` releases its own hold.
 *
 * @throws StoreError: StoreUrlError, StoreNotADatabaseError, StoreNotWritableError, StoreBusyError,
 *   StoreUnreachableError, StoreAuthenticationError, StoreDatabaseMissingError, StoreMigrationError,
 *   StoreMigrationMissingError
 */
export async function openRecordStore(options: OpenStoreOptions = {}): Promise<RecordStore> {
  const projectRoot = options.projectRoot ?? findProjectRoot();
  const location = options.databaseUrl === undefined ? databaseLocation() : parseDatabaseUrl(options.databaseUrl);
  const key = location.url;
  for (;;) {
    let opening = connections.get(key);
    let first = false;
    if (!opening) {
      first = true;
      opening = connect(projectRoot, location).then(({ prisma, applied }) => {
        const connection: SharedConnection = {
          prisma,
          location,
          holders: 0,
          closed: false,
          release: async () => {
            connections.delete(key);
            await prisma.$disconnect();
          },
        };
        return { connection, applied };
      });
      connections.set(key, opening);
      // A failed open must not poison later attempts (the user may fix the database and retry).
      opening.catch(() => connections.delete(key));
    }
    const { connection, applied } = await opening;
    // The last holder closed it while we waited: open afresh.
    if (connection.closed) continue;
    connection.holders += 1;
    return new RecordStore(connection, first ? applied : []);
  }
}

async function connect(projectRoot: string, location: DatabaseLocation): Promise<{ prisma: Db; applied: string[] }> {
  let prisma: Db | undefined;
  try {
    if (location.provider === 'sqlite') ensureWritable(location);
    else await ensureDatabase(location);
    const committed = committedMigrations(projectRoot, location);
    prisma = await createClient(location);
    const before = await appliedMigrations(prisma);
    const unknown = [...before].filter((name) => !committed.includes(name)).sort();
    if (unknown.length > 0) throw new StoreMigrationMissingError(location.display, unknown);
    const pending = committed.filter((name) => !before.has(name));
    if (pending.length === 0) return { prisma, applied: [] };

    // Prisma's SQLite migrator takes `locking_mode=EXCLUSIVE`, which in WAL mode needs every other
    // connection to the file closed, ours included: close it while the child process migrates. The
    // same lock keeps two processes opening a fresh file at once from both applying a migration: the
    // loser's `migrate deploy` gives up on the lock, and the check below finds the work done. On
    // PostgreSQL, Prisma's advisory lock makes the second `migrate deploy` wait for the first.
    await prisma.$disconnect();
    prisma = undefined;
    const output = await migrateDeploy(projectRoot, location);
    prisma = await createClient(location);
    const after = await appliedMigrations(prisma);
    const stillPending = committed.filter((name) => !after.has(name));
    if (stillPending.length > 0) {
      throw new StoreMigrationError(
        location.display,
        stillPending,
        output,
        location.provider === 'sqlite' ? location.url : location.display,
      );
    }
    return { prisma, applied: pending.filter((name) => after.has(name)) };
  } catch (error) {
    await prisma?.$disconnect().catch(() => undefined);
    throw toStoreError(error, location);
  }
}
