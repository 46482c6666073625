/**
 * `cutover export` through the built command, on a record store holding two rehearsals: the plan's columns with
 * planned start and end from the window, a column group per rehearsal with actual start, end and status, and the
 * steps that ended after their planned end marked late (red in XLSX, how late in both).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { parse as parseCsv } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { openRecordStore } from '../prisma/store.js';
import { cliEnv, runCli } from './support/cli.js';
import { recordRun, timingRunbook } from './support/timing-data.js';
import { migratedStoreAt } from './support/store-template.js';

const MIN = 60_000;
const dir = mkdtempSync(path.join(tmpdir(), 'cutover-export-'));
const env = cliEnv({ CUTOVER_DATABASE_URL: migratedStoreAt(path.join(dir, 'store.db')) });
const RUNBOOK = `name: exp
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
window: { start: "2026-12-05T22:00:00Z", length: 4h }
phases:
  - id: migrate
    kind: migration
    steps:
      - { id: copy, title: Copy the data, owner: dba, expected: 30m, action: { kind: shell, command: ./copy.sh }, backout: { kind: manual, instructions: Drop the copy } }
      - { id: check, title: Check counts, owner: dba, expected: 10m, depends_on: [copy], not_before: "+1h", action: { kind: manual } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead] } }
`;
const file = path.join(dir, 'exp.yaml');

beforeAll(async () => {
  writeFileSync(file, RUNBOOK);
  const store = await openRecordStore({ databaseUrl: env.CUTOVER_DATABASE_URL });
  const book = timingRunbook(RUNBOOK);
  const t0 = Date.parse('2026-11-20T20:00:00Z');
  // The first rehearsal keeps to the plan; the second copies for 50 minutes instead of 30.
  await recordRun(store, { runbook: book, startMs: t0, durations: { copy: 29 * MIN, check: 9 * MIN, go: MIN } });
  await recordRun(store, { runbook: book, startMs: t0 + 86_400_000, durations: { copy: 50 * MIN, check: 9 * MIN, go: MIN } });
  await store.close();
});

describe('cutover export', () => {
  it('writes the plan and each rehearsal to XLSX, late steps in red', async () => {
    const out = path.join(dir, 'exp.xlsx');
    const result = runCli(['export', file, '--format', 'xlsx', '--out', out], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /wrote .*exp\.xlsx: 3 step\(s\) of exp v1, 2 run\(s\) \(exp-1, exp-2\), 1 step\(s\) late in at least one/,
    );
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(out);
    const sheet = workbook.getWorksheet('Plan')!;
    const header = (sheet.getRow(1).values as unknown[]).slice(1);
    expect(header.slice(0, 14)).toEqual([
      'ID',
      'Phase',
      'Phase kind',
      'Phase title',
      'Stream',
      'Task',
      'Type',
      'Owner',
      'Who',
      'Predecessors',
      'Duration',
      'Fixed start',
      'Planned start',
      'Planned end',
    ]);
    expect(header.slice(-8)).toEqual([
      'exp-1 start',
      'exp-1 end',
      'exp-1 status',
      'exp-1 late',
      'exp-2 start',
      'exp-2 end',
      'exp-2 status',
      'exp-2 late',
    ]);
    const col = (name: string) => header.indexOf(name) + 1;
    const row = (id: string) => [2, 3, 4].map((n) => sheet.getRow(n)).find((r) => r.getCell(1).value === id)!;
    // Planned from the window: check waits for its fixed start at +1h, not for copy's end at +30m.
    expect((row('check').getCell(col('Planned start')).value as Date).toISOString()).toBe('2026-12-05T23:00:00.000Z');
    expect((row('check').getCell(col('Planned end')).value as Date).toISOString()).toBe('2026-12-05T23:10:00.000Z');
    expect(row('copy').getCell(col('Action')).value).toBe('{ kind: shell, command: ./copy.sh }');
    expect(row('copy').getCell(col('Back-out')).value).toBe('Drop the copy');
    expect(row('go').getCell(col('Type')).value).toBe('gate');
    expect(row('copy').getCell(col('exp-1 status')).value).toBe('succeeded');
    // exp-2's copy ended 50 minutes in, 20 after its planned end: late, and red.
    expect(row('copy').getCell(col('exp-1 late')).value).toBeNull();
    expect(row('copy').getCell(col('exp-2 late')).value).toBe('20m00s');
    const fill = row('copy').getCell(col('exp-2 end')).fill as ExcelJS.FillPattern;
    expect(fill.fgColor?.argb).toBe('FFF8CBAD');
    expect((row('copy').getCell(col('exp-1 end')).fill as ExcelJS.FillPattern | undefined)?.fgColor).toBeUndefined();
    expect((row('copy').getCell(col('exp-2 end')).value as Date).toISOString()).toBe('2026-11-21T20:50:00.000Z');
  });

  it('writes CSV with --runs limiting the column groups to the latest runs', () => {
    const out = path.join(dir, 'exp.csv');
    const result = runCli(['export', file, '--format', 'csv', '--runs', '1', '--out', out], env);
    expect(result.code).toBe(0);
    const rows: string[][] = parseCsv(readFileSync(out, 'utf8'), { bom: true });
    expect(rows[0]!.slice(-4)).toEqual(['exp-2 start', 'exp-2 end', 'exp-2 status', 'exp-2 late']);
    const copy = rows.find((r) => r[0] === 'copy')!;
    expect(copy.slice(-4)).toEqual(['2026-11-21T20:00:00.000Z', '2026-11-21T20:50:00.000Z', 'succeeded', '20m00s']);
    // And it imports back as the plan it is.
    const back = runCli(['import', out, '--out', path.join(dir, 'back.yaml')], env);
    expect(back.stderr).not.toMatch(/^cutover:/m);
    expect(back.code).toBe(0);
  });
});
