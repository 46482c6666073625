/**
 * Reconciliation against a real PostgreSQL server that the test starts: PostgreSQL against SQLite
 * and CSV, text keys under a locale collation (which orders differently from bytes), integer keys
 * stored as text, PostgreSQL's types against SQLite's, sampling hashed in SQL on both servers,
 * and the errors of a wrong password, a missing database, table or key value.
 */
import { rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, SourceError } from '../reconcile/errors.js';
import { reconcile } from '../reconcile/reconcile.js';
import { commandEnvironment } from '../activities/action-context.js';
import { runReconcileProcess } from '../activities/reconcile-process.js';
import { eventually } from './support/cli.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';
import { config, csvFile, scratch, sqliteFile } from './support/reconcile-data.js';

const PASSWORD = 'reconcile-pw';
let server: TestPostgres;
let url: string;
const dir = scratch();
let localeCollation: string | undefined;

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  server = await startPostgres({ password: PASSWORD });
  url = server.url('postgres');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // A locale collation sorts `a` < `B` < `b`; bytes sort `B` < `a` < `b`. ICU gives one whatever the
  // server's own locale.
  const found = await client.query<{ collname: string }>(
    `SELECT collname FROM pg_collation WHERE collname IN ('en-US-x-icu', 'und-x-icu', 'en_US.utf8') ORDER BY collname LIMIT 1`,
  );
  localeCollation = found.rows[0]?.collname;
  await client.end();
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('PostgreSQL against SQLite and CSV', () => {
  it('pairs text keys by bytes although the column sorts by a locale', async () => {
    const keys = ['b', 'B', 'a', 'A', 'é', 'e', 'Z', 'a b', 'ab', '10', '9', '😀'];
    const collate = localeCollation ? ` COLLATE "${localeCollation}"` : '';
    await sql(
      `CREATE TABLE words (k text${collate} PRIMARY KEY, n integer); INSERT INTO words VALUES ${keys.map((k, i) => `('${k}', ${i})`).join(', ')}`,
    );
    const lite = sqliteFile(
      dir,
      'words.db',
      'CREATE TABLE words (k TEXT, n INTEGER)',
      keys.map((k, i) => [k, i]),
    );
    const result = await reconcile(
      config(`source: { driver: postgres, url: "${url}", table: words }\ntarget: { driver: sqlite, path: ${lite}, table: words }\nkey: k`),
    );
    expect(result).toMatchObject({ matched: keys.length, missing_in_target: 0, extra_in_target: 0, mismatched: 0 });
  });

  it("compares PostgreSQL's types with SQLite's and a CSV file's", async () => {
    await sql(`CREATE TABLE accounts (id text, balance numeric(12,2), active boolean, opened timestamptz, seen date, big bigint);
      INSERT INTO accounts VALUES
        ('1', 10.50, true, '2025-06-14 22:00:00+02', '2025-06-14', 9007199254740993),
        ('2', 20.00, false, '2025-06-15 08:00:00+00', '2025-06-15', 5),
        ('10', 0.10, true, '2025-01-01 00:00:00+00', '2025-01-01', 7)`);
    const lite = sqliteFile(
      dir,
      'accounts.db',
      'CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance REAL, active INTEGER, opened TEXT, seen TEXT, big INTEGER)',
      [
        [1, 10.5, 1, '2025-06-14 22:00:00', '2025-06-14', '9007199254740993'],
        [2, 20, 0, '2025-06-15 10:00:00', '2025-06-15', 5],
        [10, 0.1, 1, '2025-01-01 01:00:00', '2025-01-01', 7],
      ],
    );
    const result = await reconcile(
      config(
        `source: { driver: postgres, url: "${url}", table: accounts }\ntarget: { driver: sqlite, path: ${lite}, table: accounts }\n` +
          `key: [{ column: id, type: integer }]\ncolumns: { opened: { datetime: { target_zone: Europe/Berlin } } }\nexamples: 10`,
      ),
    );
    expect(result.examples).toEqual([]);
    expect(result).toMatchObject({ matched: 3, mismatched: 0 });

    const csv = csvFile(
      dir,
      'accounts.csv',
      'id,balance,active,opened,seen,big\n10,0.1,1,2025-01-01T00:00:00Z,2025-01-01,7\n2,20,0,2025-06-15T08:00:00Z,2025-06-15,5\n1,10.5,1,2025-06-14T20:00:00Z,2025-06-14,9007199254740993\n',
    );
    const fromCsv = await reconcile(
      config(
        `source: { driver: postgres, url: "${url}", query: "SELECT * FROM accounts WHERE id <> '2'" }\ntarget: { driver: csv, path: ${csv} }\n` +
          `key: [{ column: id, type: integer }]\ncolumns: { opened: { datetime: {} }, balance: { type: number } }\nlimits: { max_extra: 1 }`,
      ),
    );
    expect(fromCsv).toMatchObject({ matched: 2, mismatched: 0, extra_in_target: 1, within_limits: true });
  });

  it('samples the same keys in PostgreSQL as in SQLite (the hash runs in SQL on both)', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => [i + 1, `n${i % 37}`]);
    await sql(
      `CREATE TABLE items (id bigint PRIMARY KEY, name text); INSERT INTO items SELECT g, 'n' || ((g - 1) % 37) FROM generate_series(1, 3000) g WHERE g % 50 <> 0`,
    );
    const lite = sqliteFile(dir, 'items.db', 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)', rows);
    const sides = (seed: number) =>
      `source: { driver: sqlite, path: ${lite}, table: items }\ntarget: { driver: postgres, url: "${url}", table: items }\nkey: [{ column: id, type: integer }]\nexamples: 1000\nsample: { percent: 10, seed: ${seed} }`;
    const result = await reconcile(config(sides(11)));
    // The 60 keys missing from PostgreSQL: a sample holds about a tenth of them, and no false extra.
    expect(result.extra_in_target).toBe(0);
    expect(result.missing_in_target).toBeGreaterThan(0);
    expect(result.missing_in_target).toBeLessThan(20);
    expect(result.rows_read.target).toBe(result.matched);
    expect(result.rows_read.source).toBe(result.matched + result.missing_in_target);
    expect(result.examples.every((e) => (e.key.id as number) % 50 === 0)).toBe(true);
    const again = await reconcile(config(sides(11)));
    expect(again.examples).toEqual(result.examples);
  });

  it('reads a table larger than one batch through the cursor', async () => {
    await sql(
      `CREATE TABLE many (id integer PRIMARY KEY, v text); INSERT INTO many SELECT g, md5(g::text) FROM generate_series(1, 12000) g`,
    );
    const result = await reconcile(
      config(
        `source: { driver: postgres, url: "${url}", table: many }\ntarget: { driver: postgres, url: "${url}", query: "SELECT * FROM many WHERE id > 10" }\nkey: [{ column: id, type: integer }]`,
      ),
      { batchSize: 1000 },
    );
    expect(result).toMatchObject({ matched: 11990, missing_in_target: 10, rows_read: { source: 12000, target: 11990 } });
  });
});

