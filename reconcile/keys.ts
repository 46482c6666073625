/**
 * Keys as the merge compares and orders them. Both sides are read in this order, so the SQL that
 * reads them (`sql-text.ts`) and these functions must agree: integers numerically, text by its
 * UTF-8 bytes (SQLite's BINARY collation, PostgreSQL's `COLLATE "C"`), NULL never (rows with an
 * empty key part are set aside before ordering matters). Pure.
 */
import type { KeyType } from './config.js';

/** A key part after reading: a safe integer for `integer` keys, a string for `text` keys. */
export type KeyPart = number | string;

const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;

/**
 * The canonical form of one key part, `null` for an empty one (NULL or empty text), or `undefined` when the value
 * cannot be a key of that type (the caller names the side, column and value).
 */
export function canonicalKeyPart(value: unknown, type: KeyType): KeyPart | null | undefined {
  // An empty text is how CSV files (and some exports) write a missing key.
  if (value === null || value === undefined || value === '') return null;
  if (type === 'integer') {
    if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
    if (typeof value === 'bigint') {
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : undefined;
    }
    if (typeof value === 'string' && INTEGER_TEXT.test(value)) {
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : undefined;
    }
    return undefined;
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) return undefined;
  return String(value);
}

/**
 * Compares two strings by their UTF-8 bytes. JavaScript's `<` compares UTF-16 code units, which
 * differs from the byte order only where a surrogate pair (U+10000 and up) meets a character of
 * U+E000..U+FFFF: UTF-16 puts the pair first, UTF-8 (and code point order) puts it last.
 */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (0xD800..0xDFFF) stand for code points above 0xFFFF: move them past 0xFFFF.
      const xs = x <= 0xdfff ? x + 0x10000 : x;
      const ys = y <= 0xdfff ? y + 0x10000 : y;
      return xs - ys;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Compares two canonical keys (same types part by part); negative, 0 or positive. */
export function compareKeys(a: readonly unknown[], b: readonly unknown[], parts: number): number {
  for (let i = 0; i < parts; i += 1) {
    const x = a[i] as KeyPart;
    const y = b[i] as KeyPart;
    if (x === y) continue;
    if (typeof x === 'number') return x - (y as number);
    return compareText(x, y as string);
  }
  return 0;
}

/** The key of a row as shown to people: `{id: 7}` or `{order: 3, line: 2}`. */
export function keyObject(row: readonly unknown[], names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  names.forEach((n, i) => (out[n] = row[i]));
  return out;
}
