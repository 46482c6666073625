/**
 * The committed migrations and applying them: the store checks on open that every migration of its
 * provider's folder is applied, and runs `prisma migrate deploy` (a child process through
 * scripts/prisma.mjs, which keeps Prisma offline) only when one is missing.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Db } from './connection.js';
import { describe } from './connection.js';
import type { DatabaseLocation } from './database-url.js';
import { PRISMA_FILES } from './paths.js';
import { StoreMigrationError } from './store-errors.js';

/**
 * Names of the committed migrations of a provider (folders holding a migration.sql), in the order
 * Prisma applies them.
 * @throws StoreMigrationError when the folder is missing or empty (a broken install)
 */
export function committedMigrations(projectRoot: string, location: DatabaseLocation): string[] {
  const dir = path.join(projectRoot, PRISMA_FILES[location.provider].migrations);
  const names = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && existsSync(path.join(dir, entry.name, 'migration.sql')))
        .map((entry) => entry.name)
        .sort()
    : [];
  if (names.length === 0) {
    throw new StoreMigrationError(location.display, [], `error: no migrations in ${dir}: reinstall cutover`, location.display);
  }
  return names;
}

/** Finished, not rolled back: what Prisma counts as applied. */
export async function appliedMigrations(prisma: Db): Promise<Set<string>> {
  try {
    const rows = await prisma.$queryRawUnsafe<{ migration_name: string }[]>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    return new Set(rows.map((row) => row.migration_name));
  } catch (error) {
    // A fresh database has no migration table yet: nothing is applied.
    if (/no such table|does not exist/i.test(describe(error))) return new Set();
    throw error;
  }
}

interface PrismaScript {
  runPrisma: (args: readonly string[], options?: { env?: NodeJS.ProcessEnv }) => Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Runs `prisma migrate deploy` on the database through scripts/prisma.mjs; resolves with its output. */
export async function migrateDeploy(projectRoot: string, location: DatabaseLocation): Promise<string> {
  const script = path.join(projectRoot, 'scripts', 'prisma.mjs');
  const { runPrisma } = (await import(pathToFileURL(script).href)) as PrismaScript;
  // The configuration (prisma/prisma.config.ts) picks the provider's schema and migrations by the URL.
  const result = await runPrisma(['migrate', 'deploy'], { env: { CUTOVER_DATABASE_URL: location.url } });
  return `${result.stdout}${result.stderr}`;
}