describe('PostgreSQL errors', () => {
  const other = () => `target: { driver: postgres, url: "${url}", query: "SELECT 1 AS id" }\nkey: id`;

  it('a wrong password, a missing database and a missing table are one sentence each', async () => {
    const wrong = url.replace(PASSWORD, 'nope');
    await expect(reconcile(config(`source: { driver: postgres, url: "${wrong}", table: t }\n${other()}`))).rejects.toThrow(
      new SourceError(
        'source',
        `cannot connect to the source (PostgreSQL at 127.0.0.1:${server.port}/postgres): password authentication failed for user "postgres"; check the user and password in the url`,
      ),
    );
    await expect(reconcile(config(`source: { driver: postgres, url: "${server.url('nodb')}", table: t }\n${other()}`))).rejects.toThrow(
      new SourceError(
        'source',
        `cannot connect to the source (PostgreSQL at 127.0.0.1:${server.port}/nodb): database "nodb" does not exist; check the database name at the end of the url`,
      ),
    );
    await expect(reconcile(config(`source: { driver: postgres, url: "${url}", table: nope }\n${other()}`))).rejects.toThrow(
      /^the source \(PostgreSQL at 127.0.0.1:\d+\/postgres\) has no table `nope` \(relation "nope" does not exist\); check `source.table`$/,
    );
  });

  it('a url from the environment, and a key value that is not the declared integer', async () => {
    await sql(`CREATE TABLE codes (id text, v text); INSERT INTO codes VALUES ('1', 'a'), ('x7', 'b')`);
    const err = await reconcile(
      config(
        `source: { driver: postgres, url: "\${env:RECONCILE_TEST_URL}", table: codes }\ntarget: { driver: postgres, url: "${url}", table: codes }\nkey: [{ column: id, type: integer }]`,
      ),
      { env: { RECONCILE_TEST_URL: url } },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(
      /^the source \(PostgreSQL at 127.0.0.1:\d+\/postgres\) holds a key that cannot be read as its declared type \(invalid input syntax for type bigint: "x7"\); declare the key as text or fix the row$/,
    );
  });
});

describe('a comparison stopped at its timeout', () => {
  it('leaves no statement running on the server (the session has a statement_timeout)', async () => {
    // The query the comparison reads takes a minute on the server; its process is killed after five seconds.
    const slow = `SELECT id, v FROM (SELECT 1 AS id, 'a' AS v) s WHERE pg_sleep(60) IS NOT NULL`;
    const yaml = `source: { driver: postgres, url: "${url}", query: "${slow}" }\ntarget: { driver: postgres, url: "${url}", query: "SELECT 1 AS id, 'a' AS v" }\nkey: id`;
    const answer = runReconcileProcess({ config: config(yaml), baseDir: dir, timeoutMs: 5000, env: commandEnvironment() });
    const running = async (): Promise<number> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const found = await client.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = 'cutover reconcile' AND state = 'active'`,
        );
        return found.rowCount ?? 0;
      } finally {
        await client.end();
      }
    };
    await eventually(running, (n) => n === 1, 5000, 'the slow statement running on the server');
    expect((await answer).kind).toBe('timed_out');
    await eventually(running, (n) => n === 0, 15_000, 'no statement of the stopped comparison left on the server');
  });

  it('says in one sentence that a statement outlived the timeout', async () => {
    const slow = `SELECT id FROM (SELECT 1 AS id) s WHERE pg_sleep(30) IS NOT NULL`;
    const yaml = `source: { driver: postgres, url: "${url}", query: "${slow}" }\ntarget: { driver: postgres, url: "${url}", query: "SELECT 1 AS id" }\nkey: id`;
    await expect(reconcile(config(yaml), { statementTimeoutMs: 2000 })).rejects.toThrow(
      /^the source \(PostgreSQL at 127.0.0.1:\d+\/postgres\) stopped the read after 2 s \(statement_timeout, the comparison's timeout\); give the step a longer `timeout` or read less$/,
    );
  });
});
