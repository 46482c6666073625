/**
 * The pure parts of reconciliation: key order, value comparison, dates and zones, the sample hash
 * (and its SQL twin), limits in words, and the config's own rules.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileComparer, plainEqual, readNumber, roundTo } from '../reconcile/compare-values.js';
import { columnSpec } from '../reconcile/config.js';
import { cutInstant, parseInstant, zoneOffsetMinutes } from '../reconcile/datetime.js';
import { canonicalKeyPart, compareKeys, compareText } from '../reconcile/keys.js';
import { parseReconcileConfig } from '../reconcile/parse-config.js';
import { limitViolations } from '../reconcile/result.js';
import {
  hashParams,
  integerHash,
  integerHashSql,
  keyHasher,
  percentThreshold,
  PRIME,
  sampledKeysInRange,
  SmallestN,
  textHash,
} from '../reconcile/sample.js';

describe('key order', () => {
  it('compares text exactly as the bytes of its UTF-8 (SQLite BINARY, PostgreSQL COLLATE "C")', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const bytes = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
        // Lone surrogates have no UTF-8 form (they become U+FFFD), so only well-formed text counts.
        const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;
        fc.pre(wellFormed(a) && wellFormed(b));
        expect(Math.sign(compareText(a, b))).toBe(bytes);
      }),
      { numRuns: 2000 },
    );
    expect(compareText('😀', '\uFFFD')).toBeGreaterThan(0);
    expect(compareText('B', 'a')).toBeLessThan(0);
  });

  it('canonicalises key parts by declared type', () => {
    expect(canonicalKeyPart(' 7 ', 'integer')).toBe(7);
    expect(canonicalKeyPart(7n, 'integer')).toBe(7);
    expect(canonicalKeyPart('7.5', 'integer')).toBeUndefined();
    expect(canonicalKeyPart(2 ** 60, 'integer')).toBeUndefined();
    expect(canonicalKeyPart(7, 'text')).toBe('7');
    expect(canonicalKeyPart('', 'text')).toBeNull();
    expect(canonicalKeyPart(null, 'integer')).toBeNull();
    expect(compareKeys([2, 'b'], [10, 'a'], 2)).toBeLessThan(0);
    expect(compareKeys([2, 'b'], [2, 'a'], 2)).toBeGreaterThan(0);
  });
});

describe('value comparison', () => {
  it('equal without settings: same value, or a number and the text that reads as it', () => {
    expect(plainEqual(7, '7')).toBe(true);
    expect(plainEqual('7.0', 7)).toBe(true);
    expect(plainEqual('007', '7')).toBe(false);
    expect(plainEqual(null, '')).toBe(false);
    expect(plainEqual(Buffer.from('ab'), Buffer.from('ab'))).toBe(true);
    expect(readNumber(' -1.5e3 ')).toBe(-1500);
    expect(readNumber('1,5')).toBeUndefined();
  });

  it('rounds half away from zero on the decimal text', () => {
    expect(roundTo(2.675, 2)).toBe(2.68);
    expect(roundTo(-2.675, 2)).toBe(-2.68);
    expect(roundTo(1.005, 2)).toBe(1.01);
    expect(roundTo(1e-7, 2)).toBe(0);
  });

  it("applies datacompy's tolerance rule with the target as reference", () => {
    const equal = compileComparer(columnSpec.parse({ tolerance: { abs: 0.5, rel: 0.1 } }));
    expect(equal(110, 100)).toBe(true); // 10 <= 0.5 + 10
    expect(equal(110.6, 100)).toBe(false);
    expect(equal(100, 110)).toBe(true); // 10 <= 0.5 + 11
    expect(equal(null, null)).toBe(true);
    expect(equal(null, 0)).toBe(false);
    expect(() => equal('ten', 10)).toThrow('cannot read `ten` as a number');
  });
});

describe('dates and zones', () => {
  it('reads offsets, IANA zones across daylight saving, and cuts to a precision', () => {
    expect(zoneOffsetMinutes('+05:30', 0)).toBe(330);
    expect(zoneOffsetMinutes('Europe/Berlin', Date.UTC(2025, 0, 1))).toBe(60);
    expect(zoneOffsetMinutes('Europe/Berlin', Date.UTC(2025, 6, 1))).toBe(120);
    expect(zoneOffsetMinutes('Mars/Olympus', 0)).toBeUndefined();
    expect(parseInstant('2025-03-30 03:30:00', 'Europe/Berlin')).toBe(Date.UTC(2025, 2, 30, 1, 30));
    expect(parseInstant('2025-10-26T12:00:00-04:00', 'UTC')).toBe(Date.UTC(2025, 9, 26, 16));
    expect(parseInstant('2025-02-30', 'UTC')).toBeUndefined();
    expect(parseInstant('yesterday', 'UTC')).toBeUndefined();
    const late = Date.UTC(2025, 5, 14, 23, 30);
    expect(cutInstant(late, 'day', 'UTC')).not.toBe(cutInstant(late, 'day', 'Europe/Berlin'));
    expect(cutInstant(late + 999, 'second', 'UTC')).toBe(late);
  });
});

describe('sample hash', () => {
  it('computes the same integer hash in SQLite as in JavaScript, negative keys included', () => {
    const db = new Database(':memory:');
    for (const seed of [0, 1, 'rehearsal-3']) {
      const p = hashParams(seed);
      const keys = [0, 1, 2, -1, -2147483648, 2147483646, 2147483647, 9007199254740991, -9007199254740991, 123456789];
      const sqlValues = keys.map(
        (k) => (db.prepare(`SELECT ${integerHashSql('k', p)} AS h FROM (SELECT CAST(? AS INTEGER) AS k)`).get(k) as { h: number }).h,
      );
      expect(sqlValues).toEqual(keys.map((k) => integerHash(k, p)));
    }
    db.close();
  });

  it('walks a key range to exactly the keys whose hash is below the threshold, across 0 and the prime', () => {
    for (const seed of [0, 'night-2']) {
      const p = hashParams(seed);
      for (const [lo, hi, percent] of [
        [1, 20_000, 1],
        [-5_000, 5_000, 10],
        [PRIME - 3_000, PRIME + 3_000, 50],
        [7, 7, 100],
      ] as const) {
        const threshold = percentThreshold(percent);
        const expected: number[] = [];
        for (let k = lo; k <= hi; k += 1) if (integerHash(k, p) < threshold) expected.push(k);
        expect(sampledKeysInRange(lo, hi, p, threshold), `${seed} ${lo}..${hi}`).toEqual(expected);
      }
    }
  });

  it('spreads keys evenly and depends on the seed', () => {
    const a = keyHasher(['integer'], hashParams(1));
    const b = keyHasher(['integer'], hashParams(2));
    const threshold = percentThreshold(10);
    let inA = 0;
    let inBoth = 0;
    for (let k = 1; k <= 100_000; k += 1) {
      const x = a([k]) < threshold;
      if (x) inA += 1;
      if (x && b([k]) < threshold) inBoth += 1;
    }
    expect(inA).toBeGreaterThan(9000);
    expect(inA).toBeLessThan(11000);
    expect(inBoth).toBeLessThan(1500); // about 10% of 10%: independent choices
    // Every residue class gets its share (a migration bug may hit every 10th or every 7th key).
    for (const m of [7, 10, 1000]) {
      let picked = 0;
      for (let j = 0; j < 20_000; j += 1) if (a([m * j + 3]) < threshold) picked += 1;
      expect(picked).toBeGreaterThan(1700);
      expect(picked).toBeLessThan(2300);
    }
    expect(textHash(['a', 'b'], 2, hashParams(1))).not.toBe(textHash(['ab', ''], 2, hashParams(1)));
    expect(percentThreshold(100)).toBe(PRIME);
  });

  it('keeps the N smallest values', () => {
    const lowest = new SmallestN(3);
    for (const v of [9, 4, 7, 1, 8, 2]) lowest.add(v);
    expect([lowest.count, lowest.max(), lowest.kth(1), lowest.kth(2)]).toEqual([3, 4, 1, 2]);
  });
});

describe('limits', () => {
  it('says each exceeded limit in words', () => {
    const counts = {
      matched: 90,
      missing_in_target: 2,
      extra_in_target: 0,
      mismatched: 10,
      duplicate_keys: { source: 1, target: 0 },
      null_keys: { source: 0, target: 0 },
    };
    expect(
      limitViolations(counts, {
        max_missing: 2,
        max_extra: 0,
        max_mismatched: 20,
        max_mismatch_rate: 0.05,
        max_duplicate_keys: 0,
        max_null_keys: 0,
      }),
    ).toEqual(['mismatch rate 10% of 100 compared rows (limit 5%)', '1 duplicate key (source 1, target 0; limit 0)']);
  });
});

describe('config rules', () => {
  it('locates problems in the file', () => {
    const parsed = parseReconcileConfig(
      'source: { driver: csv, path: a.csv, header: false, encoding: klingon }\ntarget: { driver: csv, path: b.csv, header: false }\nkey: id\ncolumns:\n  a: { target: x }\n  b: { target: x }\n',
      'c.yaml',
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`)).toEqual([
      '1:45 source.header: a CSV file without a header row needs `columns` naming its columns in order; add `columns: [...]`',
      '2:45 target.header: a CSV file without a header row needs `columns` naming its columns in order; add `columns: [...]`',
      '6:16 columns.b.target: `b` and `a` both compare with target column `x`; give each its own target column',
    ]);
    const docs = readFileSync(path.resolve(import.meta.dirname, '../docs/reconciliation.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(example, 'the config example of docs/reconciliation.md').toContain('source:');
    const fromDocs = parseReconcileConfig(example ?? '', 'docs/reconciliation.md');
    expect(fromDocs.ok ? [] : fromDocs.problems).toEqual([]);
    const empty = parseReconcileConfig('', 'e.yaml');
    expect(empty.ok || empty.problems[0]!.message).toBe(
      'a reconciliation config must be a YAML mapping with `source`, `target` and `key`; this file is empty',
    );
  });
});
