/**
 * The `reconcile` action and check as a worker runs them: real SQLite and CSV files, the
 * comparison in its own process, results in a store, rounds of a repeating check with drift,
 * a check resumed after a worker stop, and every way a comparison can end without a result.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ActionContext, ReconcileLog } from '../activities/action-context.js';
import { performAction } from '../activities/actions.js';
import { runChecks } from '../activities/checks.js';
import type { ReconcileRecord } from '../prisma/records.js';
import type { ReconcileResult } from '../reconcile/result.js';
import { check as checkSchema, reconcileAction, type Connection } from '../runbook/schema.js';
import { csvFile, scratch, sqliteFile } from './support/reconcile-data.js';

const DDL = 'CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, balance REAL)';
const ROWS = Array.from({ length: 50 }, (_, i) => [i + 1, `c${i + 1}@example.com`, (i + 1) * 10]);

/** A folder with old.db and new.db holding the same 50 customers, and the runbook connections naming them. */
function systems(): { dir: string; connections: Record<string, Connection> } {
  const dir = scratch();
  sqliteFile(dir, 'old.db', DDL, ROWS);
  sqliteFile(dir, 'new.db', DDL, ROWS);
  return {
    dir,
    connections: {
      old: { driver: 'sqlite', path: 'old.db', readonly: true },
      new: { driver: 'sqlite', path: 'new.db', readonly: false },
    },
  };
}

function change(dir: string, sql: string): void {
  const db = new Database(path.join(dir, 'new.db'));
  db.exec(sql);
  db.close();
}

/** A store of one attempt's reconciliations, in memory. */
class MemoryLog implements ReconcileLog {
  readonly records: ReconcileRecord[] = [];
  async record(check: string, round: number, startedAt: string, result: ReconcileResult): Promise<void> {
    const at = this.records.findIndex((r) => r.check === check && r.round === round);
    const record = { runId: 'r', stepId: 's', attempt: 1, check, round, startedAt, endedAt: new Date().toISOString(), result };
    if (at >= 0) this.records[at] = record;
    else this.records.push(record);
  }
  async rounds(check: string): Promise<ReconcileRecord[]> {
    return this.records.filter((r) => r.check === check);
  }
}

function context(
  dir: string,
  connections: Record<string, Connection>,
  extra: Partial<ActionContext> = {},
): ActionContext & { reconciliations: MemoryLog } {
  return { baseDir: dir, connections, env: {}, timeoutMs: 60_000, reconciliations: new MemoryLog(), ...extra } as ActionContext & {
    reconciliations: MemoryLog;
  };
}

const action = (body: Record<string, unknown>) =>
  reconcileAction.parse({
    kind: 'reconcile',
    source: { connection: 'old', table: 'customers' },
    target: { connection: 'new', table: 'customers' },
    key: [{ column: 'id', type: 'integer' }],
    ...body,
  });

