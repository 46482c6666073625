/**
 * A SQLite side: a file opened read-only, rows streamed with better-sqlite3's `iterate()` in key
 * order. SQLite orders text with its BINARY collation (memcmp of UTF-8), the order the merge
 * uses. A key declared integer is ordered by the column itself when the column stores integers
 * (an INTEGER PRIMARY KEY is then read in rowid order, without sorting), otherwise by a CAST.
 *
 * Synchronous reads on the caller's thread, in batches: the engine yields between batches, and
 * an activity that must keep heartbeating while a huge sort runs inside SQLite runs the whole
 * reconciliation in a child process, as `sql` steps do.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SourceError } from '../errors.js';
import { integerHashSql } from '../sample.js';
import { quoteIdent, type ColumnInfo, type ReadPlan, type Side } from './side.js';

/** What a SQLite side reads: a table or a query. */
export interface SqliteRelation {
  table?: string | undefined;
  query?: string | undefined;
  /**
   * The table's rows were written in key order (a CSV file found sorted while loading): reading
   * them in rowid order is reading them in key order, without a sort.
   */
  rowidInKeyOrder?: boolean | undefined;
}

/** Opens a SQLite side; throws {@link SourceError} when the file is missing or not a database. */
export function openSqliteSide(file: string, relation: SqliteRelation, role: 'source' | 'target', shown: string, label?: string): Side {
  const name = label ?? `the ${role} (SQLite file ${shown})`;
  if (!existsSync(file)) throw new SourceError(role, `${name} does not exist; check \`${role}.path\` (relative to the config file)`);
  if (statSync(file).isDirectory())
    throw new SourceError(role, `${name} is a directory; \`${role}.path\` must name a SQLite database file`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('schema_version');
  } catch (err) {
    throw new SourceError(role, `${name} cannot be opened: ${oneLine(err)}; check that it is a SQLite database and readable`);
  }
  return new SqliteSide(db, relation, role, name);
}

class SqliteSide implements Side {
  readonly samplesInSql = true;
  private info: ColumnInfo[] | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly relation: SqliteRelation,
    readonly role: 'source' | 'target',
    readonly label: string,
  ) {}

  private from(): string {
    return this.relation.table !== undefined ? quoteIdent(this.relation.table) : `(${this.relation.query!.trim().replace(/;\s*$/, '')})`;
  }

  columns(): Promise<ColumnInfo[]> {
    return Promise.resolve(this.columnsNow());
  }

  private columnsNow(): ColumnInfo[] {
    if (this.info) return this.info;
    const { table } = this.relation;
    try {
      if (table !== undefined) {
        const rows = this.db.prepare(`SELECT name, type FROM pragma_table_info(?)`).all(table) as { name: string; type: string }[];
        if (rows.length === 0) {
          const tables = (
            this.db.prepare(`SELECT name FROM sqlite_schema WHERE type IN ('table','view') ORDER BY name`).all() as { name: string }[]
          )
            .map((r) => r.name)
            .slice(0, 10);
          throw new SourceError(
            this.role,
            `${this.label} has no table \`${table}\`; check \`${this.role}.table\`${tables.length ? ` (it has ${tables.join(', ')})` : ' (it has no tables)'}`,
          );
        }
        this.info = rows.map((r) => ({ name: r.name, integer: /INT/i.test(r.type) }));
      } else {
        const columns = this.db.prepare(`SELECT * FROM ${this.from()} AS q`).columns();
        this.info = columns.map((c) => ({ name: c.name, integer: /INT/i.test(c.type ?? '') && c.table !== null }));
      }
    } catch (err) {
      if (err instanceof SourceError) throw err;
      throw new SourceError(
        this.role,
        `${this.label} refused the ${table !== undefined ? 'table' : 'query'}: ${oneLine(err)}; check \`${this.role}.${table !== undefined ? 'table' : 'query'}\``,
      );
    }
    return this.info;
  }

  read(plan: ReadPlan): AsyncIterable<unknown[][]> {
    if (!this.info) throw new Error('columns() comes before read()');
    const integer = new Set(this.info.filter((c) => c.integer).map((c) => c.name));
    const select: string[] = [];
    const order: string[] = [];
    for (const key of plan.keys) {
      const column = `q.${quoteIdent(key.column)}`;
      if (key.type === 'integer') {
        // The raw value is read, so a value that is not an integer is refused by name in
        // JavaScript instead of becoming 0 in a CAST; ordering uses the integer value.
        select.push(column);
        order.push(integer.has(key.column) ? column : `CAST(${column} AS INTEGER)`);
      } else {
        select.push(`CAST(${column} AS TEXT)`);
        order.push(`CAST(${column} AS TEXT) COLLATE BINARY`);
      }
    }
    for (const c of plan.columns) select.push(`q.${quoteIdent(c)}`);
    let where = '';
    if (plan.sample) {
      const key = plan.keys[0]!;
      const expr = integer.has(key.column) ? `q.${quoteIdent(key.column)}` : `CAST(q.${quoteIdent(key.column)} AS INTEGER)`;
      where = ` WHERE ${integerHashSql(expr, plan.sample.params)} < ${plan.sample.threshold}`;
    }
    const orderBy = this.relation.rowidInKeyOrder && this.relation.table !== undefined ? 'q.rowid' : order.join(', ');
    const sql = `SELECT ${select.join(', ')} FROM ${this.from()} AS q${where} ORDER BY ${orderBy}`;
    let statement: Database.Statement;
    try {
      statement = this.db.prepare(sql);
    } catch (err) {
      throw new SourceError(this.role, `${this.label} refused the read: ${oneLine(err)}`);
    }
    // A sample scans the whole table to hand over a few rows: scanned in a thread of its own, it
    // runs beside the other side's scan instead of after it.
    if (plan.sample) return readInThread(this.db.name, sql, plan.batchSize, this.role, this.label);
    return readHere(statement, plan.batchSize);
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.replace(/[.\s]+$/, '');
}

