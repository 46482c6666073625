/**
 * Where the project's Prisma files are: the project root, and each provider's schema and committed
 * migrations (one folder per provider, each with its own migration_lock.toml).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatabaseLocation } from './database-url.js';

/**
 * Finds the project root by walking up from this module to the `package.json` named `cutover`: the
 * module runs both as `prisma/paths.ts` and compiled as `dist/prisma/paths.js`.
 */
export function findProjectRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'cutover') return dir;
      } catch {
        // An unreadable package.json on the way up is not ours; keep walking.
      }
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`No package.json named "cutover" above ${from}: the store must run inside the project.`);
    }
  }
}

/** The schema and migrations folder of a provider, relative to the project root. */
export const PRISMA_FILES = {
  sqlite: { schema: 'prisma/schema.prisma', migrations: 'prisma/migrations' },
  postgresql: { schema: 'prisma/postgres/schema.prisma', migrations: 'prisma/postgres/migrations' },
} as const satisfies Record<DatabaseLocation['provider'], { schema: string; migrations: string }>;
