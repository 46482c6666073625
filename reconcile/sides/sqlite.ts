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
import Database from 'better-sqlite3';
import { SourceError } from '../errors.js';
import { integerHashSql } from '../sample.js';
import { quoteIdent, type ColumnInfo, type ReadPlan, type Side } from './side.js';

/** What a SQLite side reads: a table or a query. */
export interface SqliteRelation {
  table?: string | undefined;
  query?: string | undefined;
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
    if (this.info) return Promise.resolve(this.info);
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
    return Promise.resolve(this.info);
  }

  async *read(plan: ReadPlan): AsyncIterable<unknown[][]> {
    const info = await this.columns();
    const integer = new Set(info.filter((c) => c.integer).map((c) => c.name));
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
    const sql = `SELECT ${select.join(', ')} FROM ${this.from()} AS q${where} ORDER BY ${order.join(', ')}`;
    let iterator: IterableIterator<unknown[]>;
    try {
      iterator = this.db.prepare(sql).raw(true).iterate() as IterableIterator<unknown[]>;
    } catch (err) {
      throw new SourceError(this.role, `${this.label} refused the read: ${oneLine(err)}`);
    }
    let batch: unknown[][] = [];
    try {
      for (const row of iterator) {
        batch.push(row);
        if (batch.length === plan.batchSize) {
          yield batch;
          batch = [];
        }
      }
    } finally {
      iterator.return?.();
    }
    if (batch.length > 0) yield batch;
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.replace(/[.\s]+$/, '');
}