describe('a reconcile action', () => {
  it('passes within the limits, records the full result and returns only the counts', async () => {
    const { dir, connections } = systems();
    change(dir, 'UPDATE customers SET email = upper(email) WHERE id = 7; DELETE FROM customers WHERE id = 9');
    const ctx = context(dir, connections);
    const result = await performAction(action({ columns: { email: { case: 'lower' } }, limits: { max_missing: 1 } }), ctx);
    expect(result.ok, result.detail).toBe(true);
    expect(result.detail).toBe('49 matched, 0 differ, 1 missing in the target, 0 only in the target; within limits');
    expect(result.reconcile).toMatchObject({ matched: 49, missing_in_target: 1, mismatched: 0, within_limits: true });
    // The workflow gets counts, never rows: a million differences must not become a payload.
    expect(Object.keys(result.reconcile!)).not.toContain('examples');
    // One comparison has no rounds.
    expect(result.reconcile!.round).toBeUndefined();
    expect(ctx.reconciliations.records).toHaveLength(1);
    expect(ctx.reconciliations.records[0]).toMatchObject({ check: '', round: 1 });
    expect(ctx.reconciliations.records[0]!.result.examples).toEqual([
      {
        kind: 'missing_in_target',
        key: { id: 9 },
        columns: ['email', 'balance'],
        source: { email: 'c9@example.com', balance: 90 },
        target: null,
      },
    ]);
  });

  it('fails outside the limits, naming each limit, with the first differing rows as its output', async () => {
    const { dir, connections } = systems();
    change(dir, 'UPDATE customers SET balance = balance + 0.5 WHERE id IN (3, 4); INSERT INTO customers VALUES (99, NULL, 0)');
    const ctx = context(dir, connections);
    const result = await performAction(action({ columns: { balance: { tolerance: { abs: 0.25 } } } }), ctx);
    expect(result.ok).toBe(false);
    expect(result.detail).toBe(
      '48 matched, 2 differ, 0 missing in the target, 1 only in the target; outside limits: 1 key only in the target (limit 0); 2 rows with differing values (limit 0)',
    );
    expect(result.outputTail!.split('\n')).toEqual([
      'mismatched         id=3  balance: 30 -> 30.5',
      'mismatched         id=4  balance: 40 -> 40.5',
      'extra in target    id=99',
    ]);
  });

  it('compares a CSV connection with a database one', async () => {
    const { dir, connections } = systems();
    csvFile(dir, 'export.csv', 'id;email;balance\n1;c1@example.com;10\n2;c2@example.com;20\n');
    const ctx = context(dir, {
      ...connections,
      export: { driver: 'csv', path: 'export.csv', delimiter: ';', quote: '"', encoding: 'utf-8', header: true },
    });
    const result = await performAction(
      action({
        source: { connection: 'export' },
        target: { connection: 'new', query: 'SELECT * FROM customers WHERE id <= 2' },
        columns: { balance: { type: 'number' } },
      }),
      ctx,
    );
    expect(result.detail).toBe('2 matched, 0 differ, 0 missing in the target, 0 only in the target; within limits');
  });

  it('says which side cannot be read, and records nothing', async () => {
    const { dir, connections } = systems();
    const ctx = context(dir, connections);
    const missingTable = await performAction(action({ target: { connection: 'new', table: 'clients' } }), ctx);
    expect(missingTable.ok).toBe(false);
    expect(missingTable.detail).toMatch(/^the target .*clients/);
    const missingFile = await performAction(
      action({}),
      context(dir, { ...connections, old: { driver: 'sqlite', path: 'gone.db', readonly: true } }),
    );
    expect(missingFile.detail).toMatch(/^the source .*gone\.db/);
    expect(ctx.reconciliations.records).toEqual([]);
  });

  it('stops a comparison that outlives its timeout, and one that is cancelled, without a result', async () => {
    const { dir, connections } = systems();
    const ctx = context(dir, connections);
    const slow = await performAction(action({ timeout: '1ms' }), ctx);
    expect(slow).toMatchObject({
      ok: false,
      detail: 'the comparison did not finish within 1ms and was stopped; nothing was recorded for it',
    });
    const stop = new AbortController();
    stop.abort();
    const cancelled = await performAction(action({}), { ...ctx, signal: stop.signal });
    expect(cancelled.detail).toBe('the comparison was cancelled and stopped; nothing was recorded for it');
    const stopping = await performAction(action({}), { ...ctx, signal: stop.signal, workerStopping: () => true });
    expect(stopping).toMatchObject({ ok: false, interrupted: true });
    expect(ctx.reconciliations.records).toEqual([]);
  });
});

