/**
 * A CSV side. A CSV file is in no particular order, and the merge needs key order with bounded
 * memory: the file is parsed once as a stream (csv-parse: quoting, delimiters, embedded line
 * breaks) into a temporary SQLite file, which SQLite then reads back sorted (its sorter spills
 * to disk), through the same reader as a SQLite side. The temporary file goes when the side
 * closes. Every value is text, as in the file; empty fields are empty texts.
 *
 * Encodings other than UTF-8 are decoded with the platform's TextDecoder (WHATWG encodings:
 * utf-16le, latin1/windows-1252, iso-8859-*, shift_jis, ...).
 */
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { TextDecoder } from 'node:util';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { parse, CsvError } from 'csv-parse';
import type { CsvSource } from '../config.js';
import { DataError, ReconcileCancelledError, SourceError } from '../errors.js';
import { quoteIdent, type Side } from './side.js';
import { openSqliteSide } from './sqlite.js';

/** Options of {@link openCsvSide}. */
export interface CsvSideOptions {
  /** Folder for the temporary sort file (default: the system's). */
  tempDir?: string | undefined;
  /** Rows parsed so far, now and then (for heartbeats during a long load). */
  onRows?: ((rows: number) => void) | undefined;
  signal?: AbortSignal | undefined;
}

const UTF8 = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8']);

/** Loads a CSV file into a temporary sorted store and opens it as a side. */
export async function openCsvSide(
  spec: CsvSource,
  file: string,
  shown: string,
  role: 'source' | 'target',
  options: CsvSideOptions = {},
): Promise<Side> {
  const label = `the ${role} (CSV file ${shown})`;
  if (!existsSync(file)) throw new SourceError(role, `${label} does not exist; check \`${role}.path\` (relative to the config file)`);
  if (statSync(file).isDirectory()) throw new SourceError(role, `${label} is a directory; \`${role}.path\` must name a CSV file`);
  const encoding = spec.encoding.toLowerCase();
  let decoder: TextDecoder | undefined;
  if (!UTF8.has(encoding)) {
    try {
      decoder = new TextDecoder(encoding, { fatal: true });
    } catch {
      throw new SourceError(
        role,
        `\`${role}.encoding\` \`${spec.encoding}\` is not an encoding this system knows; use utf-8, utf-16le, latin1, windows-1252 or another WHATWG encoding name`,
      );
    }
  }

  const dir = mkdtempSync(path.join(options.tempDir ?? tmpdir(), 'cutover-csv-'));
  const spill = path.join(dir, 'sorted.db');
  const db = new Database(spill);
  // A scratch file: losing it to a crash costs nothing, so no journal and no syncing.
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  let names: string[] | undefined = spec.header ? undefined : spec.columns!;
  let insert: Database.Statement | undefined;
  let insertMany: Database.Statement | undefined;
  // Rows go in 100 at a time: one statement call per row costs more than SQLite's own work.
  const GROUP = 100;
  let pending: string[] = [];
  let rows = 0;
  const create = (columns: string[]): void => {
    const seen = new Set<string>();
    for (const c of columns) {
      if (seen.has(c)) throw new SourceError(role, `${label} names column \`${c}\` twice in its header; give each column its own name`);
      seen.add(c);
    }
    // No declared types: every value stays the text the file holds.
    db.exec(`CREATE TABLE rows (${columns.map(quoteIdent).join(', ')})`);
    const one = `(${columns.map(() => '?').join(', ')})`;
    insert = db.prepare(`INSERT INTO rows VALUES ${one}`);
    insertMany = db.prepare(`INSERT INTO rows VALUES ${Array.from({ length: GROUP }, () => one).join(', ')}`);
    db.exec('BEGIN');
  };
  if (names) create(names);

  const parser = parse({
    delimiter: spec.delimiter,
    quote: spec.quote,
    bom: true,
    skip_empty_lines: true,
    relax_column_count: false,
  });
  parser.on('data', (record: string[]) => {
    if (!names) {
      names = record.map((n) => n.trim());
      create(names);
      return;
    }
    if (record.length !== names.length) {
      parser.destroy(
        new DataError(
          role,
          `${label}, line ${parser.info.lines}: the row has ${record.length} fields but the header names ${names.length}; fix the row or the \`delimiter\``,
        ),
      );
      return;
    }
    for (const value of record) pending.push(value);
    rows += 1;
    if (rows % GROUP === 0) {
      insertMany!.run(pending);
      pending = [];
    }
    if (rows % 100_000 === 0) {
      options.onRows?.(rows);
      if (options.signal?.aborted) parser.destroy(new ReconcileCancelledError());
    }
  });

  const stages: (NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream)[] = [createReadStream(file)];
  if (decoder) {
    const d = decoder;
    stages.push(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          try {
            done(null, d.decode(chunk, { stream: true }));
          } catch {
            done(new DataError(role, `${label} is not valid ${spec.encoding} text; check \`${role}.encoding\``));
          }
        },
        flush(done) {
          try {
            done(null, d.decode());
          } catch {
            done(new DataError(role, `${label} is not valid ${spec.encoding} text; check \`${role}.encoding\``));
          }
        },
      }),
    );
  }
  stages.push(parser);
  try {
    await pipeline(stages);
    const width = names?.length ?? 1;
    for (let i = 0; i < pending.length; i += width) insert!.run(pending.slice(i, i + width));
    if (!names)
      throw new SourceError(
        role,
        `${label} is empty: it has no header row; a CSV side needs a header (or \`header: false\` with \`columns\`)`,
      );
    db.exec('COMMIT');
    db.close();
  } catch (err) {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
    if (err instanceof SourceError || err instanceof DataError || err instanceof ReconcileCancelledError) throw err;
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines;
      throw new DataError(
        role,
        `${label}${line ? `, line ${line}` : ''}: ${err.message.replace(/[.\s]+$/, '')}; check the file's quoting and \`${role}.delimiter\`/\`${role}.quote\``,
      );
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EISDIR') throw new SourceError(role, `${label} cannot be read (${code}); check its permissions`);
    throw err;
  }
  options.onRows?.(rows);

  const side = openSqliteSide(spill, { table: 'rows' }, role, shown, label);
  const close = side.close.bind(side);
  return Object.assign(side, {
    close: async () => {
      await close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
