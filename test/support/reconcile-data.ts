/**
 * Small real data sets for reconciliation tests: SQLite files and CSV files written from rows.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parseReconcileConfig } from '../../reconcile/parse-config.js';
import type { ReconcileConfig } from '../../reconcile/config.js';

/** A fresh folder for one test's files. */
export function scratch(): string {
  return mkdtempSync(path.join(tmpdir(), 'cutover-reconcile-'));
}

/** Writes a SQLite file with one table, created by `ddl`, filled with `rows`. */
export function sqliteFile(dir: string, name: string, ddl: string, rows: unknown[][]): string {
  const file = path.join(dir, name);
  const db = new Database(file);
  db.exec(ddl);
  const table = /create table\s+("?[\w.]+"?)/i.exec(ddl)![1]!;
  if (rows.length > 0) {
    const insert = db.prepare(`INSERT INTO ${table} VALUES (${rows[0]!.map(() => '?').join(', ')})`);
    db.transaction(() => {
      for (const row of rows) insert.run(row);
    })();
  }
  db.close();
  return file;
}

/** Writes a CSV file with the given text (and encoding). */
export function csvFile(dir: string, name: string, text: string, encoding: BufferEncoding = 'utf8'): string {
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.from(text, encoding));
  return file;
}

/** A config from YAML text, or the test fails with its problems. */
export function config(yaml: string): ReconcileConfig {
  const parsed = parseReconcileConfig(yaml, 'test.yaml');
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return parsed.config;
}
