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
import { integerHashSql, sampledKeysInRange } from '../sample.js';
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
export function openSqliteSide(
  file: string,
  relation: SqliteRelation,
  role: 'source' | 'target',
  shown: string,
  label?: string,
  options: { sampleKey?: string | undefined } = {},
): Side {
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
  // A sample of the table's INTEGER PRIMARY KEY looks its rows up (see sampledRowids) and needs no
  // thread: starting one anyway cost about 40 ms of CPU a side, a fifth of such a sample on two busy
  // cores. Any other sample scans the table in a thread, started now so that its start-up overlaps
  // the rest of the opening.
  const thread =
    options.sampleKey !== undefined && !(relation.table !== undefined && isRowidKey(db, relation.table, options.sampleKey))
      ? new ReaderThread(file)
      : undefined;
  return new SqliteSide(db, relation, role, name, thread);
}

/**
 * Whether `column` is the rowid of `table`: its INTEGER PRIMARY KEY (exactly that type, alone), so
 * always an integer and never empty. A WITHOUT ROWID table has none (checked by selecting rowid).
 */
function isRowidKey(db: Database.Database, table: string, column: string): boolean {
  try {
    const pk = db.prepare(`SELECT name, type FROM pragma_table_info(?) WHERE pk > 0`).all(table) as { name: string; type: string }[];
    if (pk.length !== 1 || pk[0]!.name !== column || pk[0]!.type.toUpperCase() !== 'INTEGER') return false;
    db.prepare(`SELECT rowid FROM ${quoteIdent(table)} LIMIT 0`).all();
    return true;
  } catch {
    return false;
  }
}

/**
 * Widest key range a sample walks to find its keys (a few tens of milliseconds); a wider one is
 * sampled by scanning the table with the hash as a filter.
 */
const MAX_WALKED_RANGE = 20_000_000;

class SqliteSide implements Side {
  readonly samplesInSql = true;
  private info: ColumnInfo[] | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly relation: SqliteRelation,
    readonly role: 'source' | 'target',
    readonly label: string,
    /** Started at open when a sample will be read (see ReaderThread). */
    private readonly thread?: ReaderThread,
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
    // A sample of a table keyed by its INTEGER PRIMARY KEY over a range small enough to walk: the
    // sampled keys are worked out from the range alone and their rows looked up, reading 1% of
    // the table instead of all of it (the same keys the hash filter below would keep).
    const keys = plan.sample ? this.sampledRowids(plan) : undefined;
    if (keys) {
      this.thread?.stop();
      const lookup = `SELECT ${select.join(', ')} FROM ${this.from()} AS q WHERE q.rowid IN (SELECT value FROM json_each(?)) ORDER BY q.rowid`;
      try {
        return readHere(this.db.prepare(lookup), plan.batchSize, [JSON.stringify(keys)]);
      } catch (err) {
        throw new SourceError(this.role, `${this.label} refused the read: ${oneLine(err)}`);
      }
    }
    // Any other sample scans the whole table to hand over a few rows: scanned in a thread of its
    // own, it runs beside the other side's scan instead of after it.
    if (plan.sample) {
      const thread = this.thread && !this.thread.used ? this.thread : new ReaderThread(this.db.name);
      return thread.read(sql, plan.batchSize, this.role, this.label);
    }
    return readHere(statement, plan.batchSize);
  }

  /**
   * The rowids a sample keeps, when the key is the table's INTEGER PRIMARY KEY (the rowid itself:
   * always an integer, never empty, its range read from the b-tree's ends) and that range has at
   * most {@link MAX_WALKED_RANGE} values; undefined otherwise.
   */
  private sampledRowids(plan: ReadPlan): number[] | undefined {
    const key = plan.keys[0]!;
    const table = this.relation.table;
    if (!plan.sample || table === undefined || plan.keys.length !== 1 || key.type !== 'integer') return undefined;
    if (!isRowidKey(this.db, table, key.column)) return undefined;
    let ends: { lo: number | bigint | null; hi: number | bigint | null };
    try {
      // Two queries: SQLite reads min() or max() alone from the b-tree's end, both together by a full scan.
      ends = this.db
        .prepare(`SELECT (SELECT min(rowid) FROM ${quoteIdent(table)}) AS lo, (SELECT max(rowid) FROM ${quoteIdent(table)}) AS hi`)
        .get() as typeof ends;
    } catch {
      return undefined;
    }
    if (ends.lo === null || ends.hi === null) return [];
    const lo = Number(ends.lo);
    const hi = Number(ends.hi);
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi - lo + 1 > MAX_WALKED_RANGE) return undefined;
    return sampledKeysInRange(lo, hi, plan.sample.params, plan.sample.threshold);
  }

  close(): Promise<void> {
    if (this.thread && !this.thread.used) this.thread.stop();
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.replace(/[.\s]+$/, '');
}

