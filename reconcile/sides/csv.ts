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
import { parse, CsvError, type Parser } from 'csv-parse';
import type { CsvSource, KeyColumn } from '../config.js';
import { canonicalKeyPart, compareKeys } from '../keys.js';
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
  /** The key columns: when the file turns out to be in key order already, no sort is needed. */
  keys?: readonly KeyColumn[] | undefined;
}

const UTF8 = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8']);

/** Values one SQLite statement may bind (SQLITE_MAX_VARIABLE_NUMBER as better-sqlite3 builds it). */
const SQLITE_MAX_VARIABLES = 32_766;
/** Columns a SQLite table may have (SQLITE_MAX_COLUMN): the widest CSV file the sort file holds. */
export const MAX_CSV_COLUMNS = 2_000;
/** Rows go into the sort file this many at a time at most: one statement call per row costs more than SQLite's work. */
const MAX_GROUP = 100;

/**
 * The longest row csv-parse keeps in memory (characters). No export has rows near it; a quote that is never closed
 * makes the rest of the file one row, which would otherwise be read into memory whole.
 */
export const MAX_CSV_RECORD_CHARS = 8 * 1024 * 1024;

/** Loads a CSV file into a temporary sorted store and opens it as a side. */
export async function openCsvSide(
  spec: CsvSource,
  file: string,
  shown: string,
  role: 'source' | 'target',
  options: CsvSideOptions = {},
): Promise<Side> {
  const { label, decoder } = checkCsvFile(spec, file, shown, role);

  const dir = mkdtempSync(path.join(options.tempDir ?? tmpdir(), 'cutover-csv-'));
  const spill = path.join(dir, 'sorted.db');
  const db = new Database(spill);
  // A scratch file: losing it to a crash costs nothing, so no journal and no syncing.
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  let names: string[] | undefined = spec.header ? undefined : spec.columns!;
  let insert: Database.Statement | undefined;
  let insertMany: Database.Statement | undefined;
  // Rows go in groups (see MAX_GROUP), as many as one statement can bind values for.
  let group = MAX_GROUP;
  let pending: string[] = [];
  let rows = 0;
  // Whether the rows come in key order (exports often do): checked row by row with the merge's
  // own comparison, so reading them back in file order is then reading them in key order.
  let sorted = options.keys !== undefined && options.keys.length > 0;
  let keyAt: number[] = [];
  let previous: unknown[] | undefined;
  let current: unknown[] = [];
  const create = (columns: string[]): void => {
    if (options.keys) {
      keyAt = options.keys.map((k) => columns.indexOf(k.column));
      if (keyAt.some((i) => i < 0)) sorted = false;
      current = new Array<unknown>(keyAt.length);
    }
    const seen = new Set<string>();
    for (const c of columns) {
      if (seen.has(c)) throw new SourceError(role, `${label} names column \`${c}\` twice in its header; give each column its own name`);
      seen.add(c);
    }
    if (columns.length > MAX_CSV_COLUMNS) {
      throw new DataError(
        role,
        `${label} has ${columns.length} columns, and a CSV file that is not in key order is sorted in a file of at most ${MAX_CSV_COLUMNS}; export only the columns you compare, or in key order`,
      );
    }
    // No declared types: every value stays the text the file holds.
    db.exec(`CREATE TABLE rows (${columns.map(quoteIdent).join(', ')})`);
    const one = `(${columns.map(() => '?').join(', ')})`;
    group = Math.max(1, Math.min(MAX_GROUP, Math.floor(SQLITE_MAX_VARIABLES / columns.length)));
    insert = db.prepare(`INSERT INTO rows VALUES ${one}`);
    insertMany = db.prepare(`INSERT INTO rows VALUES ${Array.from({ length: group }, () => one).join(', ')}`);
    db.exec('BEGIN');
  };
  try {
    if (names) create(names);
  } catch (err) {
    db.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const parser = csvParser(spec);
  parser.on('data', (record: string[]) => {
    // Whatever goes wrong with a row (the sort file refusing it too) ends the read with the error, through the
    // pipeline: thrown from this listener it would crash the process and leave the sort file behind.
    try {
      take(record);
    } catch (err) {
      parser.destroy(err as Error);
    }
  });
  const take = (record: string[]): void => {
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
    if (sorted) {
      let usable = true;
      for (let i = 0; i < keyAt.length; i += 1) {
        const part = canonicalKeyPart(record[keyAt[i]!], options.keys![i]!.type);
        if (part === null || part === undefined) usable = false;
        current[i] = part;
      }
      // Empty keys are set aside wherever they are; a value that is not a key stops the shortcut.
      if (usable) {
        if (previous !== undefined && compareKeys(previous, current, keyAt.length) > 0) sorted = false;
        [previous, current] = [current, previous ?? new Array<unknown>(keyAt.length)];
      } else if (current.some((p) => p === undefined)) sorted = false;
    }
    for (const value of record) pending.push(value);
    rows += 1;
    if (rows % group === 0) {
      insertMany!.run(pending);
      pending = [];
    }
    if (rows % 100_000 === 0) {
      options.onRows?.(rows);
      if (options.signal?.aborted) parser.destroy(new ReconcileCancelledError());
    }
  };

  const stages = csvStages(file, decoder, parser, spec, role, label);
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
    throw csvFailure(err, role, label);
  }
  options.onRows?.(rows);

  const side = openSqliteSide(spill, { table: 'rows', rowidInKeyOrder: sorted }, role, shown, label);
  const close = side.close.bind(side);
  return Object.assign(side, {
    close: async () => {
      await close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** The checks before reading a CSV file: it exists, it is a file, its encoding is known. */
export function checkCsvFile(
  spec: CsvSource,
  file: string,
  shown: string,
  role: 'source' | 'target',
): { label: string; decoder: TextDecoder | undefined } {
  const label = `the ${role} (CSV file ${shown})`;
  if (!existsSync(file)) throw new SourceError(role, `${label} does not exist; check \`${role}.path\` (relative to the config file)`);
  if (statSync(file).isDirectory()) throw new SourceError(role, `${label} is a directory; \`${role}.path\` must name a CSV file`);
  if (UTF8.has(spec.encoding.toLowerCase())) return { label, decoder: undefined };
  try {
    return { label, decoder: new TextDecoder(spec.encoding, { fatal: true }) };
  } catch {
    throw new SourceError(
      role,
      `\`${role}.encoding\` \`${spec.encoding}\` is not an encoding this system knows; use utf-8, utf-16le, latin1, windows-1252 or another WHATWG encoding name`,
    );
  }
}

/** csv-parse set up for the file's dialect. */
export function csvParser(spec: CsvSource): Parser {
  return parse({
    delimiter: spec.delimiter,
    quote: spec.quote,
    bom: true,
    skip_empty_lines: true,
    relax_column_count: false,
    max_record_size: MAX_CSV_RECORD_CHARS,
  });
}

/** The streams from the file to `parser`: the file, its decoding when not UTF-8, the parser. */
export function csvStages(
  file: string,
  decoder: TextDecoder | undefined,
  parser: Parser,
  spec: CsvSource,
  role: 'source' | 'target',
  label: string,
): (NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream)[] {
  const stages: (NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream)[] = [createReadStream(file)];
  if (decoder) {
    const invalid = (): DataError => new DataError(role, `${label} is not valid ${spec.encoding} text; check \`${role}.encoding\``);
    stages.push(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          try {
            done(null, decoder.decode(chunk, { stream: true }));
          } catch {
            done(invalid());
          }
        },
        flush(done) {
          try {
            done(null, decoder.decode());
          } catch {
            done(invalid());
          }
        },
      }),
    );
  }
  stages.push(parser);
  return stages;
}

/** What a failure while reading a CSV file says to people. */
export function csvFailure(err: unknown, role: 'source' | 'target', label: string): unknown {
  if (err instanceof SourceError || err instanceof DataError || err instanceof ReconcileCancelledError) return err;
  if (err instanceof CsvError) {
    const line = (err as CsvError & { lines?: number }).lines;
    if (err.code === 'CSV_MAX_RECORD_SIZE') {
      return new DataError(
        role,
        `${label}${line ? `, line ${line}` : ''}: a row is longer than ${MAX_CSV_RECORD_CHARS / 1024 / 1024} MiB, which no export's row is; most likely a quote is never closed: check the file's quoting and \`${role}.quote\``,
      );
    }
    return new DataError(
      role,
      `${label}${line ? `, line ${line}` : ''}: ${err.message.replace(/[.\s]+$/, '')}; check the file's quoting and \`${role}.delimiter\`/\`${role}.quote\``,
    );
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EISDIR') return new SourceError(role, `${label} cannot be read (${code}); check its permissions`);
  return err;
}
