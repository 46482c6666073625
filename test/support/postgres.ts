/**
 * A real PostgreSQL server for one test file, started by the test itself. One implementation serves the tests and
 * the benchmarks: bench/lib/postgres.mjs (plain ESM, since bench/ runs without a TypeScript step).
 *
 * `global-setup.ts` runs initdb once and, through the product's own `openRecordStore` (the real migrations, the real
 * Prisma), migrates one empty record store database in it, `cutover_migrated`; then it stops that server cleanly.
 * Each file's server starts from a copy of that data folder: still a server of its own (files run in parallel
 * processes and never share one), without an initdb of its own, and `migratedUrl(name)` makes a database that is
 * what a fresh one becomes on its first open (`CREATE DATABASE name TEMPLATE cutover_migrated`: a file copy inside
 * PostgreSQL, where `prisma migrate deploy` costs two seconds of CPU in a process of its own). Tests of migrating
 * itself (store.test.ts, the doctor's and the CLI's first open) use `url(name)`, which names a database that does
 * not exist yet, and still run Prisma.
 */
import pg from 'pg';
import { inject } from 'vitest';
import { startPostgres as startServer, type TestPostgres as Server } from '../../bench/lib/postgres.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The data folder of a stopped PostgreSQL holding `cutover_migrated` (empty when it could not be made). */
    postgresSeedDir: string;
  }
}

/** The database of the seed every committed migration was applied to; never connected to, so it can be copied. */
export const MIGRATED_DATABASE = 'cutover_migrated';

export interface TestPostgres extends Server {
  /**
   * A new database with every committed migration applied and nothing else (copied from `cutover_migrated`);
   * answers its URL, as `url(name, user)` would.
   */
  migratedUrl(database: string, user?: { name: string; password: string }): Promise<string>;
}

/** Starts the file's PostgreSQL (from the test run's seed when there is one); see bench/lib/postgres.mjs. */
export async function startPostgres(options: { password?: string } = {}): Promise<TestPostgres> {
  const seed = inject('postgresSeedDir');
  const server = await startServer({ ...options, ...(seed ? { seed } : {}) });
  const superuser = async (database: string, sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: server.url(database) });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  let template: Promise<void> | undefined;
  return Object.assign(server, {
    async migratedUrl(database: string, user?: { name: string; password: string }): Promise<string> {
      // Without a seed (it failed in the global setup), migrate the template once on this server.
      template ??= seed ? Promise.resolve() : migrate(server.url(MIGRATED_DATABASE));
      await template;
      await superuser('postgres', `CREATE DATABASE "${database}" TEMPLATE ${MIGRATED_DATABASE}`);
      return server.url(database, user);
    },
  });
}

/** Creates and migrates the record store database at `url` the way the product does on first open, and closes it. */
export async function migrate(url: string): Promise<void> {
  const { openRecordStore } = await import('../../prisma/store.js');
  const store = await openRecordStore({ databaseUrl: url });
  await store.close();
}