async function* readHere(statement: Database.Statement, batchSize: number, params: unknown[] = []): AsyncIterable<unknown[][]> {
  const iterator = statement.raw(true).iterate(...params) as IterableIterator<unknown[]>;
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
// under vitest (TypeScript sources) and in dist/. The thread loads better-sqlite3 and opens the
// file as soon as it starts, then waits for its statement, so its start-up overlaps the rest of
// the opening. Flow control: the thread sends a batch only while it has a credit (slot 0), and
// the reader hands a credit back per batch it takes, so at most CREDITS batches wait in memory;
// slot 1 tells it to stop.
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
let opened;
try {
  db = new Database(workerData.file, { readonly: true, fileMustExist: true });
} catch (err) {
  opened = err;
}
parentPort.once('message', ({ sql, batchSize }) => {
  try {
    if (opened) throw opened;
    let batch = [];
    let going = true;
    for (const row of db.prepare(sql).raw(true).iterate()) {
      batch.push(row);
      if (batch.length === batchSize) {
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
    parentPort.close();
  }
});
`;
const CREDITS = 4;
const sqliteModule = createRequire(import.meta.url).resolve('better-sqlite3');

type ThreadMessage = { rows: unknown[][]; done?: boolean } | { error: string };

/** A thread that reads one statement of a SQLite file, started before it is needed. */
class ReaderThread {
  private readonly flags = new Int32Array(new SharedArrayBuffer(8));
  private readonly thread: Worker;
  private readonly queue: ThreadMessage[] = [];
  private failure: Error | undefined;
  private exited = false;
  private wake: (() => void) | undefined;
  used = false;

  constructor(file: string) {
    this.flags[0] = CREDITS;
    this.thread = new Worker(THREAD_CODE, { eval: true, workerData: { module: sqliteModule, file, flags: this.flags.buffer } });
    this.thread.on('message', (m: ThreadMessage) => {
      this.queue.push(m);
      this.wake?.();
    });
    this.thread.on('error', (err) => {
      this.failure = err;
      this.wake?.();
    });
    this.thread.on('exit', () => {
      this.exited = true;
      this.wake?.();
    });
  }

  /** Starts the statement (once) and yields its rows in batches. */
  read(sql: string, batchSize: number, role: 'source' | 'target', label: string): AsyncIterable<unknown[][]> {
    this.used = true;
    this.thread.postMessage({ sql, batchSize });
    return this.rows(role, label);
  }

  private async *rows(role: 'source' | 'target', label: string): AsyncIterable<unknown[][]> {
    try {
      for (;;) {
        while (this.queue.length === 0 && !this.failure && !this.exited) await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        const message = this.queue.shift();
        if (!message) {
          throw new SourceError(
            role,
            `${label} stopped before all rows were read: ${this.failure ? oneLine(this.failure) : 'its reading thread ended'}`,
          );
        }
        if ('error' in message) throw new SourceError(role, `${label} refused the read: ${message.error.split('\n')[0]}`);
        Atomics.add(this.flags, 0, 1);
        Atomics.notify(this.flags, 0);
        if (message.rows.length > 0) yield message.rows;
        if (message.done) return;
      }
    } finally {
      this.stop();
    }
  }

  /** Ends the thread, whether it read or not. */
  stop(): void {
    Atomics.store(this.flags, 1, 1);
    Atomics.notify(this.flags, 0);
    void this.thread.terminate();
  }
}
