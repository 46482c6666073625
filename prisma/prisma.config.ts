/**
 * Prisma CLI configuration (Prisma 6.19), loaded by `node scripts/prisma.mjs …`.
 *
 * `engine: "js"` makes the CLI's schema engine the WebAssembly one, talking to the database through the
 * same better-sqlite3 driver adapter the application uses: the native schema engine would have to be
 * downloaded from a host this workplace cannot reach. `experimental.adapter` is the 6.19 gate for it.
 *
 * Paths here are absolute because Prisma resolves relative ones against this file's folder, not the
 * project root; spelling them from the root keeps them readable.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { defineConfig } from 'prisma/config';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Same rule as `resolveDatabasePath` in prisma/store.ts (not imported: that would load the generated
 * client into the CLI): `CUTOVER_DATABASE_URL`, else `file:<CUTOVER_HOME or .cutover>/cutover.db`;
 * relative paths are relative to the project root. The store passes an absolute URL to its child
 * `migrate deploy`, so this default only matters when a person runs the CLI by hand.
 */
function databaseFile(): string {
  const url = process.env.CUTOVER_DATABASE_URL;
  if (url) return path.resolve(projectRoot, url.replace(/^file:(\/\/(?=\/))?/, '').replace(/\?.*$/, ''));
  return path.resolve(projectRoot, process.env.CUTOVER_HOME || '.cutover', 'cutover.db');
}

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(projectRoot, 'prisma', 'schema.prisma'),
  migrations: { path: path.join(projectRoot, 'prisma', 'migrations') },
  async adapter() {
    const file = databaseFile();
    // SQLite creates the file but not its folder; a fresh clone has no `.cutover/` yet.
    mkdirSync(path.dirname(file), { recursive: true });
    return withMultiStatementShadowDb(new PrismaBetterSQLite3({ url: `file:${file}` }));
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