describe('a reconcile check that repeats (hypercare)', () => {
  const hypercare = (repeat: { every: string; for: string }) =>
    checkSchema.parse({
      name: 'old and new agree',
      kind: 'reconcile',
      source: { connection: 'old', table: 'customers' },
      target: { connection: 'new', table: 'customers' },
      key: [{ column: 'id', type: 'integer' }],
      repeat,
    });

  it('compares every round while both systems agree, and records each round', async () => {
    const { dir, connections } = systems();
    const ctx = context(dir, connections);
    const [outcome] = await runChecks([hypercare({ every: '1s', for: '2s' })], ctx);
    expect(outcome).toMatchObject({ passed: true, reconcile: { round: 3, drift: 0, matched: 50 } });
    expect(outcome!.detail).toBe(
      '3 rounds every 1s for 2s, all within limits; last: 50 matched, 0 differ, 0 missing in the target, 0 only in the target, drift +0 since round 2; within limits',
    );
    const rounds = ctx.reconciliations.records;
    expect(rounds.map((r) => [r.check, r.round])).toEqual([
      ['old and new agree', 1],
      ['old and new agree', 2],
      ['old and new agree', 3],
    ]);
    // On schedule: a round every second after the first one started, never sooner (later only on a busy machine).
    const starts = rounds.map((r) => Date.parse(r.startedAt));
    expect(starts[2]! - starts[0]!).toBeGreaterThanOrEqual(2000);
    expect(starts[2]! - starts[0]!).toBeLessThan(6000);
  });

  it('fails at the first round that drifts outside the limits, saying how much it drifted', async () => {
    const { dir, connections } = systems();
    const ctx = context(dir, connections);
    // The target drifts once the first round is recorded (not after a fixed time: rounds run late on a busy machine).
    const drift = (async () => {
      while (ctx.reconciliations.records.length === 0) await new Promise((r) => setTimeout(r, 20));
      change(dir, "UPDATE customers SET email = 'changed' WHERE id IN (5, 6)");
    })();
    const [outcome] = await runChecks([hypercare({ every: '1s', for: '30s' })], ctx);
    await drift;
    expect(outcome!.passed).toBe(false);
    const round = outcome!.reconcile!.round!;
    expect(round).toBeGreaterThanOrEqual(2);
    expect(round).toBeLessThanOrEqual(4);
    expect(outcome!.detail).toBe(
      `round ${round} of the comparison every 1s for 30s: 48 matched, 2 differ, 0 missing in the target, 0 only in the target, drift +2 since round ${round - 1}; outside limits: 2 rows with differing values (limit 0)`,
    );
    expect(ctx.reconciliations.records.map((r) => r.result.within_limits)).toEqual([...Array<boolean>(round - 1).fill(true), false]);
  });

  it('asked again after a worker stop, resumes after the last recorded round instead of starting over', async () => {
    const { dir, connections } = systems();
    const ctx = context(dir, connections);
    expect((await performAction(action({}), ctx)).ok).toBe(true);
    const done = ctx.reconciliations.records[0]!.result;
    // Rounds 1 and 2 ran before the worker stopped; the first started 2.5 s ago.
    const started = Date.now() - 2500;
    const log = new MemoryLog();
    await log.record('old and new agree', 1, new Date(started).toISOString(), done);
    await log.record('old and new agree', 2, new Date(started + 1000).toISOString(), done);
    const [resumed] = await runChecks([hypercare({ every: '1s', for: '3s' })], { ...ctx, reconciliations: log });
    expect(resumed).toMatchObject({ passed: true, reconcile: { round: 4 } });
    expect(log.records.map((r) => r.round)).toEqual([1, 2, 3, 4]);
    // The recorded rounds were kept, not compared again.
    expect(log.records[0]!.startedAt).toBe(new Date(started).toISOString());
    expect(Date.parse(log.records[3]!.startedAt) - started).toBeGreaterThanOrEqual(3000);

    // A round that was already outside the limits fails the check at once, without comparing again.
    const failed = new MemoryLog();
    await failed.record('old and new agree', 1, new Date().toISOString(), {
      ...done,
      within_limits: false,
      mismatched: 3,
      limit_violations: ['3 rows with differing values (limit 0)'],
    });
    const [again] = await runChecks([hypercare({ every: '1s', for: '1h' })], { ...ctx, reconciliations: failed });
    expect(again).toMatchObject({ passed: false, reconcile: { round: 1, mismatched: 3 } });
    expect(failed.records).toHaveLength(1);
  });
});
