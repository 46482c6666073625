/**
 * The run store against real databases through Prisma, the same suite for each provider: a fresh
 * SQLite file, and a fresh database on a real PostgreSQL server started by this file
 * (test/support/postgres.ts). `openRecordStore` creates each and applies the committed migrations the way a
 * new clone would.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from './support/postgres.js';
import type { CheckOutcome, Decision, RunState } from '../run/state.js';
import type { ReconcileResult } from '../reconcile/result.js';
import { findProjectRoot } from '../prisma/paths.js';
import type { ReserveRunInput, StepAttemptInput } from '../prisma/records.js';
import type { RecordStore } from '../prisma/record-store.js';
import { RunNotFoundError, StoreError, StoreNotADatabaseError, StoreNotWritableError } from '../prisma/store-errors.js';
import { openRecordStore } from '../prisma/store.js';

const require = createRequire(import.meta.url);
const projectRoot = findProjectRoot();

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

const PROVIDERS = ['sqlite', 'postgresql'] as const;
type Provider = (typeof PROVIDERS)[number];

/** Runs statements on a store's database behind Prisma's back (to build a database of an earlier cutover). */
async function rawSql(url: string, statements: string[]): Promise<void> {
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

/** A URL for a fresh database of the provider (SQLite: a file in a folder that does not exist yet). */
function freshUrl(provider: Provider, name: string): string {
  return provider === 'sqlite' ? `file:${path.join(dir, provider, 'nested', `${name}.db`)}` : postgres.url(name.replace(/\W/g, '_'));
}

function reservation(runbookName: string, overrides: Partial<ReserveRunInput> = {}): ReserveRunInput {
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

function runState(runId: string, overrides: Partial<RunState> = {}): RunState {
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

function stepAttempt(runId: string, overrides: Partial<StepAttemptInput> = {}): StepAttemptInput {
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

describe('schemas', () => {
  it('of SQLite and PostgreSQL have the same models', () => {
    // One `provider` per schema is all Prisma allows, so the models are written twice; they must not drift.
    const models = (file: string) => {
      const text = readFileSync(path.join(projectRoot, file), 'utf8');
      return text.slice(text.search(/^model /m));
    };
    expect(models('prisma/postgres/schema.prisma')).toBe(models('prisma/schema.prisma'));
  });
});

describe.each(PROVIDERS)('%s', (provider) => {
  /** A test that only one of the stores has (defined for that store only, not reported as skipped). */
  const itOn = (only: typeof provider): typeof it => (only === provider ? it : ((() => undefined) as unknown as typeof it));
  let databaseUrl: string;
  let store: RecordStore;
  const files =
    provider === 'sqlite'
      ? { schema: 'prisma/schema.prisma', migrations: 'prisma/migrations' }
      : { schema: 'prisma/postgres/schema.prisma', migrations: 'prisma/postgres/migrations' };

  beforeAll(async () => {
    databaseUrl = freshUrl(provider, 'cutover');
    store = await openRecordStore({ databaseUrl });
  }, 60_000);

  afterAll(async () => {
    await store?.close();
  });

  describe('opening', () => {
    it('applies the committed migrations to a fresh database, and nothing when it is up to date', async () => {
      expect(store.migrationsApplied).toEqual([
        expect.stringMatching(/_init$/),
        expect.stringMatching(/_step_worker$/),
        expect.stringMatching(/_long_durations$/),
        expect.stringMatching(/_reconcile_results$/),
        expect.stringMatching(/_decision_proofs$/),
        expect.stringMatching(/_decision_evidence$/),
        expect.stringMatching(/_decision_update_id$/),
        expect.stringMatching(/_decision_sent_from$/),
      ]);
      expect(store.provider).toBe(provider);
      if (provider === 'sqlite') expect(store.databasePath).toBe(path.join(dir, provider, 'nested', 'cutover.db'));

      // A second process (here: after closing, so nothing is shared) finds the database up to date.
      const other = freshUrl(provider, 'second');
      const first = await openRecordStore({ databaseUrl: other });
      expect(first.migrationsApplied.length).toBeGreaterThan(0);
      await first.close();
      const again = await openRecordStore({ databaseUrl: other });
      expect(again.migrationsApplied).toEqual([]);
      await again.close();
    }, 60_000);

    it('upgrades a database of an earlier cutover on open, keeping its runs', async () => {
      // A store from before step attempts recorded their worker: the newest migration taken back out.
      const url = freshUrl(provider, 'upgraded');
      const earlier = await openRecordStore({ databaseUrl: url });
      const { runId } = await earlier.reserveRun(reservation('upgrade'));
      await earlier.recordStepAttempt(stepAttempt(runId));
      await earlier.close();
      await rawSql(url, [
        'ALTER TABLE "StepRun" DROP COLUMN "worker"',
        `DELETE FROM _prisma_migrations WHERE migration_name LIKE '%_step_worker'`,
      ]);

      const upgraded = await openRecordStore({ databaseUrl: url });
      try {
        expect(upgraded.migrationsApplied).toEqual([expect.stringMatching(/_step_worker$/)]);
        await upgraded.recordStepAttempt(stepAttempt(runId, { attempt: 2, worker: 'db-1' }));
        const detail = await upgraded.getRun(runId);
        expect(detail.steps.map((s) => [s.attempt, s.worker])).toEqual([
          [1, null],
          [2, 'db-1'],
        ]);
      } finally {
        await upgraded.close();
      }
    }, 60_000);

    itOn('postgresql')(
      'is created and migrated once when several processes open a fresh database at once',
      async () => {
        // Machines starting together on an empty server: the database is created by one (the others see
        // it exist), and Prisma's advisory lock lets one `migrate deploy` apply each migration.
        const storeModule = pathToFileURL(path.join(projectRoot, 'dist', 'prisma', 'store.js')).href;
        const script = `
      const { openRecordStore } = await import(${JSON.stringify(storeModule)});
      const store = await openRecordStore({ databaseUrl: process.env.URL });
      await store.reserveRun({ runbookName: 'fresh', mode: 'rehearsal', runbookVersion: '1', versionHash: 'h', runbookSource: '', startedBy: 'x' });
      await store.close();
    `;
        const url = freshUrl(provider, 'opened_at_once');
        const results = await Promise.all(
          Array.from(
            { length: 3 },
            () =>
              new Promise<{ code: number | null; out: string }>((resolve) => {
                const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
                  cwd: projectRoot,
                  env: { ...process.env, URL: url },
                  stdio: ['ignore', 'pipe', 'pipe'],
                });
                let out = '';
                child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
                child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
                child.on('close', (code) => resolve({ code, out }));
              }),
          ),
        );
        expect(results).toEqual(Array.from({ length: 3 }, () => ({ code: 0, out: '' })));
        const after = await openRecordStore({ databaseUrl: url });
        expect(after.migrationsApplied).toEqual([]);
        expect((await after.listRuns({ runbookName: 'fresh' })).map((run) => run.number).sort()).toEqual([1, 2, 3]);
        await after.close();
      },
      90_000,
    );

    it('has migrations that match its schema', async () => {
      // Catches a schema change committed without its migration (see the recipe in prisma/schema.prisma).
      // On PostgreSQL the diff replays the migrations into a shadow database it creates next to the
      // store's (which must exist: Prisma does not create it), and drops afterwards.
      const result = spawnSync(
        process.execPath,
        [
          'scripts/prisma.mjs',
          'migrate',
          'diff',
          '--from-migrations',
          files.migrations,
          '--to-schema-datamodel',
          files.schema,
          '--exit-code',
        ],
        {
          cwd: projectRoot,
          encoding: 'utf8',
          env: { ...process.env, CUTOVER_DATABASE_URL: provider === 'sqlite' ? freshUrl(provider, 'diff') : databaseUrl },
        },
      );
      expect(result.stdout + result.stderr).toContain('No difference detected');
      expect(result.status).toBe(0);
      if (provider === 'postgresql') {
        // The shadow database is gone again (Prisma's adapter would leave it behind).
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE '%shadow%'");
        await client.end();
        expect(rows).toEqual([]);
      }
    }, 60_000);

    it('shares one connection per file within a process', async () => {
      const second = await openRecordStore({ databaseUrl });
      expect(second.migrationsApplied).toEqual([]);
      const { runId } = await second.reserveRun(reservation('shared-connection'));
      await second.close();
      // Closing one store leaves the other working.
      expect((await store.getRun(runId)).status).toBe('pending');
    });

    itOn('sqlite')('refuses a file that is not a database, naming it', async () => {
      const notADatabase = path.join(dir, 'notes.db');
      writeFileSync(notADatabase, 'These are the cutover notes, not a database.\n'.repeat(100));
      const opening = openRecordStore({ databaseUrl: `file:${notADatabase}` });
      await expect(opening).rejects.toBeInstanceOf(StoreNotADatabaseError);
      await expect(opening).rejects.toBeInstanceOf(StoreError);
      await expect(opening).rejects.toThrow(notADatabase);
    });

    itOn('sqlite')('refuses a path whose folder cannot be created, naming it', async () => {
      const aFile = path.join(dir, 'a-file');
      writeFileSync(aFile, '');
      const impossible = path.join(aFile, 'sub', 'cutover.db');
      const opening = openRecordStore({ databaseUrl: `file:${impossible}` });
      await expect(opening).rejects.toBeInstanceOf(StoreNotWritableError);
      await expect(opening).rejects.toThrow(impossible);
    });
  });

  describe('run numbers', () => {
    it('increase per runbook and are independent across runbooks', async () => {
      const a1 = await store.reserveRun(reservation('numbers-a'));
      const a2 = await store.reserveRun(reservation('numbers-a'));
      const b1 = await store.reserveRun(reservation('numbers-b'));
      const a3 = await store.reserveRun(reservation('numbers-a'));
      expect([a1, a2, a3]).toEqual([
        { runId: 'numbers-a-1', number: 1 },
        { runId: 'numbers-a-2', number: 2 },
        { runId: 'numbers-a-3', number: 3 },
      ]);
      expect(b1).toEqual({ runId: 'numbers-b-1', number: 1 });
    });

    it('stay distinct when reserved concurrently', async () => {
      const reserved = await Promise.all(Array.from({ length: 12 }, () => store.reserveRun(reservation('numbers-concurrent'))));
      const numbers = reserved.map((r) => r.number).sort((x, y) => x - y);
      expect(numbers).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    });

    itOn('sqlite')(
      'stay distinct while another process allocates numbers on the same file',
      async () => {
        // Another process (a worker, a second CLI) is simulated by a thread with its own SQLite connection
        // that allocates numbers the same way, max + 1 in a transaction, as fast as it can. A thread, not a
        // second store in this thread: better-sqlite3 waits for locks synchronously, so two connections in
        // one thread would wait on each other (which is why openRecordStore shares one per file).
        const runner = new Worker(
          `
      const { workerData, parentPort } = require('node:worker_threads');
      const Database = require(workerData.betterSqlite3);
      const db = new Database(workerData.file, { timeout: 5000 });
      const allocate = db.transaction(() => {
        const { n } = db.prepare('SELECT COALESCE(MAX("number"), 0) AS n FROM "Run" WHERE "runbookName" = ?').get('numbers-race');
        const number = n + 1;
        db.prepare('INSERT INTO "Run" ("id", "runbookName", "number", "mode", "status", "runbookVersion", "versionHash", "runbookSource", "startedBy", "createdAt") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run('numbers-race-' + number, 'numbers-race', number, 'rehearsal', 'pending', '1', 'h', '', 'other', new Date().toISOString());
        return number;
      });
      const numbers = [];
      parentPort.postMessage('ready');
      for (let i = 0; i < 25; i++) numbers.push(allocate.immediate());
      parentPort.postMessage(numbers);
      db.close();
      `,
          { eval: true, workerData: { file: store.databasePath, betterSqlite3: require.resolve('better-sqlite3') } },
        );
        const messages: unknown[] = [];
        const done = new Promise<number[]>((resolve, reject) => {
          runner.on('message', (message: unknown) => {
            messages.push(message);
            if (Array.isArray(message)) resolve(message as number[]);
          });
          runner.on('error', reject);
        });
        const ours: number[] = [];
        for (let i = 0; i < 25; i++) ours.push((await store.reserveRun(reservation('numbers-race'))).number);
        const theirs = await done;
        const all = [...ours, ...theirs].sort((x, y) => x - y);
        expect(all).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      },
      30_000,
    );

    itOn('postgresql')(
      'stay distinct while several processes reserve at once on the same database',
      async () => {
        // Other machines starting runs of the same runbook: processes of their own, each with its own
        // connection pool, through the built store (dist/, made by scripts/setup.mjs as `npm test` does).
        const storeModule = pathToFileURL(path.join(projectRoot, 'dist', 'prisma', 'store.js')).href;
        const script = `
      const { openRecordStore } = await import(${JSON.stringify(storeModule)});
      const store = await openRecordStore({ databaseUrl: process.env.URL });
      const input = { runbookName: 'numbers-processes', mode: 'rehearsal', runbookVersion: '1', versionHash: 'h', runbookSource: '', startedBy: 'other' };
      const numbers = await Promise.all(Array.from({ length: 15 }, () => store.reserveRun(input).then((r) => r.number)));
      await store.close();
      console.log(JSON.stringify(numbers));
    `;
        const others = Array.from({ length: 3 }, () => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
            cwd: projectRoot,
            env: { ...process.env, URL: databaseUrl },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
          child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
          return new Promise<number[]>((resolve, reject) =>
            child.on('close', (code) =>
              code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`a reserving process failed:\n${out}`)),
            ),
          );
        });
        const ours = await Promise.all(
          Array.from({ length: 15 }, () => store.reserveRun(reservation('numbers-processes')).then((r) => r.number)),
        );
        const all = [...ours, ...(await Promise.all(others)).flat()].sort((x, y) => x - y);
        expect(all).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      },
      60_000,
    );

    it('records the reservation as a pending run with its runbook text', async () => {
      const { runId } = await store.reserveRun(
        reservation('reserved', { plannedStart: '2025-03-01T20:00:00.000Z', windowMs: 4 * 3_600_000, mode: 'live' }),
      );
      const run = await store.getRun(runId);
      expect(run).toMatchObject({
        id: runId,
        runbookName: 'reserved',
        number: 1,
        mode: 'live',
        status: 'pending',
        runbookSource: 'name: reserved\nphases: []\n',
        plannedStart: '2025-03-01T20:00:00.000Z',
        windowMs: 14_400_000,
        startedAt: null,
        state: null,
        steps: [],
        decisions: [],
        checks: [],
      });
      expect(Number.isNaN(Date.parse(run.createdAt))).toBe(false);
    });
  });

  describe('discarding', () => {
    it('removes a reserved run that never started', async () => {
      const { runId } = await store.reserveRun(reservation('discard'));
      expect(await store.discardRun(runId)).toBe(true);
      expect(await store.findRun(runId)).toBeNull();
      // Its number is free again: nobody ever saw it.
      expect((await store.reserveRun(reservation('discard'))).runId).toBe(runId);
    });

    it('keeps a run that started, and ignores unknown ids', async () => {
      const { runId } = await store.reserveRun(reservation('discard-started'));
      await store.markRunStarted(runId, { startedAt: '2025-03-01T20:00:00.000Z', temporalRunId: 'temporal-1' });
      expect(await store.discardRun(runId)).toBe(false);
      expect(await store.getRun(runId)).toMatchObject({
        status: 'running',
        startedAt: '2025-03-01T20:00:00.000Z',
        temporalRunId: 'temporal-1',
      });
      expect(await store.discardRun('never-reserved-1')).toBe(false);
    });
  });

  describe('step attempts', () => {
    it('recording the same attempt twice leaves one row with the latest values', async () => {
      const { runId } = await store.reserveRun(reservation('steps'));
      await store.recordStepAttempt(stepAttempt(runId));
      const ended = { status: 'succeeded', endedAt: '2025-03-01T20:01:30.000Z', exitCode: 0, outputTail: 'frozen' } as const;
      await store.recordStepAttempt(stepAttempt(runId, ended));
      await store.recordStepAttempt(stepAttempt(runId, ended)); // an activity retry
      const { steps } = await store.getRun(runId);
      expect(steps).toHaveLength(1);
      expect(steps[0]).toMatchObject({
        stepId: 'freeze',
        attempt: 1,
        status: 'succeeded',
        startedAt: '2025-03-01T20:00:01.000Z',
        endedAt: '2025-03-01T20:01:30.000Z',
        exitCode: 0,
        outputTail: 'frozen',
        plannedDurationMs: 60_000,
      });
    });

    it('keeps attempts and back-outs apart, in the order they were recorded', async () => {
      const { runId } = await store.reserveRun(reservation('steps-attempts'));
      await store.recordStepAttempt(stepAttempt(runId, { status: 'failed', error: 'exit 1', exitCode: 1 }));
      await store.recordStepAttempt(stepAttempt(runId, { attempt: 2, status: 'succeeded' }));
      await store.recordStepAttempt(stepAttempt(runId, { purpose: 'backout', status: 'succeeded' }));
      const { steps } = await store.getRun(runId);
      expect(steps.map((s) => [s.purpose, s.attempt, s.status])).toEqual([
        ['forward', 1, 'failed'],
        ['forward', 2, 'succeeded'],
        ['backout', 1, 'succeeded'],
      ]);
      expect(steps[0]?.error).toBe('exit 1');
    });

    it('keeps plans longer than 24.8 days (a 32-bit column would refuse them): weeks of hypercare', async () => {
      const weeks = (n: number) => n * 7 * 24 * 3600 * 1000;
      const { runId } = await store.reserveRun(reservation('steps-long', { windowMs: weeks(8) }));
      await store.recordStepAttempt(stepAttempt(runId, { plannedStartMs: weeks(5), plannedDurationMs: weeks(6) }));
      const run = await store.getRun(runId);
      expect(run.windowMs).toBe(weeks(8));
      expect(run.steps[0]).toMatchObject({ plannedStartMs: weeks(5), plannedDurationMs: weeks(6) });
    });

    it('refuses an attempt for a run that was never reserved', async () => {
      await expect(store.recordStepAttempt(stepAttempt('ghost-1'))).rejects.toBeInstanceOf(RunNotFoundError);
    });
  });

  describe('checks and decisions', () => {
    it('records check results idempotently, by their index', async () => {
      const { runId } = await store.reserveRun(reservation('checks'));
      const checks: CheckOutcome[] = [
        { name: 'api up', kind: 'http', passed: true, detail: '200 OK', at: '2025-03-01T20:02:00.000Z' },
        { name: 'rows match', kind: 'sql', passed: false, detail: 'expected 120, got 118', at: '2025-03-01T20:02:01.000Z' },
      ];
      await store.recordCheckResults(runId, 'freeze', 1, checks);
      await store.recordCheckResults(runId, 'freeze', 1, checks);
      const run = await store.getRun(runId);
      expect(run.checks).toEqual(checks.map((check, seq) => ({ ...check, stepId: 'freeze', attempt: 1, seq })));
    });

    it('keeps the decision log in order, and a retried decision once', async () => {
      const { runId } = await store.reserveRun(reservation('decisions'));
      const approve: Decision = {
        kind: 'approve',
        by: 'cfo@example.com',
        role: 'finance',
        target: 'go-no-go',
        reason: 'reconciliation clean',
        at: '2025-03-01T21:00:00.000Z',
        automatic: false,
      };
      const backout: Decision = {
        kind: 'request_backout',
        by: 'lead@example.com',
        role: 'lead',
        at: '2025-03-01T21:05:00.000Z',
        automatic: false,
      };
      // Out of order and retried, as activities may deliver them.
      await store.recordDecision(runId, 1, backout);
      await store.recordDecision(runId, 0, approve);
      await store.recordDecision(runId, 1, backout);
      const { decisions } = await store.getRun(runId);
      expect(decisions).toEqual([
        { seq: 0, ...approve },
        { seq: 1, ...backout },
      ]);
    });

    it('keeps who sent each request beside the log, not in its entries', async () => {
      const { runId } = await store.reserveRun(reservation('senders'));
      const vote = (by: string, updateId?: string): Decision => ({
        kind: 'approve',
        by,
        role: 'business',
        target: 'go',
        at: '2025-03-01T21:00:00.000Z',
        automatic: false,
        ...(updateId ? { updateId } : {}),
      });
      await store.recordDecision(runId, 0, vote('dana', 'update-a'));
      await store.recordDecision(runId, 1, vote('erin'));
      await store.recordDecision(runId, 2, vote('frank', 'update-c'));
      // Senders of Updates the log does not know (another run's, a refused one) change nothing.
      await store.recordSenders(runId, { 'update-a': '4242@dana-laptop', 'update-c': '77@jump-host', 'update-x': '1@elsewhere' });
      const run = await store.getRun(runId);
      expect(run.senders).toEqual({ 0: '4242@dana-laptop', 2: '77@jump-host' });
      // The entries are what the run decided (and hashed), unchanged.
      expect(run.decisions).toEqual([
        { seq: 0, ...vote('dana', 'update-a') },
        { seq: 1, ...vote('erin') },
        { seq: 2, ...vote('frank', 'update-c') },
      ]);
    });
  });

  describe('reconciliations', () => {
    const result = (mismatched: number): ReconcileResult => ({
      matched: 3_000_000_000,
      missing_in_target: 0,
      extra_in_target: 2,
      mismatched,
      duplicate_keys: { source: 0, target: 1 },
      null_keys: { source: 0, target: 0 },
      columns: [{ source: 'email', target: 'mail', mismatched }],
      examples: [{ kind: 'extra_in_target', key: { id: 'ü-7' }, columns: ['mail'], source: null, target: { mail: 'x@example.com' } }],
      key_examples: [],
      rows_read: { source: 3_000_000_000, target: 3_000_000_002 },
      sampled: false,
      sample: null,
      target_columns_not_compared: [],
      within_limits: mismatched === 0,
      limit_violations: [],
      seconds: 12.5,
    });
    const at = (minute: number) => `2025-03-01T20:0${minute}:00.000Z`;

    it('records each round once, keeps counts past 2^31 exactly, and reads them back by step, attempt and check', async () => {
      const { runId } = await store.reserveRun(reservation('reconciliations'));
      const record = (check: string, round: number, mismatched: number) =>
        store.recordReconcileResult({
          runId,
          stepId: 'compare',
          attempt: 1,
          check,
          round,
          startedAt: at(round),
          endedAt: at(round + 1),
          result: result(mismatched),
        });
      await record('', 1, 0);
      await record('hypercare', 1, 0);
      await record('hypercare', 2, 5);
      // A retried activity writes the same round again: still one row, with the latest values.
      await record('hypercare', 2, 7);
      const rounds = await store.reconcileResults(runId, { stepId: 'compare', check: 'hypercare' });
      expect(rounds.map((r) => [r.round, r.result.mismatched, r.startedAt])).toEqual([
        [1, 0, at(1)],
        [2, 7, at(2)],
      ]);
      const all = await store.reconcileResults(runId);
      expect(all).toHaveLength(3);
      expect(all[0]!.result).toEqual(result(0));
      // Written to the BIGINT count columns too (an INTEGER column would refuse 3,000,000,000 on PostgreSQL).
      expect(all[0]!.result.matched).toBe(3_000_000_000);
      expect(await store.reconcileResults(runId, { attempt: 2 })).toEqual([]);
    });

    it("filters by step, attempt and check (the action is check ''), and goes with a discarded run", async () => {
      const { runId } = await store.reserveRun(reservation('reconcile-filters'));
      const record = (stepId: string, attempt: number, check: string) =>
        store.recordReconcileResult({ runId, stepId, attempt, check, round: 1, startedAt: at(1), endedAt: at(2), result: result(attempt) });
      await record('compare', 1, '');
      await record('compare', 2, '');
      await record('compare', 2, 'orders agree');
      await record('verify', 1, '');
      const keys = (rows: { stepId: string; attempt: number; check: string }[]) => rows.map((r) => `${r.stepId}/${r.attempt}/${r.check}`);
      expect(keys(await store.reconcileResults(runId, { stepId: 'compare' }))).toEqual([
        'compare/1/',
        'compare/2/',
        'compare/2/orders agree',
      ]);
      expect(keys(await store.reconcileResults(runId, { stepId: 'compare', attempt: 2, check: '' }))).toEqual(['compare/2/']);
      expect(keys(await store.reconcileResults(runId, { check: 'orders agree' }))).toEqual(['compare/2/orders agree']);
      expect(keys(await store.reconcileResults(runId, { stepId: 'verify' }))).toEqual(['verify/1/']);
      expect(await store.reconcileResults(runId, { stepId: 'nope' })).toEqual([]);
      expect(await store.reconcileResults('no-such-run-3')).toEqual([]);
      // A run reserved but never started is deleted whole: its results go with it (ON DELETE CASCADE).
      expect(await store.discardRun(runId)).toBe(true);
      expect(await store.reconcileResults(runId)).toEqual([]);
    });

    it('refuses a result for a run it does not know', async () => {
      await expect(
        store.recordReconcileResult({
          runId: 'ghost-1',
          stepId: 's',
          attempt: 1,
          check: '',
          round: 1,
          startedAt: at(1),
          endedAt: at(2),
          result: result(0),
        }),
      ).rejects.toThrow(RunNotFoundError);
    });
  });

  describe('run state', () => {
    it('finishRun then getRun returns the final snapshot and back-out', async () => {
      const { runId } = await store.reserveRun(reservation('finish'));
      await store.markRunStarted(runId, { startedAt: '2025-03-01T20:00:00.000Z' });
      const backingOut = runState(runId, {
        status: 'backing_out',
        backout: {
          status: 'running',
          trigger: 'gate_rejected',
          reason: 'sample did not reconcile',
          requestedBy: 'cfo@example.com',
          requestedAt: '2025-03-01T21:00:00.000Z',
          startedAt: '2025-03-01T21:00:01.000Z',
        },
      });
      await store.recordRunState(runId, backingOut);
      expect(await store.getRun(runId)).toMatchObject({ status: 'backing_out', backoutTrigger: 'gate_rejected' });

      const final = runState(runId, {
        status: 'backed_out',
        endedAt: '2025-03-01T21:30:00.000Z',
        outcome: 'Backed out after finance rejected the go/no-go gate.',
        backout: { ...backingOut.backout, status: 'completed', endedAt: '2025-03-01T21:29:00.000Z' },
      });
      await store.finishRun(runId, {
        status: 'backed_out',
        outcome: final.outcome ?? '',
        endedAt: '2025-03-01T21:30:00.000Z',
        state: final,
      });
      // A late retry of an earlier state must not reopen a finished run.
      await store.recordRunState(runId, backingOut);

      const run = await store.getRun(runId);
      expect(run.state).toEqual(final);
      expect(run).toMatchObject({
        status: 'backed_out',
        outcome: 'Backed out after finance rejected the go/no-go gate.',
        startedAt: '2025-03-01T20:00:00.000Z',
        endedAt: '2025-03-01T21:30:00.000Z',
        backoutTrigger: 'gate_rejected',
        backoutReason: 'sample did not reconcile',
        backoutRequestedBy: 'cfo@example.com',
        backoutStartedAt: '2025-03-01T21:00:01.000Z',
        backoutEndedAt: '2025-03-01T21:29:00.000Z',
      });
    });

    it('a state recorded before markRunStarted starts the run, and the status is not set back', async () => {
      const { runId } = await store.reserveRun(reservation('state-first'));
      await store.recordRunState(runId, runState(runId, { status: 'waiting' }));
      await store.markRunStarted(runId, { startedAt: '2025-03-01T20:00:00.000Z' });
      expect(await store.getRun(runId)).toMatchObject({ status: 'waiting', startedAt: '2025-03-01T20:00:00.000Z' });
      expect(await store.discardRun(runId)).toBe(false);
    });
  });

  describe('reading', () => {
    it('getRun on an unknown id throws RunNotFoundError; findRun returns null', async () => {
      await expect(store.getRun('no-such-run-9')).rejects.toBeInstanceOf(RunNotFoundError);
      await expect(store.getRun('no-such-run-9')).rejects.toThrow('no-such-run-9');
      expect(await store.findRun('no-such-run-9')).toBeNull();
    });

    it('lists runs newest first, optionally for one runbook and limited', async () => {
      const first = await store.reserveRun(reservation('listing'));
      const other = await store.reserveRun(reservation('listing-other'));
      const second = await store.reserveRun(reservation('listing'));
      expect((await store.listRuns({ runbookName: 'listing' })).map((r) => r.id)).toEqual([second.runId, first.runId]);
      expect((await store.listRuns({ limit: 2 })).map((r) => r.id)).toEqual([second.runId, other.runId]);
      const [listed] = await store.listRuns({ runbookName: 'listing', limit: 1 });
      expect(listed).not.toHaveProperty('runbookSource');
      expect(listed).not.toHaveProperty('state');
    });

    it("reads a runbook's runs back for timing review: one timing per step and purpose, attempts folded", async () => {
      const first = await store.reserveRun(reservation('timing'));
      const second = await store.reserveRun(reservation('timing'));
      await store.reserveRun(reservation('timing-other'));
      // freeze: failed at its first attempt, succeeded at its second; its undo ran in the back-out.
      await store.recordStepAttempt(
        stepAttempt(second.runId, { status: 'failed', startedAt: '2025-03-01T20:00:00.000Z', endedAt: '2025-03-01T20:01:00.000Z' }),
      );
      await store.recordStepAttempt(
        stepAttempt(second.runId, {
          attempt: 2,
          status: 'succeeded',
          startedAt: '2025-03-01T20:02:00.000Z',
          endedAt: '2025-03-01T20:05:00.000Z',
        }),
      );
      await store.recordStepAttempt(
        stepAttempt(second.runId, {
          purpose: 'backout',
          status: 'succeeded',
          startedAt: '2025-03-01T20:10:00.000Z',
          endedAt: '2025-03-01T20:10:30.000Z',
        }),
      );
      await store.recordStepAttempt(stepAttempt(first.runId, { stepId: 'copy', status: 'running', endedAt: null }));

      const runs = await store.runbookRuns('timing');
      expect(runs.map((r) => r.id)).toEqual([second.runId, first.runId]);
      expect(await store.runbookRuns('timing', 1)).toHaveLength(1);
      const [timed, older] = await store.runTimings(runs);
      expect(timed!.steps).toEqual([
        {
          stepId: 'freeze',
          phaseId: 'prepare',
          purpose: 'forward',
          attempts: 2,
          status: 'succeeded',
          treatment: 'run',
          startedAt: '2025-03-01T20:00:00.000Z',
          endedAt: '2025-03-01T20:05:00.000Z',
          durationMs: 300_000,
          plannedDurationMs: 60_000,
        },
        expect.objectContaining({ stepId: 'freeze', purpose: 'backout', attempts: 1, durationMs: 30_000 }),
      ]);
      expect(older!.steps).toEqual([expect.objectContaining({ stepId: 'copy', status: 'running', endedAt: null, durationMs: null })]);
      expect(await store.latestRunbookSource('timing')).toEqual({ runId: second.runId, source: reservation('timing').runbookSource });
      expect(await store.latestRunbookSource('no-such-runbook')).toBeNull();
    });

    it('returns plain JSON values, not Prisma or Date objects', async () => {
      const { runId } = await store.reserveRun(reservation('plain'));
      await store.recordStepAttempt(stepAttempt(runId));
      const run = await store.getRun(runId);
      expect(JSON.parse(JSON.stringify(run))).toEqual(run);
    });
  });
});
