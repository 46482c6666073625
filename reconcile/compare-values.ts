/**
 * How two values of one column are compared: a column's settings (trim, case, null equals
 * empty, value map, number type and precision, tolerance, date/time) compile once into one
 * function, so the merge pays per value only for what the column asks. Pure.
 *
 * Without settings, values are equal when they are the same, or when one side holds a number
 * and the other a text that reads as exactly that number (a CSV's "7" and a database's 7): the
 * numeric side says what the value means. Two texts are compared as texts ("007" is not "7");
 * `type: number` compares them as numbers.
 */
import type { ColumnSpec } from './config.js';
import { cutInstant, parseInstant } from './datetime.js';

/** Thrown when a value cannot be read the way its column compares (a date that is not one). */
export class ValueReadError extends Error {
  constructor(
    readonly side: 'source' | 'target',
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`cannot read ${showValue(value)} as ${expected}`);
  }
}

/** Whether two values (source first) are equal under a column's settings; may throw {@link ValueReadError}. */
export type ValueComparer = (source: unknown, target: unknown) => boolean;

const NUMBER_TEXT = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** The number a text reads as, or undefined. Only plain decimal (and exponent) notation. */
export function readNumber(value: string): number | undefined {
  return NUMBER_TEXT.test(value) ? Number(value) : undefined;
}

/** Equality without settings (see the module comment). */
export function plainEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  const ta = typeof a;
  const tb = typeof b;
  if (ta === 'string' && tb === 'string') return false;
  if (ta === 'number' && tb === 'number') return false;
  if ((ta === 'number' || ta === 'bigint') && tb === 'string') return readNumber(b as string) === Number(a);
  if (ta === 'string' && (tb === 'number' || tb === 'bigint')) return readNumber(a as string) === Number(b);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(b);
  return String(a) === String(b);
}

/** Compiles a column's settings (none: {@link plainEqual}). */
export function compileComparer(spec: ColumnSpec | undefined): ValueComparer {
  if (!spec) return plainEqual;
  const numeric = spec.type === 'number' || spec.precision !== undefined || spec.tolerance !== undefined;
  const textRules = spec.trim || spec.case !== undefined || spec.null_equals_empty || spec.map !== undefined;
  if (!numeric && !textRules && !spec.datetime) return plainEqual;

  const map = spec.map ? new Map(Object.entries(spec.map)) : undefined;
  const prepare = (value: unknown, side: 'source' | 'target'): unknown => {
    let v = value;
    if (typeof v === 'string') {
      if (spec.trim) v = v.trim();
      if (spec.null_equals_empty && v === '') v = null;
    }
    if (map && side === 'source' && v !== null && v !== undefined) {
      const key = String(v);
      if (map.has(key)) v = map.get(key);
    }
    if (typeof v === 'string' && spec.case !== undefined) v = spec.case === 'lower' ? v.toLowerCase() : v.toUpperCase();
    return v;
  };

  if (spec.datetime) {
    const { zone, precision } = spec.datetime;
    const zones = { source: spec.datetime.source_zone ?? zone, target: spec.datetime.target_zone ?? zone };
    const instant = (value: unknown, side: 'source' | 'target'): number | null => {
      const v = prepare(value, side);
      if (v === null || v === undefined || v === '') return v === '' && !spec.null_equals_empty ? fail(side, value) : null;
      const at = parseInstant(v, zones[side]);
      if (at === undefined) return fail(side, value);
      return cutInstant(at, precision, zone);
    };
    const fail = (side: 'source' | 'target', value: unknown): never => {
      throw new ValueReadError(side, value, 'a date/time (such as 2025-06-14 22:00:00 or 2025-06-14T22:00:00+02:00)');
    };
    return (a, b) => instant(a, 'source') === instant(b, 'target');
  }

  if (numeric) {
    const factor = spec.precision !== undefined ? 10 ** spec.precision : undefined;
    const abs = spec.tolerance?.abs ?? 0;
    const rel = spec.tolerance?.rel ?? 0;
    const toNumber = (value: unknown, side: 'source' | 'target'): number | null => {
      const v = prepare(value, side);
      if (v === null || v === undefined) return null;
      let n: number | undefined;
      if (typeof v === 'number') n = v;
      else if (typeof v === 'bigint') n = Number(v);
      else if (typeof v === 'string') n = readNumber(v);
      if (n === undefined || Number.isNaN(n)) throw new ValueReadError(side, value, 'a number');
      return factor === undefined ? n : roundTo(n, spec.precision!, factor);
    };
    return (a, b) => {
      const x = toNumber(a, 'source');
      const y = toNumber(b, 'target');
      if (x === null || y === null) return x === y;
      if (x === y) return true;
      // datacompy's rule: the target is the reference.
      return Math.abs(x - y) <= abs + rel * Math.abs(y);
    };
  }

  return (a, b) => {
    const x = prepare(a, 'source');
    const y = prepare(b, 'target');
    return plainEqual(x === undefined ? null : x, y === undefined ? null : y);
  };
}

/**
 * `n` rounded to `digits` decimals, half away from zero, on its decimal text: binary 2.675 is
 * 2.67499..., yet people (and the other system) mean 2.68.
 */
export function roundTo(n: number, digits: number, factor = 10 ** digits): number {
  const text = String(Math.abs(n));
  const shifted = text.includes('e') ? Math.abs(n) * factor : Number(`${text}e${digits}`);
  return (Math.sign(n) * Math.round(shifted)) / factor;
}

/** A value as messages show it: `abc`, `12.5`, `NULL`. */
export function showValue(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex').slice(0, 32)}`;
  const text = String(value);
  return `\`${text.length > 60 ? `${text.slice(0, 57)}...` : text}\``;
}

/** A value as results carry it: plain JSON (blobs as hex, big integers as text). */
export function jsonValue(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}
