/**
 * `sql` actions and checks on a PostgreSQL connection, against a real server started by this file (with password
 * authentication): statements run, expectations compare, a read-only connection refuses writes, a statement past its
 * timeout is stopped on the server too, and the password (a reference) never shows in what a step reports.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionContext } from '../activities/action-context.js';
import { performAction } from '../activities/actions.js';
import { createStepActivities } from '../activities/steps.js';
import type { StepRequest } from '../activities/types.js';
import { reconcileAction, type Connection } from '../runbook/schema.js';
import { MemoryStore } from './support/memory-store.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';
import { sqliteFile } from './support/reconcile-data.js';

const PASSWORD = 'pg-step-secret';
let postgres: TestPostgres;
const dir = mkdtempSync(path.join(tmpdir(), 'cutover-act-pg-'));

beforeAll(async () => {
  postgres = await startPostgres({ password: PASSWORD });
  const client = new pg.Client({ connectionString: postgres.url('postgres') });
  await client.connect();
  await client.query('CREATE DATABASE crm');
  await client.end();
  const crm = new pg.Client({ connectionString: postgres.url('crm') });
  await crm.connect();
  await crm.query(`CREATE TABLE settings (key text PRIMARY KEY, value text); INSERT INTO settings VALUES ('mode', 'read-write')`);
  await crm.query(
    `CREATE TABLE customers (id int PRIMARY KEY, balance numeric(12,2)); INSERT INTO customers SELECT g, g * 1.5 FROM generate_series(1, 40) g`,
  );
  await crm.end();
}, 60_000);

afterAll(async () => {
  await postgres?.stop();
});

const connection = (readonly = false, url = postgres.url('crm')): Connection => ({ driver: 'postgres', url, readonly });
const ctx = (connections: Record<string, Connection>, timeoutMs = 10_000): ActionContext => ({
  baseDir: dir,
  connections,
  env: {},
  timeoutMs,
});

describe('sql on PostgreSQL', () => {
  it('runs a change, then a check of its value, count and bounds', async () => {
    const on = ctx({ crm: connection() });
    const change = await performAction(
      { kind: 'sql', connection: 'crm', query: "UPDATE settings SET value = 'read-only' WHERE key = 'mode'" },
      on,
    );
    expect(change).toMatchObject({ ok: true, detail: '1 row(s) changed' });
    const value = await performAction(
      { kind: 'sql', connection: 'crm', query: "SELECT value FROM settings WHERE key = 'mode'", expect: { value: 'read-only' } },
      on,
    );
    expect(value).toMatchObject({ ok: true, detail: 'value "read-only"' });
    // numeric and bigint come back as text from PostgreSQL: compared as numbers, the way people mean them.
    const count = await performAction(
      { kind: 'sql', connection: 'crm', query: 'SELECT count(*) FROM customers', expect: { value: 40 } },
      on,
    );
    expect(count.ok, count.detail).toBe(true);
    const total = await performAction(
      { kind: 'sql', connection: 'crm', query: 'SELECT sum(balance) FROM customers', expect: { min: 1000, max: 1300 } },
      on,
    );
    expect(total.ok, total.detail).toBe(true);
    const wrong = await performAction({ kind: 'sql', connection: 'crm', query: 'SELECT count(*) FROM customers', expect: { rows: 2 } }, on);
    expect(wrong).toMatchObject({ ok: false, detail: '1 row(s), expected 2' });
  });

  it('a read-only connection refuses a write, and the data is unchanged', async () => {
    const result = await performAction(
      { kind: 'sql', connection: 'ro', query: 'DELETE FROM customers' },
      ctx({ ro: connection(true), crm: connection() }),
    );
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/query on ro failed: cannot execute DELETE in a read-only transaction/);
    const count = await performAction(
      { kind: 'sql', connection: 'crm', query: 'SELECT count(*) FROM customers', expect: { value: 40 } },
      ctx({ crm: connection() }),
    );
    expect(count.ok).toBe(true);
  });

  it('stops a statement past its timeout, on the server too', async () => {
    const started = Date.now();
    const result = await performAction({ kind: 'sql', connection: 'crm', query: 'SELECT pg_sleep(60)' }, ctx({ crm: connection() }, 1_000));
    expect(result).toMatchObject({ ok: false, detail: 'query on crm timed out after 1s and was stopped' });
    // Well short of the statement's 60 s, with room for a busy machine.
    expect(Date.now() - started).toBeLessThan(15_000);
    // Nothing is left running in the database.
    const admin = new pg.Client({ connectionString: postgres.url('crm') });
    await admin.connect();
    try {
      let left = 1;
      for (let i = 0; i < 30 && left > 0; i += 1) {
        const { rows } = await admin.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' AND state = 'active'",
        );
        left = Number(rows[0]!.n);
        if (left > 0) await new Promise((r) => setTimeout(r, 200));
      }
      expect(left).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it('a server it cannot reach fails the step, naming the connection, with the password as ***', async () => {
    const url = `postgresql://postgres:${PASSWORD}@127.0.0.1:1/crm`;
    const result = await performAction({ kind: 'sql', connection: 'crm', query: 'SELECT 1' }, ctx({ crm: connection(false, url) }));
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/^cannot open crm \(postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/crm\): .*ECONNREFUSED/);
    expect(result.detail).not.toContain(PASSWORD);
  });

  it('takes the password from a reference, resolved on the worker, and never reports it', async () => {
    const saved = process.env.CRM_DB_PASSWORD;
    process.env.CRM_DB_PASSWORD = PASSWORD;
    try {
      const url = postgres.url('crm').replace(`:${PASSWORD}@`, ':${env:CRM_DB_PASSWORD}@');
      expect(url).toContain('${env:CRM_DB_PASSWORD}');
      const store = new MemoryStore();
      const { runStep } = createStepActivities({ store });
      const request: StepRequest = {
        runId: 'r-1',
        stepId: 'count',
        phaseId: 'p',
        title: 'Count',
        owner: 'dba',
        kind: 'sql',
        mode: 'rehearsal',
        purpose: 'forward',
        treatment: 'run',
        // The failing query makes PostgreSQL quote the statement, which holds the password: the step masks it.
        action: { kind: 'sql', connection: 'crm', query: `SELECT '${'${env:CRM_DB_PASSWORD}'}'::int` },
        checks: [{ name: 'customers', kind: 'sql', connection: 'crm', query: 'SELECT count(*) FROM customers', expect: { value: 40 } }],
        baseDir: dir,
        connections: { crm: connection(false, url) },
        idempotencyKey: 'r-1/count',
        attemptOffset: 0,
        maxAttempts: 1,
        timeoutMs: 10_000,
        plannedStartMs: 0,
        plannedDurationMs: 1000,
      };
      const failed = await runStep(request);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/invalid input syntax for type integer: "\[secret env:CRM_DB_PASSWORD\]"/);
      const passed = await runStep({ ...request, action: { kind: 'sql', connection: 'crm', query: 'SELECT 1' } });
      expect(passed.status, passed.error).toBe('succeeded');
      expect(passed.checks).toMatchObject([{ name: 'customers', passed: true }]);
      expect(JSON.stringify([failed, passed, store.attempts, store.checks])).not.toContain(PASSWORD);
    } finally {
      if (saved === undefined) delete process.env.CRM_DB_PASSWORD;
      else process.env.CRM_DB_PASSWORD = saved;
    }
  });

  it('reconciles PostgreSQL with SQLite in a step, recording the result, with the password from a reference', async () => {
    const saved = process.env.CRM_DB_PASSWORD;
    process.env.CRM_DB_PASSWORD = PASSWORD;
    try {
      sqliteFile(dir, 'legacy.db', 'CREATE TABLE customers (id INTEGER PRIMARY KEY, balance REAL)', [
        ...Array.from({ length: 40 }, (_, i) => [i + 1, (i + 1) * 1.5]),
        [41, 0],
      ]);
      const url = postgres.url('crm').replace(`:${PASSWORD}@`, ':${env:CRM_DB_PASSWORD}@');
      const store = new MemoryStore();
      const { runStep } = createStepActivities({ store });
      const action = reconcileAction.parse({
        kind: 'reconcile',
        source: { connection: 'legacy', table: 'customers' },
        target: { connection: 'crm', table: 'customers' },
        key: [{ column: 'id', type: 'integer' }],
        columns: { balance: { type: 'number' } },
        limits: { max_missing: 1 },
      });
      const request: StepRequest = {
        runId: 'r-2',
        stepId: 'compare',
        phaseId: 'p',
        title: 'Compare',
        owner: 'dba',
        kind: 'reconcile',
        mode: 'rehearsal',
        purpose: 'forward',
        treatment: 'run',
        action,
        checks: [],
        baseDir: dir,
        connections: { crm: connection(true, url), legacy: { driver: 'sqlite', path: 'legacy.db', readonly: true } },
        idempotencyKey: 'r-2/compare',
        attemptOffset: 0,
        maxAttempts: 1,
        timeoutMs: 60_000,
        plannedStartMs: 0,
        plannedDurationMs: 1000,
      };
      const outcome = await runStep(request);
      expect(outcome.status, outcome.error).toBe('succeeded');
      expect(outcome.reconcile).toMatchObject({ matched: 40, missing_in_target: 1, mismatched: 0, within_limits: true });
      expect(store.reconciliations).toHaveLength(1);
      expect(store.reconciliations[0]).toMatchObject({ runId: 'r-2', stepId: 'compare', attempt: 1, check: '', round: 1 });
      expect(store.reconciliations[0]!.result.examples).toMatchObject([{ kind: 'missing_in_target', key: { id: 41 } }]);

      // A wrong password names the side and the server, never the password.
      process.env.CRM_DB_PASSWORD = 'not-the-password';
      const refused = await runStep({ ...request, attemptOffset: 1 });
      expect(refused.status).toBe('failed');
      expect(refused.error).toMatch(
        /^cannot connect to the target \(PostgreSQL at 127\.0\.0\.1:\d+\/crm\): password authentication failed/,
      );
      expect(JSON.stringify([outcome, refused, store.attempts, store.reconciliations])).not.toMatch(/pg-step-secret|not-the-password/);
    } finally {
      if (saved === undefined) delete process.env.CRM_DB_PASSWORD;
      else process.env.CRM_DB_PASSWORD = saved;
    }
  });
});
