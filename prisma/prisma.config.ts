/**
 * Prisma CLI configuration (Prisma 6.19), loaded by `node scripts/prisma.mjs …`.
 *
 * `engine: "js"` makes the CLI's schema engine the WebAssembly one, talking to the database through the
 * same driver adapter the application uses (better-sqlite3 for SQLite, node-postgres for PostgreSQL):
 * the native schema engine would have to be downloaded from a host this workplace cannot reach.
 * `experimental.adapter` is the 6.19 gate for it.
 *
 * The database, and so the provider's schema and migrations folder, comes from CUTOVER_DATABASE_URL
 * by the store's own rule (prisma/database-url.ts). The store passes an absolute URL to its child
 * `migrate deploy`; when a person runs the CLI by hand, relative paths are relative to the project
 * root (scripts/prisma.mjs runs Prisma there).
 *
 * Paths here are absolute because Prisma resolves relative ones against this file's folder, not the
 * project root; spelling them from the root keeps them readable.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { defineConfig } from 'prisma/config';
import { databaseLocation } from './database-url.js';
import { PRISMA_FILES } from './paths.js';
import { migrationAdapter } from './postgres-migrate-adapter.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const location = databaseLocation();
const files = PRISMA_FILES[location.provider];

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(projectRoot, files.schema),
  migrations: { path: path.join(projectRoot, files.migrations) },
  async adapter() {
    if (location.provider === 'postgresql') return migrationAdapter(location.connectionString);
    // SQLite creates the file but not its folder; a fresh clone has no `.cutover/` yet. Both are the user's only, as
    // the application makes them (prisma/connection.ts `ensureWritable`); 'a' leaves an existing store as it is.
    mkdirSync(path.dirname(location.path), { recursive: true, mode: 0o700 });
    closeSync(openSync(location.path, 'a', 0o600));
    return withMultiStatementShadowDb(new PrismaBetterSQLite3({ url: location.url }));
  },
});

/**
 * `migrate diff --from-migrations` replays every migration.sql into an in-memory shadow database with
 * one `executeRaw` call, and the better-sqlite3 adapter runs `executeRaw` through `prepare()`, which
 * refuses more than one statement ("The supplied SQL string contains more than one statement", shown
 * by Prisma as P3006 "External error"). `migrate deploy` is unaffected (it uses `executeScript`).
 * On the shadow connection only (a throwaway `:memory:` database that exists for the diff), statements
 * without parameters go through `executeScript` (`db.exec`), which takes any number of them.
 */
function withMultiStatementShadowDb(factory: PrismaBetterSQLite3): PrismaBetterSQLite3 {
  const connectToShadowDb = factory.connectToShadowDb.bind(factory);
  factory.connectToShadowDb = async () => {
    const shadow = await connectToShadowDb();
    const executeRaw = shadow.executeRaw.bind(shadow);
    shadow.executeRaw = async (query) => {
      if (query.args.length > 0) return executeRaw(query);
      await shadow.executeScript(query.sql);
      return 0;
    };
    return shadow;
  };
  return factory;
}