async function* readHere(statement: Database.Statement, batchSize: number): AsyncIterable<unknown[][]> {
  const iterator = statement.raw(true).iterate() as IterableIterator<unknown[]>;
  let batch: unknown[][] = [];
  try {
    for (const row of iterator) {
      batch.push(row);
      if (batch.length === batchSize) {
        yield batch;
        batch = [];
      }
    }
  } finally {
    iterator.return?.();
  }
  if (batch.length > 0) yield batch;
}

// Plain CommonJS run with `eval`, for the reason activities/sql-process.ts gives: the same text
// under vitest (TypeScript sources) and in dist/. Flow control: the thread sends a batch only
// while it has a credit (slot 0), and the reader hands a credit back per batch it takes, so at
// most CREDITS batches wait in memory; slot 1 tells it to stop.
const THREAD_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const flags = new Int32Array(workerData.flags);
const send = (message) => {
  while (Atomics.load(flags, 0) <= 0) {
    if (Atomics.load(flags, 1) === 1) return false;
    Atomics.wait(flags, 0, 0, 200);
  }
  Atomics.sub(flags, 0, 1);
  parentPort.postMessage(message);
  return Atomics.load(flags, 1) !== 1;
};
let db;
try {
  db = new Database(workerData.file, { readonly: true, fileMustExist: true });
  let batch = [];
  let going = true;
  for (const row of db.prepare(workerData.sql).raw(true).iterate()) {
    batch.push(row);
    if (batch.length === workerData.batchSize) {
      going = send({ rows: batch });
      batch = [];
      if (!going) break;
    }
  }
  if (going) send({ rows: batch, done: true });
} catch (err) {
  parentPort.postMessage({ error: err.message });
} finally {
  if (db) db.close();
}
`;
const CREDITS = 4;
const sqliteModule = createRequire(import.meta.url).resolve('better-sqlite3');

type ThreadMessage = { rows: unknown[][]; done?: boolean } | { error: string };

function readInThread(file: string, sql: string, batchSize: number, role: 'source' | 'target', label: string): AsyncIterable<unknown[][]> {
  const flags = new Int32Array(new SharedArrayBuffer(8));
  flags[0] = CREDITS;
  // Started now, not on the first read: both sides' scans then run at the same time.
  const thread = new Worker(THREAD_CODE, { eval: true, workerData: { module: sqliteModule, file, sql, batchSize, flags: flags.buffer } });
  const queue: ThreadMessage[] = [];
  let failure: Error | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  thread.on('message', (m: ThreadMessage) => {
    queue.push(m);
    wake?.();
  });
  thread.on('error', (err) => {
    failure = err;
    wake?.();
  });
  thread.on('exit', () => {
    exited = true;
    wake?.();
  });
  return (async function* () {
    try {
      for (;;) {
        while (queue.length === 0 && !failure && !exited) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        const message = queue.shift();
        if (!message)
          throw new SourceError(
            role,
            `${label} stopped before all rows were read: ${failure ? oneLine(failure) : 'its reading thread ended'}`,
          );
        if ('error' in message) throw new SourceError(role, `${label} refused the read: ${message.error.split('\n')[0]}`);
        Atomics.add(flags, 0, 1);
        Atomics.notify(flags, 0);
        if (message.rows.length > 0) yield message.rows;
        if (message.done) return;
      }
    } finally {
      Atomics.store(flags, 1, 1);
      Atomics.notify(flags, 0);
      void thread.terminate();
    }
  })();
}
