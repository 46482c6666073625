/**
 * The record store against real databases through Prisma, the same suite for each provider: a fresh
 * SQLite file, and a fresh database on a real PostgreSQL server started by this file
 * (test/support/postgres.ts). `openRecordStore` creates each and applies the committed migrations the way a
 * new clone would.
 * This file: opening (migrations, errors), run numbers and discarding; store-records.test.ts: what runs record.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS, rawSql, reservation, stepAttempt, useStoreDatabases } from './support/store-fixtures.js';
import { findProjectRoot } from '../prisma/paths.js';
import type { RecordStore } from '../prisma/record-store.js';
import { StoreError, StoreNotADatabaseError, StoreNotWritableError } from '../prisma/store-errors.js';
import { openRecordStore } from '../prisma/store.js';

const projectRoot = findProjectRoot();

const { freshUrl, migratedUrl, dir } = useStoreDatabases();

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
        expect.stringMatching(/_deliveries$/),
        expect.stringMatching(/_run_auto_approve$/),
        expect.stringMatching(/_notification_events$/),
        expect.stringMatching(/_run_state_revision$/),
        expect.stringMatching(/_web_people$/),
        expect.stringMatching(/_run_base_dir$/),
      ]);
      expect(store.provider).toBe(provider);
      if (provider === 'sqlite') expect(store.databasePath).toBe(path.join(dir(), provider, 'nested', 'cutover.db'));

      // Another process finds a database that Prisma migrated (the test run's template, copied) up to date.
      const other = await migratedUrl(provider, 'second');
      const again = await openRecordStore({ databaseUrl: other });
      expect(again.migrationsApplied).toEqual([]);
      await again.close();
    }, 60_000);

    it('upgrades a database of an earlier cutover on open, keeping its runs', async () => {
      // A store from before step attempts recorded their worker: the newest migration taken back out.
      const url = await migratedUrl(provider, 'upgraded');
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
      const notADatabase = path.join(dir(), 'notes.db');
      writeFileSync(notADatabase, 'These are the cutover notes, not a database.\n'.repeat(100));
      const opening = openRecordStore({ databaseUrl: `file:${notADatabase}` });
      await expect(opening).rejects.toBeInstanceOf(StoreNotADatabaseError);
      await expect(opening).rejects.toBeInstanceOf(StoreError);
      await expect(opening).rejects.toThrow(notADatabase);
    });

    itOn('sqlite')('refuses a path whose folder cannot be created, naming it', async () => {
      const aFile = path.join(dir(), 'a-file');
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

    it('keep what the run was reserved as, which its start is checked against', async () => {
      const { runId } = await store.reserveRun({ ...reservation('reserved-as'), autoApprove: true, baseDir: '/srv/cutover/crm' });
      expect(await store.runReservation(runId)).toEqual({
        mode: 'rehearsal',
        versionHash: 'sha256:abc',
        autoApprove: true,
        status: 'pending',
        baseDir: '/srv/cutover/crm',
      });
      const plain = await store.reserveRun(reservation('reserved-as'));
      expect(await store.runReservation(plain.runId)).toMatchObject({ autoApprove: false, baseDir: null });
      await expect(store.runReservation('reserved-as-99')).rejects.toMatchObject({ name: 'RunNotFoundError' });
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
});
