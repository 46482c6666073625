/**
 * A SQLite record store migrated once for the whole test run, copied wherever a test needs a fresh store.
 *
 * Opening an empty SQLite file runs `prisma migrate deploy` in a child process: over a second of CPU each time, and
 * the suite opened some two hundred fresh stores (every `cliEnv()`'s first command). `global-setup.ts` makes one
 * store through the product's own `openRecordStore` (the real migrations, the real Prisma) and closes it; a copy of
 * that file is what every one of those fresh stores would have become. Tests of migrating itself (store.test.ts,
 * the doctor's and the CLI's migration failures) open empty files of their own and still run Prisma.
 */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A SQLite record store with every committed migration applied and nothing else in it. */
    storeTemplatePath: string;
  }
}

/** The migrated empty store itself (copy it, never open it). */
export function storeTemplatePath(): string {
  return inject('storeTemplatePath');
}

/** Copies the migrated empty store to `file` (a SQLite path that must not exist yet); answers its `file:` URL. */
export function migratedStoreAt(file: string): string {
  copyFileSync(inject('storeTemplatePath'), file);
  return `file:${file}`;
}

/** A fresh migrated store in a new temporary folder named after `prefix`; answers its `file:` URL. */
export function migratedStore(prefix = 'cutover-store-'): string {
  return migratedStoreAt(path.join(mkdtempSync(path.join(tmpdir(), prefix)), 'cutover.db'));
}
