/**
 * Opens the record store for a command, turning store failures into one sentence that says
 * which database and what to do.
 */
import type { RunStore } from '../prisma/run-store.js';
import { StoreError } from '../prisma/store-errors.js';
import { openStore } from '../prisma/store.js';
import { EnvironmentError } from './errors.js';
import type { Settings } from './settings.js';

/** The record store named by the settings. */
export async function openRecordStore(settings: Settings): Promise<RunStore> {
  try {
    return await openStore({ databaseUrl: settings.databaseUrl });
  } catch (err) {
    if (err instanceof StoreError) throw new EnvironmentError(err.message);
    throw err;
  }
}
