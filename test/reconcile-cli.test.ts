/**
 * `cutover reconcile CONFIG [--json]` as a user runs it (the built CLI in its own process): the
 * output, the exit codes (0 within limits, 4 outside, 2 bad arguments, 3 invalid config, 6 a side
 * that cannot be reached or read) and one sentence, never a stack trace, for every bad input.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from './support/cli.js';
import { csvFile, scratch, sqliteFile } from './support/reconcile-data.js';

const dir = scratch();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = cliEnv();

const DDL = 'CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT, balance REAL)';
sqliteFile(dir, 'old.db', DDL, [
  [1, 'Ada', 10],
  [2, 'Bob', 20],
  [3, 'Cy', 30],
]);
sqliteFile(dir, 'new.db', DDL, [
  [1, 'Ada', 10],
  [2, 'Bob', 20.5],
  [4, 'Di', 40],
]);

/** Writes a config beside the data (paths in it are relative to it) and runs the command. */
function reconcile(name: string, yaml: string, ...args: string[]) {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return runCli(['reconcile', file, ...args], env, dir);
}

const SIDES = 'source: { driver: sqlite, path: old.db, table: accounts }\ntarget: { driver: sqlite, path: new.db, table: accounts }\n';

/** A user error: exactly one line on stderr, no stack trace. */
function oneSentence(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('cutover reconcile', () => {
  it('prints counts, the per-column table and examples, and exits 4 outside the limits', () => {
    const run = reconcile('plain', `${SIDES}key: [{ column: id, type: integer }]\n`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(4);
    expect(run.stdout).toContain('matched            1\n');
    expect(run.stdout).toContain('missing in target  1\n');
    expect(run.stdout).toContain('extra in target    1\n');
    expect(run.stdout).toContain('mismatched         1\n');
    expect(run.stdout).toMatch(/balance\s+balance\s+1\n/);
    expect(run.stdout).toContain('  mismatched         id=2  balance: 20 -> 20.5');
    expect(run.stdout).toContain('  missing in target  id=3');
    expect(run.stdout).toContain('  extra in target    id=4');
    expect(run.stdout).toContain(
      'outside limits: 1 key missing in the target (limit 0); 1 key only in the target (limit 0); 1 row with differing values (limit 0)',
    );
  });

  it('exits 0 within the limits, and --json puts the counts at the top level', () => {
    const run = reconcile(
      'json',
      `${SIDES}key: [{ column: id, type: integer }]\ncolumns: { balance: { tolerance: { abs: 1 } } }\nlimits: { max_missing: 1, max_extra: 1 }\n`,
      '--json',
    );
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      matched: 2,
      missing_in_target: 1,
      extra_in_target: 1,
      mismatched: 0,
      within_limits: true,
      limit_violations: [],
    });
    expect(result.columns).toEqual([
      { source: 'owner', target: 'owner', mismatched: 0 },
      { source: 'balance', target: 'balance', mismatched: 0 },
    ]);
  });

  it('exits 2 for bad arguments and a config file that is not there', () => {
    expect(runCli(['reconcile'], env, dir).code).toBe(2);
    expect(runCli(['reconcile', 'x.yaml', '--jsn'], env, dir).code).toBe(2);
    const missing = runCli(['reconcile', 'nope.yaml'], env, dir);
    expect(missing.code).toBe(2);
    expect(oneSentence(missing.stderr)).toBe('cutover: config file nope.yaml does not exist');
  });

  it('exits 3 for an invalid config, listing every problem with file:line:column', () => {
    const run = reconcile(
      'invalid',
      [
        'source: { driver: sqlite, path: old.db }',
        'target: { driver: mysql, path: new.db, table: accounts }',
        'key: [{ column: id, type: number }]',
        'columns:',
        '  balance: { tolerence: { abs: 1 } }',
        'sample: { percent: 0 }',
        '',
      ].join('\n'),
    );
    expect(run.code).toBe(3);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^cutover: invalid.yaml:2:19 target.driver: unknown driver `mysql`; expected one of sqlite, postgres, csv$/),
      expect.stringMatching(/^invalid.yaml:3:27 key\[0\].type: invalid `type` value `number`; expected one of integer, text/),
      expect.stringMatching(/^invalid.yaml:5:14 columns.balance.tolerence: unknown field `tolerence`; did you mean `tolerance`\?$/),
      expect.stringMatching(/^invalid.yaml:6:20 sample.percent: `percent` must be greater than 0, not `0`$/),
    ]);
    // Rules about the whole config come once its shape is right.
    const whole = reconcile(
      'invalid-rules',
      [
        'source: { driver: sqlite, path: old.db }',
        'target: { driver: sqlite, path: new.db, table: accounts, query: "SELECT 1" }',
        'key: [id]',
        'ignore: [id]',
        'columns:',
        '  balance: { datetime: { zone: Mars/Olympus }, tolerance: { abs: 1 } }',
        '',
      ].join('\n'),
    );
    expect(whole.code).toBe(3);
    expect(whole.stderr.trim().split('\n')).toEqual([
      'cutover: invalid-rules.yaml:1:9 source: the source needs `table` or `query`; add one of them',
      'invalid-rules.yaml:2:58 target.query: the target has both `table` and `query`; keep one of them',
      'invalid-rules.yaml:4:10 ignore[0]: `id` is a key column, so it cannot be ignored; remove it from `ignore`',
      'invalid-rules.yaml:6:32 columns.balance.datetime.zone: unknown time zone `Mars/Olympus`; use an IANA name such as Europe/Berlin, UTC, or an offset such as +02:00',
      'invalid-rules.yaml:6:59 columns.balance.tolerance: `balance` compares as date/time (`datetime`), so `tolerance` does not apply; remove one of them',
    ]);
  });

  it('exits 6 with one sentence when a side is missing, unreadable or lacks a table or column', () => {
    const missingFile = reconcile('missing-file', `${SIDES.replace('old.db', 'gone.db')}key: id\n`);
    expect(missingFile.code).toBe(6);
    expect(oneSentence(missingFile.stderr)).toBe(
      'cutover: the source (SQLite file gone.db) does not exist; check `source.path` (relative to the config file)',
    );

    const notDb = csvFile(dir, 'not-a-db.db', 'hello, this is text\n'.repeat(100));
    const unreadable = reconcile('not-db', `${SIDES.replace('old.db', path.basename(notDb))}key: id\n`);
    expect(unreadable.code).toBe(6);
    expect(oneSentence(unreadable.stderr)).toMatch(
      /^cutover: the source \(SQLite file not-a-db.db\) cannot be opened: file is not a database; check that it is a SQLite database and readable$/,
    );

    const noTable = reconcile('no-table', `${SIDES.replace('table: accounts }\ntarget', 'table: acounts }\ntarget')}key: id\n`);
    expect(noTable.code).toBe(6);
    expect(oneSentence(noTable.stderr)).toBe(
      'cutover: the source (SQLite file old.db) has no table `acounts`; check `source.table` (it has accounts)',
    );

    const noColumn = reconcile('no-column', `${SIDES}key: id\ncolumns: { owner: { target: owner_name } }\n`);
    expect(noColumn.code).toBe(6);
    expect(oneSentence(noColumn.stderr)).toBe(
      'cutover: the target (SQLite file new.db) has no column `owner_name` to compare with source column `owner`; map it with `columns.owner.target` or add `owner` to `ignore`',
    );

    const noKey = reconcile('no-key', `${SIDES}key: account_id\n`);
    expect(noKey.code).toBe(6);
    expect(oneSentence(noKey.stderr)).toBe(
      'cutover: the source (SQLite file old.db) has no key column `account_id`; its columns are `id`, `owner`, `balance`',
    );

    const badQuery = reconcile(
      'bad-query',
      `${SIDES.replace('table: accounts }\ntarget', 'query: "SELEC * FROM accounts" }\ntarget')}key: id\n`,
    );
    expect(badQuery.code).toBe(6);
    expect(oneSentence(badQuery.stderr)).toMatch(
      /^cutover: the source \(SQLite file old.db\) refused the query: near ".+": syntax error; check `source.query`$/,
    );
  });

  it('exits 6 naming the row and column of a value that cannot be compared', () => {
    sqliteFile(dir, 'dates.db', 'CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT, balance TEXT)', [
      [1, 'Ada', '10'],
      [2, 'Bob', 'twenty'],
    ]);
    const run = reconcile(
      'bad-value',
      `source: { driver: sqlite, path: dates.db, table: accounts }\ntarget: { driver: sqlite, path: old.db, table: accounts }\nkey: id\ncolumns: { balance: { type: number } }\n`,
    );
    expect(run.code).toBe(6);
    expect(oneSentence(run.stderr)).toBe(
      'cutover: the source (SQLite file dates.db), row id=`2`: column `balance` holds `twenty`, which cannot be read as a number; fix the value or change how `columns.balance` compares',
    );
  });

  it('exits 6 naming the PostgreSQL side it cannot reach and an unset environment variable', () => {
    const unreachable = reconcile(
      'pg-down',
      `source: { driver: postgres, url: "postgresql://u:secret@127.0.0.1:1/crm", table: accounts }\ntarget: { driver: sqlite, path: new.db, table: accounts }\nkey: id\n`,
    );
    expect(unreachable.code).toBe(6);
    const message = oneSentence(unreachable.stderr);
    expect(message).toBe(
      'cutover: cannot connect to the source (PostgreSQL at 127.0.0.1:1/crm): the connection was refused; check that the server runs and that the host and port in the url are right',
    );
    expect(message).not.toContain('secret');

    const unset = reconcile(
      'pg-env',
      `source: { driver: postgres, url: "\${env:CUTOVER_TEST_UNSET_URL}", table: accounts }\ntarget: { driver: sqlite, path: new.db, table: accounts }\nkey: id\n`,
    );
    expect(unset.code).toBe(6);
    expect(oneSentence(unset.stderr)).toBe(
      'cutover: `source.url` takes ${env:CUTOVER_TEST_UNSET_URL} from the environment, but CUTOVER_TEST_UNSET_URL is not set; export it and run again',
    );
  });

  it('exits 6 naming the line of a malformed CSV file', () => {
    csvFile(dir, 'broken.csv', 'id,owner,balance\n1,Ada,10\n2,"Bob,20\n');
    const run = reconcile(
      'bad-csv',
      `source: { driver: csv, path: broken.csv }\ntarget: { driver: sqlite, path: new.db, table: accounts }\nkey: id\n`,
    );
    expect(run.code).toBe(6);
    expect(oneSentence(run.stderr)).toMatch(
      /^cutover: the source \(CSV file broken.csv\), line \d+: .*; check the file's quoting and `source.delimiter`\/`source.quote`$/,
    );
  });
});
