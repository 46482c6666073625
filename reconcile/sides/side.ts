/**
 * One side of a reconciliation as the engine sees it, whatever the driver: its columns, then its
 * rows in key order, in batches. Each driver (SQLite, PostgreSQL, CSV) is one file beside this.
 */
import type { KeyType } from '../config.js';
import type { HashParams } from '../sample.js';

/** A column a side offers. */
export interface ColumnInfo {
  name: string;
  /** Stored as integers, so ordering by the column itself is ordering by its integer value. */
  integer: boolean;
}

/** What to read: the key columns first, then `columns`, each row an array in that order. */
export interface ReadPlan {
  keys: { column: string; type: KeyType }[];
  columns: string[];
  /** Keep only keys whose hash is below `threshold` (single integer keys, hashed in SQL). */
  sample?: { params: HashParams; threshold: number };
  /** Rows per batch. */
  batchSize: number;
}

/** An opened side. */
export interface Side {
  /** How messages name it: `the source (SQLite file old.db)`. */
  readonly label: string;
  readonly role: 'source' | 'target';
  columns(): Promise<ColumnInfo[]>;
  /** Rows ordered by the keys (integers numerically, text by UTF-8 bytes); empty key rows anywhere. */
  read(plan: ReadPlan): AsyncIterable<unknown[][]>;
  /** Whether `read` applies `plan.sample` itself (otherwise the engine filters). */
  readonly samplesInSql: boolean;
  close(): Promise<void>;
}

/** SQL text shared by the SQL drivers: an identifier in double quotes. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
