/**
 * What the record store's tests share (store.test.ts, store-records.test.ts): a real SQLite folder and PostgreSQL
 * server per file, fresh databases of each provider, raw SQL behind Prisma's back, and the records they write.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { ReserveRunInput, StepAttemptInput } from '../../prisma/records.js';
import type { RunState } from '../../run/state.js';
import { startPostgres, type TestPostgres } from './postgres.js';
import { migratedStoreAt } from './store-template.js';

const require = createRequire(import.meta.url);

export const PROVIDERS = ['sqlite', 'postgresql'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** Runs statements on a store's database behind Prisma's back (to build a database of an earlier cutover). */
export async function rawSql(url: string, statements: string[]): Promise<void> {
  if (url.startsWith('file:')) {
    const Database = require('better-sqlite3') as typeof BetterSqlite3;
    const db = new Database(url.slice('file:'.length));
    try {
      for (const statement of statements) db.exec(statement);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * A folder and a real PostgreSQL server for the file's tests (started before them, stopped after), and a URL for a
 * fresh database of either provider (SQLite: a file in a folder that does not exist yet), or for a new database with
 * every committed migration applied (copied from the test run's migrated ones, see store-template.ts and postgres.ts)
 * for tests that are not about migrating.
 */
export function useStoreDatabases(): {
  freshUrl(provider: Provider, name: string): string;
  migratedUrl(provider: Provider, name: string): Promise<string>;
  dir(): string;
} {
  let dir: string;
  let postgres: TestPostgres;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cutover-store-'));
    postgres = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir: () => dir,
    freshUrl: (provider, name) =>
      provider === 'sqlite' ? `file:${path.join(dir, provider, 'nested', `${name}.db`)}` : postgres.url(name.replace(/\W/g, '_')),
    migratedUrl: async (provider, name) => {
      if (provider === 'postgresql') return postgres.migratedUrl(name.replace(/\W/g, '_'));
      mkdirSync(path.join(dir, 'migrated'), { recursive: true });
      return migratedStoreAt(path.join(dir, 'migrated', `${name}.db`));
    },
  };
}

export function reservation(runbookName: string, overrides: Partial<ReserveRunInput> = {}): ReserveRunInput {
  return {
    runbookName,
    mode: 'rehearsal',
    runbookVersion: '1.0.0',
    versionHash: 'sha256:abc',
    runbookSource: `name: ${runbookName}\nphases: []\n`,
    startedBy: 'lead@example.com',
    ...overrides,
  };
}

export function runState(runId: string, overrides: Partial<RunState> = {}): RunState {
  return {
    runId,
    runbookName: 'crm-go-live',
    runbookVersion: '1.0.0',
    versionHash: 'sha256:abc',
    mode: 'rehearsal',
    status: 'running',
    startedAt: '2025-03-01T20:00:00.000Z',
    startedBy: 'lead@example.com',
    order: ['freeze'],
    steps: {
      freeze: {
        id: 'freeze',
        phaseId: 'prepare',
        phaseKind: 'data_freeze',
        title: 'Freeze the legacy CRM',
        owner: 'dba',
        kind: 'shell',
        dependsOn: [],
        status: 'succeeded',
        treatment: 'run',
        attempts: 1,
        plannedStartMs: 0,
        plannedDurationMs: 60_000,
        checks: [],
        idempotencyKey: `${runId}/freeze`,
      },
    },
    backout: { status: 'not_requested' },
    decisions: [],
    ...overrides,
  };
}

export function stepAttempt(runId: string, overrides: Partial<StepAttemptInput> = {}): StepAttemptInput {
  return {
    runId,
    stepId: 'freeze',
    phaseId: 'prepare',
    title: 'Freeze the legacy CRM',
    owner: 'dba',
    kind: 'shell',
    purpose: 'forward',
    attempt: 1,
    treatment: 'run',
    status: 'running',
    plannedStartMs: 0,
    plannedDurationMs: 60_000,
    startedAt: '2025-03-01T20:00:01.000Z',
    idempotencyKey: `${runId}/freeze`,
    ...overrides,
  };
}
