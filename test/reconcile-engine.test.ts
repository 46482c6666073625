/**
 * The reconciliation engine against real files: SQLite and CSV sides, composite keys, duplicate
 * and empty keys, every normalisation and tolerance, deterministic sampling, CSV dialects.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, ReconcileCancelledError, SourceError } from '../reconcile/errors.js';
import { reconcile } from '../reconcile/reconcile.js';
import { config, csvFile, scratch, sqliteFile } from './support/reconcile-data.js';

const dir = scratch();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CUSTOMERS = 'CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, balance REAL, status TEXT)';

describe('SQLite against SQLite', () => {
  const old = sqliteFile(dir, 'old.db', CUSTOMERS, [
    [1, 'Ada', 10.5, 'A'],
    [2, 'Bob', 20, 'I'],
    [3, 'Cy', 30, 'A'],
    [4, 'Di', 40, 'A'],
  ]);
  const fresh = sqliteFile(dir, 'new.db', CUSTOMERS, [
    [1, 'Ada', 10.5, 'A'],
    [2, 'Bob', 21, 'I'],
    [4, 'Di', 40, 'A'],
    [5, 'Ed', 50, 'A'],
  ]);
  const base = `source: { driver: sqlite, path: ${old}, table: customers }\ntarget: { driver: sqlite, path: ${fresh}, table: customers }\n`;

  it('counts matched, missing, extra and mismatched keys, per column, with examples', async () => {
    const result = await reconcile(
      config(`${base}key: [{ column: id, type: integer }]\nlimits: { max_missing: 1, max_extra: 1, max_mismatched: 1 }`),
    );
    expect(result).toMatchObject({
      matched: 2,
      missing_in_target: 1,
      extra_in_target: 1,
      mismatched: 1,
      within_limits: true,
      sampled: false,
    });
    expect(result.columns).toEqual([
      { source: 'name', target: 'name', mismatched: 0 },
      { source: 'balance', target: 'balance', mismatched: 1 },
      { source: 'status', target: 'status', mismatched: 0 },
    ]);
    expect(result.examples).toEqual([
      { kind: 'mismatched', key: { id: 2 }, columns: ['balance'], source: { balance: 20 }, target: { balance: 21 } },
      {
        kind: 'missing_in_target',
        key: { id: 3 },
        columns: ['name', 'balance', 'status'],
        source: { name: 'Cy', balance: 30, status: 'A' },
        target: null,
      },
      {
        kind: 'extra_in_target',
        key: { id: 5 },
        columns: ['name', 'balance', 'status'],
        source: null,
        target: { name: 'Ed', balance: 50, status: 'A' },
      },
    ]);
    expect(result.rows_read).toEqual({ source: 4, target: 4 });
  });

  it('fails the limits with one sentence per limit', async () => {
    const result = await reconcile(config(`${base}key: id\nlimits: { max_mismatch_rate: 0.1 }`));
    expect(result.within_limits).toBe(false);
    expect(result.limit_violations).toEqual([
      '1 key missing in the target (limit 0)',
      '1 key only in the target (limit 0)',
      '1 row with differing values (limit 0)',
      'mismatch rate 33.3% of 3 compared rows (limit 10%)',
    ]);
  });

  it('applies an absolute or relative tolerance (|a-b| <= abs + rel*|b|)', async () => {
    const abs = await reconcile(config(`${base}key: id\ncolumns: { balance: { tolerance: { abs: 1 } } }`));
    expect(abs.mismatched).toBe(0);
    const rel = await reconcile(config(`${base}key: id\ncolumns: { balance: { tolerance: { rel: 0.05 } } }`));
    expect(rel.mismatched).toBe(0);
    const tight = await reconcile(config(`${base}key: id\ncolumns: { balance: { tolerance: { abs: 0.5, rel: 0.01 } } }`));
    expect(tight.mismatched).toBe(1);
  });

  it('ignores columns and reports target columns nobody compares', async () => {
    const wide = sqliteFile(
      dir,
      'wide.db',
      'CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, balance REAL, status TEXT, created TEXT)',
      [[1, 'Ada', 10.5, 'A', 'x']],
    );
    const result = await reconcile(
      config(
        `source: { driver: sqlite, path: ${old}, query: "SELECT * FROM customers WHERE id = 1" }\ntarget: { driver: sqlite, path: ${wide}, table: customers }\nkey: id\nignore: [balance]`,
      ),
    );
    expect(result).toMatchObject({ matched: 1, target_columns_not_compared: ['created'] });
    expect(result.columns.map((c) => c.source)).toEqual(['name', 'status']);
  });

  it('names the side and the column that is missing', async () => {
    await expect(reconcile(config(`${base}key: id\ncolumns: { name: { target: full_name } }`))).rejects.toThrow(
      new SourceError(
        'target',
        `the target (SQLite file ${fresh}) has no column \`full_name\` to compare with source column \`name\`; map it with \`columns.name.target\` or add \`name\` to \`ignore\``,
      ),
    );
    await expect(reconcile(config(`${base.replace('table: customers', 'table: clients')}key: id`))).rejects.toThrow(
      /the source \(SQLite file .*old.db\) has no table `clients`; check `source.table` \(it has customers\)/,
    );
    await expect(reconcile(config(`${base.replace(old, `${dir}/nope.db`)}key: id`))).rejects.toThrow(
      /the source \(SQLite file .*nope.db\) does not exist/,
    );
  });
});

describe('keys', () => {
  it('pairs composite keys, and reports duplicate and empty keys without comparing them', async () => {
    const ddl = 'CREATE TABLE lines (order_id INTEGER, line TEXT, qty INTEGER)';
    const a = sqliteFile(dir, 'lines-a.db', ddl, [
      [1, 'a', 1],
      [1, 'b', 2],
      [2, 'a', 3],
      [2, 'a', 4],
      [3, null, 5],
      [4, 'z', 6],
    ]);
    const b = sqliteFile(dir, 'lines-b.db', ddl, [
      [1, 'b', 2],
      [1, 'a', 1],
      [2, 'a', 3],
      [null, 'x', 9],
      [4, 'z', 7],
      [4, 'z', 7],
    ]);
    const result = await reconcile(
      config(
        `source: { driver: sqlite, path: ${a}, table: lines }\ntarget: { driver: sqlite, path: ${b}, table: lines }\nkey: [{ column: order_id, type: integer }, line]`,
      ),
    );
    expect(result).toMatchObject({ matched: 2, mismatched: 0, missing_in_target: 0, extra_in_target: 0 });
    expect(result.duplicate_keys).toEqual({ source: 1, target: 1 });
    expect(result.null_keys).toEqual({ source: 1, target: 1 });
    expect(result.key_examples).toEqual(
      expect.arrayContaining([
        { kind: 'null_key', side: 'source', key: { order_id: 3, line: null } },
        { kind: 'null_key', side: 'target', key: { order_id: null, line: 'x' } },
        { kind: 'duplicate_key', side: 'source', key: { order_id: 2, line: 'a' }, rows: 2 },
        { kind: 'duplicate_key', side: 'target', key: { order_id: 4, line: 'z' }, rows: 2 },
      ]),
    );
    expect(result.within_limits).toBe(false);
  });

  it('matches integer 7 with text "7" when the key is declared integer, in numeric order', async () => {
    const a = sqliteFile(dir, 'int.db', 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)', [
      [7, 'x'],
      [10, 'y'],
      [9, 'z'],
    ]);
    const b = sqliteFile(dir, 'text.db', 'CREATE TABLE t (id TEXT, v TEXT)', [
      ['10', 'y'],
      ['7', 'x'],
      [' 9', 'z'],
    ]);
    const sides = `source: { driver: sqlite, path: ${a}, table: t }\ntarget: { driver: sqlite, path: ${b}, table: t }\n`;
    expect(await reconcile(config(`${sides}key: [{ column: id, type: integer }]`))).toMatchObject({ matched: 3, missing_in_target: 0 });
    // As text, " 9" is another key than "9".
    expect(await reconcile(config(`${sides}key: id`))).toMatchObject({ matched: 2, missing_in_target: 1, extra_in_target: 1 });
  });

  it('refuses a key value that is not of the declared type, naming the side, column and value', async () => {
    const a = sqliteFile(dir, 'bad-key.db', 'CREATE TABLE t (id TEXT, v TEXT)', [
      ['1', 'x'],
      ['one', 'y'],
    ]);
    const err = await reconcile(
      config(
        `source: { driver: sqlite, path: ${a}, table: t }\ntarget: { driver: sqlite, path: ${a}, table: t }\nkey: [{ column: id, type: integer }]`,
      ),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toBe(
      `the source (SQLite file ${a}) holds \`one\` in key column \`id\`, which is not an integer as the key declares; declare the key as text or fix the row`,
    );
  });

  it('orders text keys by their UTF-8 bytes on both sides (case, accents, emoji)', async () => {
    const keys = ['b', 'B', 'a', 'é', 'e', 'Z', '😀', '\uFFFD', 'ab', 'a b', '10', '9'];
    const a = sqliteFile(
      dir,
      'text-keys.db',
      'CREATE TABLE t (k TEXT COLLATE NOCASE, v INTEGER)',
      keys.map((k, i) => [k, i]),
    );
    const csv = csvFile(
      dir,
      'text-keys.csv',
      `k,v\n${[...keys]
        .reverse()
        .map((k) => `"${k}",${keys.indexOf(k)}`)
        .join('\n')}\n`,
    );
    const result = await reconcile(
      config(`source: { driver: sqlite, path: ${a}, table: t }\ntarget: { driver: csv, path: ${csv} }\nkey: k`),
    );
    expect(result).toMatchObject({ matched: keys.length, missing_in_target: 0, extra_in_target: 0, mismatched: 0 });
  });
});

describe('normalisation', () => {
  const ddl = 'CREATE TABLE t (id INTEGER PRIMARY KEY, v)';
  const pair = (name: string, source: unknown[], target: unknown[]) => {
    const a = sqliteFile(
      dir,
      `${name}-a.db`,
      ddl,
      source.map((v, i) => [i + 1, v]),
    );
    const b = sqliteFile(
      dir,
      `${name}-b.db`,
      ddl,
      target.map((v, i) => [i + 1, v]),
    );
    return `source: { driver: sqlite, path: ${a}, table: t }\ntarget: { driver: sqlite, path: ${b}, table: t }\nkey: id\n`;
  };
  const mismatched = async (sides: string, column: string) => (await reconcile(config(`${sides}columns: { v: ${column} }`))).mismatched;

  it('trim and case', async () => {
    const sides = pair('trim', [' Ada ', 'BOB', 'Cy'], ['Ada', 'bob', 'cy ']);
    expect(await mismatched(sides, '{ }')).toBe(3);
    expect(await mismatched(sides, '{ trim: true }')).toBe(2);
    expect(await mismatched(sides, '{ case: lower }')).toBe(2);
    expect(await mismatched(sides, '{ trim: true, case: upper }')).toBe(0);
  });

  it('null equals empty', async () => {
    const sides = pair('nulls', ['', null, '  ', 'x'], [null, '', null, null]);
    expect(await mismatched(sides, '{ }')).toBe(4);
    expect(await mismatched(sides, '{ null_equals_empty: true }')).toBe(2);
    expect(await mismatched(sides, '{ null_equals_empty: true, trim: true }')).toBe(1);
  });

  it('value maps (old code -> new code)', async () => {
    const sides = pair('map', ['A', 'I', 'X', 'A'], ['active', 'inactive', 'X', 'inactive']);
    expect(await mismatched(sides, '{ map: { A: active, I: inactive } }')).toBe(1);
  });

  it('number precision and type', async () => {
    const sides = pair('precision', [2.675, 1.004, '5.00', 3], [2.68, 1, '5', '3.0']);
    expect(await mismatched(sides, '{ }')).toBe(3);
    expect(await mismatched(sides, '{ type: number }')).toBe(2);
    expect(await mismatched(sides, '{ precision: 2 }')).toBe(0);
  });

  it('dates and times in one zone and precision', async () => {
    const sides = pair(
      'datetime',
      ['2025-06-14 22:00:00', '2025-06-14T22:00:00.900', '2025-01-01 00:30', '2025-06-14'],
      ['2025-06-14T20:00:00Z', '2025-06-14 20:00:00+00:00', '2024-12-31T23:30:00Z', '2025-06-13T22:00:00Z'],
    );
    expect(await mismatched(sides, '{ }')).toBe(4);
    expect(await mismatched(sides, '{ datetime: { source_zone: Europe/Berlin } }')).toBe(0);
    expect(await mismatched(sides, '{ datetime: { source_zone: Europe/Berlin, precision: millisecond } }')).toBe(1);
    expect(await mismatched(sides, '{ datetime: { precision: minute } }')).toBe(4);
    expect(await mismatched(sides, '{ datetime: { zone: Europe/Berlin, target_zone: UTC, precision: day } }')).toBe(0);
  });

  it('a value that cannot be compared names the side, the row and the column', async () => {
    const sides = pair('bad-date', ['2025-06-14', 'soon'], ['2025-06-14', '2025-06-15']);
    await expect(reconcile(config(`${sides}columns: { v: { datetime: {} } }`))).rejects.toThrow(
      /^the source \(SQLite file .*bad-date-a.db\), row id=`2`: column `v` holds `soon`, which cannot be read as a date\/time/,
    );
  });
});

describe('sampling', () => {
  const rows = Array.from({ length: 2000 }, (_, i) => [i + 1, `n${i}`, i % 4 === 0 ? 'rare' : 'common']);
  const ddl = 'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, region TEXT)';
  const a = sqliteFile(dir, 'sample-a.db', ddl, rows);
  const b = sqliteFile(
    dir,
    'sample-b.db',
    ddl,
    rows.filter((r) => (r[0] as number) % 100 !== 0),
  );
  const csv = csvFile(dir, 'sample.csv', `id,name,region\n${rows.map((r) => r.join(',')).join('\n')}\n`);
  const sides = `source: { driver: sqlite, path: ${a}, table: t }\ntarget: { driver: sqlite, path: ${b}, table: t }\nkey: [{ column: id, type: integer }]\nexamples: 1000\n`;
  const keysOf = (result: Awaited<ReturnType<typeof reconcile>>) => result.examples.map((e) => e.key.id);

  it('picks the same keys on both sides for the same seed, and other keys for another seed', async () => {
    const one = await reconcile(config(`${sides}sample: { percent: 10, seed: 1 }`));
    const again = await reconcile(config(`${sides}sample: { percent: 10, seed: 1 }`));
    const other = await reconcile(config(`${sides}sample: { percent: 10, seed: 2 }`));
    expect(one.sampled).toBe(true);
    // Only the 20 deleted keys differ; a sample finds the ones it holds, never a false "extra".
    expect(one.extra_in_target).toBe(0);
    expect(one.matched + one.missing_in_target).toBeGreaterThan(140);
    expect(one.matched + one.missing_in_target).toBeLessThan(260);
    expect(again).toMatchObject({ matched: one.matched, missing_in_target: one.missing_in_target });
    expect(keysOf(again)).toEqual(keysOf(one));
    expect(one.rows_read.source).toBe(one.matched + one.missing_in_target);
    expect(other.matched).not.toBe(one.matched);
  });

  it('picks the same keys from a CSV file (hashed in JavaScript) as from SQLite (hashed in SQL)', async () => {
    const fromSqlite = await reconcile(config(`${sides}sample: { percent: 5, seed: 7 }`));
    const fromCsv = await reconcile(
      config(`${sides.replace(`driver: sqlite, path: ${a}, table: t`, `driver: csv, path: ${csv}`)}sample: { percent: 5, seed: 7 }`),
    );
    expect(fromCsv).toMatchObject({ matched: fromSqlite.matched, missing_in_target: fromSqlite.missing_in_target, extra_in_target: 0 });
    expect(keysOf(fromCsv)).toEqual(keysOf(fromSqlite));
  });

  it('picks the same keys whether it looks them up by rowid, scans with the hash in SQL, or hashes in JavaScript', async () => {
    // `id INT` is not the rowid: that table is sampled by scanning; `INTEGER PRIMARY KEY` by walking the key range.
    const scanned = sqliteFile(dir, 'sample-scan.db', 'CREATE TABLE t (id INT, name TEXT, region TEXT)', rows);
    const lookedUp = await reconcile(config(`${sides}sample: { percent: 3, seed: 11 }`));
    const viaScan = await reconcile(config(`${sides.replace(`path: ${a}`, `path: ${scanned}`)}sample: { percent: 3, seed: 11 }`));
    const viaCsv = await reconcile(
      config(`${sides.replace(`driver: sqlite, path: ${a}, table: t`, `driver: csv, path: ${csv}`)}sample: { percent: 3, seed: 11 }`),
    );
    expect(lookedUp.rows_read.source).toBeGreaterThan(30);
    expect(viaScan.rows_read).toEqual(lookedUp.rows_read);
    for (const other of [viaScan, viaCsv]) {
      expect(other).toMatchObject({ matched: lookedUp.matched, missing_in_target: lookedUp.missing_in_target, extra_in_target: 0 });
      expect(keysOf(other)).toEqual(keysOf(lookedUp));
    }
  });

  it('takes N rows: the N source keys with the lowest hash', async () => {
    const result = await reconcile(config(`${sides}sample: { rows: 100, seed: 3 }`));
    expect(result.matched + result.missing_in_target).toBe(100);
    expect(result.extra_in_target).toBe(0);
  });

  it('stratifies: every value of the column is represented', async () => {
    const few = await reconcile(
      config(`${sides.replace('examples: 1000', 'examples: 0')}sample: { rows: 8, seed: 5, stratify_by: region }`),
    );
    expect(few.sample).toMatchObject({ method: 'rows', size: 8, stratify_by: 'region', strata: 2 });
    expect(few.matched + few.missing_in_target).toBe(8);
    const tiny = await reconcile(config(`${sides}sample: { percent: 0.01, seed: 5, stratify_by: region }`));
    expect(tiny.matched + tiny.missing_in_target).toBeGreaterThanOrEqual(2);
  });
});

describe('CSV', () => {
  const db = sqliteFile(dir, 'people.db', 'CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, city TEXT)', [
    [1, 'Müller, Jürgen', 'Köln'],
    [2, 'O"Brien', 'Dublin\nNorth'],
    [3, 'Zoë', 'Paris'],
  ]);
  const target = `target: { driver: sqlite, path: ${db}, table: people }\nkey: [{ column: id, type: integer }]\n`;

  it('reads quoting, embedded line breaks and another delimiter', async () => {
    const csv = csvFile(dir, 'people.csv', 'id;name;city\r\n3;Zoë;Paris\r\n1;"Müller, Jürgen";Köln\r\n2;"O""Brien";"Dublin\nNorth"\r\n');
    expect(await reconcile(config(`source: { driver: csv, path: ${csv}, delimiter: ";" }\n${target}`))).toMatchObject({
      matched: 3,
      mismatched: 0,
    });
  });

  it('reads other encodings, other quote characters and files without a header', async () => {
    const latin = csvFile(dir, 'people-latin1.csv', "1|'Müller, Jürgen'|Köln\n2|O\"Brien|'Dublin\nNorth'\n3|Zoë|Paris\n", 'latin1');
    const spec = `source: { driver: csv, path: ${latin}, delimiter: "|", quote: "'", encoding: windows-1252, header: false, columns: [id, name, city] }\n`;
    expect(await reconcile(config(`${spec}${target}`))).toMatchObject({ matched: 3, mismatched: 0 });
    const utf16 = csvFile(
      dir,
      'people-utf16.csv',
      '\uFEFFid,name,city\n1,"Müller, Jürgen",Köln\n2,"O""Brien","Dublin\nNorth"\n3,Zoë,Paris\n',
      'utf16le',
    );
    expect(await reconcile(config(`source: { driver: csv, path: ${utf16}, encoding: utf-16le }\n${target}`))).toMatchObject({ matched: 3 });
  });

  it('gives the same answer whether the file is in key order or not (read as it lies, else sorted)', async () => {
    const lines = [
      '1,"Müller, Jürgen",Köln',
      '2,"O""Brien","Dublin\nNorth"',
      '3,Zoë,Paris',
      ',nobody,Nowhere',
      '3,Zoë,Paris',
      '4,Extra,Row',
    ];
    const inOrder = csvFile(dir, 'ordered.csv', `id,name,city\n${lines.join('\n')}\n`);
    const lastMisplaced = csvFile(dir, 'misplaced.csv', `id,name,city\n${[...lines.slice(0, 5), '0,Early,Row'].join('\n')}\n`);
    const ordered = await reconcile(config(`source: { driver: csv, path: ${inOrder} }\n${target}`));
    expect(ordered).toMatchObject({
      matched: 2,
      extra_in_target: 0,
      missing_in_target: 1,
      duplicate_keys: { source: 1, target: 0 },
      null_keys: { source: 1, target: 0 },
    });
    const misplaced = await reconcile(config(`source: { driver: csv, path: ${lastMisplaced} }\n${target}`));
    expect(misplaced).toMatchObject({
      matched: 2,
      missing_in_target: 1,
      duplicate_keys: { source: 1, target: 0 },
      null_keys: { source: 1, target: 0 },
    });
    expect(misplaced.examples[0]).toMatchObject({ kind: 'missing_in_target', key: { id: 0 } });
  });

  it('names the line of a malformed row', async () => {
    const bad = csvFile(dir, 'bad.csv', 'id,name,city\n1,a,b\n2,"unclosed,c\n');
    await expect(reconcile(config(`source: { driver: csv, path: ${bad} }\n${target}`))).rejects.toThrow(
      /^the source \(CSV file .*bad.csv\), line \d+: .*quote/i,
    );
    const short = csvFile(dir, 'short.csv', 'id,name,city\n1,a,b\n2,c\n');
    await expect(reconcile(config(`source: { driver: csv, path: ${short} }\n${target}`))).rejects.toThrow(
      /^the source \(CSV file .*short.csv\), line 3: /,
    );
  });
});

describe('progress and cancelling', () => {
  const rows = Array.from({ length: 30_000 }, (_, i) => [i, `v${i}`]);
  const a = sqliteFile(dir, 'progress.db', 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)', rows);
  const yaml = `source: { driver: sqlite, path: ${a}, table: t }\ntarget: { driver: sqlite, path: ${a}, table: t }\nkey: [{ column: id, type: integer }]`;

  it('reports rows read per side as it goes', async () => {
    const seen: { source: number; target: number }[] = [];
    const result = await reconcile(config(yaml), { onProgress: (p) => seen.push(p.rows_read), batchSize: 1000 });
    expect(result.matched).toBe(30_000);
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.at(-1)).toEqual({ source: 30_000, target: 30_000 });
  });

  it('stops when its signal aborts, without a result', async () => {
    const stop = new AbortController();
    const run = reconcile(config(yaml), {
      batchSize: 1000,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.rows_read.source > 5000) stop.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(ReconcileCancelledError);
  });

  // `id INT` is not the rowid, so its sample is scanned in a thread; the rowid table's is looked up.
  const scanned = sqliteFile(dir, 'progress-scan.db', 'CREATE TABLE t (id INT, v TEXT)', rows);
  it.each([
    ['read in its own thread (flow control, no hang)', yaml.replaceAll(`path: ${a}`, `path: ${scanned}`)],
    ['looked up by rowid', yaml],
  ])('stops a sample %s as well', async (_, yaml) => {
    const stop = new AbortController();
    const run = reconcile(config(`${yaml}\nsample: { percent: 60, seed: 1 }`), {
      batchSize: 500,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.phase === 'comparing' && p.rows_read.target > 3000) stop.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(ReconcileCancelledError);
    const whole = await reconcile(config(`${yaml}\nsample: { percent: 60, seed: 1 }`), { batchSize: 500 });
    expect(whole.matched).toBeGreaterThan(17_000);
    expect(whole.matched).toBeLessThan(19_000);
  });
});
