/**
 * `cutover import` on real files, through the built command: an XLSX written here with exceljs the way people's
 * plans look (a merged title row, messy headers, empty rows, a section row, Excel date and time cells), a CSV in
 * windows-1252 with `;`, every problem located on its row and column (exit 3, nothing written), and a re-import
 * `--into` the runbook that keeps what was written in its YAML.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import { cliEnv, runCli } from './support/cli.js';

const env = cliEnv();
const dir = mkdtempSync(path.join(tmpdir(), 'cutover-import-'));
const at = (name: string) => path.join(dir, name);

function load(file: string): Runbook {
  const parsed = parseRunbook(readFileSync(file, 'utf8'), file);
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('\n'));
  return parsed.runbook;
}
const steps = (book: Runbook) => book.phases.flatMap((p) => p.steps);
const step = (book: Runbook, id: string) => steps(book).find((s) => s.id === id)!;

/** A plan as people keep one: a title merged over the columns, a blank row, headers of their own, a section row. */
async function messyWorkbook(file: string): Promise<void> {
  const workbook = new ExcelJS.Workbook();
  workbook.addWorksheet('Read me').addRow(['This workbook holds the CRM cutover plan.']);
  const ws = workbook.addWorksheet('Cutover');
  ws.addRow(['ACME CRM cutover — weekend of 5 December']);
  ws.mergeCells('A1:I1');
  ws.addRow([]);
  ws.addRow(['Task #', 'Work stream', 'Activity', 'Resp. team', 'Assigned to', 'Pred.', 'Dur', 'Not before', 'Task type']);
  ws.addRow(['Preparation']);
  ws.addRow([10, 'Data', 'Back up the legacy CRM', 'DBA', 'bob', null, 0.5 / 24, null, 'Task']);
  ws.getCell('G5').numFmt = '[h]:mm';
  ws.addRow([]);
  ws.addRow(['Data freeze']);
  ws.addRow([11, 'Data', 'Stop writes on the legacy CRM', 'DBA', 'bob', '10', '15 min', new Date(Date.UTC(2026, 11, 5, 22, 30)), null]);
  ws.getCell('H8').numFmt = 'yyyy-mm-dd hh:mm';
  ws.addRow(['Migration']);
  ws.addRow([12, 'Data', 'Migrate customers', 'DBA', 'bob, carol', '11FS+30 mins', '01:30', null, null]);
  ws.addRow([13, 'Apps', 'Smoke-test the new CRM', 'App team', 'dan', '12', 45, '+3h', null]);
  ws.addRow(['Go / no-go']);
  ws.addRow([14, null, 'Go / no-go', 'Cutover lead', 'alice', '12;13', null, null, 'Go/No-Go']);
  ws.addRow(['Switch-on']);
  ws.addRow([15, 'Apps', 'Open the CRM to users', 'App team', 'dan', '14', '10m', new Date(Date.UTC(1899, 11, 30, 2, 0)), null]);
  ws.getCell('H15').numFmt = 'hh:mm';
  ws.addRow([16, 'Apps', 'Legacy CRM retired', 'App team', 'dan', '15', null, null, 'Retirement']);
  await workbook.xlsx.writeFile(file);
}

describe('cutover import of an XLSX plan', () => {
  it('finds the header under the title, reads Excel times and dates, sections, lags and types, and writes a valid runbook', async () => {
    const plan = at('messy.xlsx');
    await messyWorkbook(plan);
    writeFileSync(at('map.yaml'), 'runbook: { name: acme-crm, window: { start: "2026-12-05T22:00:00Z", length: 8h } }\n');
    const result = runCli(['import', plan, '--columns', at('map.yaml'), '--out', at('messy.yaml')], env);
    expect(result.stderr).not.toMatch(/^cutover:/m);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('from messy.xlsx (sheet "Cutover"): 5 phase(s), 8 step(s) from 7 task(s)');
    const book = load(at('messy.yaml'));
    expect(book.name).toBe('acme-crm');
    expect(book.lead).toBe('cutover-lead');
    expect(book.roles).toMatchObject({ dba: ['bob', 'carol'], 'app-team': ['dan'], 'cutover-lead': ['alice'] });
    expect(book.phases.map((p) => [p.id, p.kind])).toEqual([
      ['preparation', 'preparation'],
      ['data-freeze', 'data_freeze'],
      ['migration', 'migration'],
      ['go-no-go', 'go_no_go'],
      ['switch-on', 'interface_switch_on'],
    ]);
    // An Excel time as a duration; an Excel date as a fixed time; minutes as a number; a lag as a wait step.
    expect(step(book, '10')).toMatchObject({ expected: '30m', stream: 'Data', action: { kind: 'manual' } });
    expect(step(book, '11')).toMatchObject({ expected: '15m', depends_on: ['10'], not_before: '2026-12-05T22:30:00.000Z' });
    expect(step(book, '12-after-11')).toMatchObject({ expected: '30m', depends_on: ['11'], action: { kind: 'wait', duration: '30m' } });
    expect(step(book, '12')).toMatchObject({ expected: '1h30m', depends_on: ['12-after-11'] });
    expect(step(book, '13')).toMatchObject({ expected: '45m', not_before: '+3h', owner: 'app-team' });
    expect(step(book, '14')).toMatchObject({ depends_on: ['12', '13'], gate: { approvers: ['cutover-lead'] } });
    // A time of day on the night of the window: 02:00 after a 22:00 start is the next morning.
    expect(step(book, '15').not_before).toBe('2026-12-06T02:00:00Z');
    expect(step(book, '16')).toMatchObject({ milestone: 'retirement', expected: '0s' });
    // The plan's row order is kept.
    expect(steps(book).map((s) => s.id)).toEqual(['10', '11', '12-after-11', '12', '13', '14', '15', '16']);
  });
});

describe('cutover import of a CSV plan', () => {
  it('reads windows-1252 with ; and keeps accented words', () => {
    const rows = [
      'ID;Phase;Task;Owner;Predecessors;Duration;Back-out',
      '1;Préparation;Sauvegarde de la base;Équipe DBA;;20;',
      '2;Migration;Überprüfung der Kunden – 2€;Équipe DBA;1;1h;Restaurer la sauvegarde',
    ];
    writeFileSync(at('latin.csv'), encode1252(rows.join('\r\n') + '\r\n'));
    const result = runCli(['import', at('latin.csv'), '--out', at('latin.yaml')], env);
    expect(result.stderr).not.toMatch(/^cutover:/m);
    expect(result.code).toBe(0);
    const book = load(at('latin.yaml'));
    expect(book.phases[0]).toMatchObject({ id: 'preparation', title: 'Préparation' });
    expect(step(book, '2')).toMatchObject({
      title: 'Überprüfung der Kunden – 2€',
      owner: 'equipe-dba',
      backout: { kind: 'manual', instructions: 'Restaurer la sauvegarde' },
    });
  });
});

/** windows-1252 for the characters the test uses: Latin-1 plus the euro sign and the en dash. */
function encode1252(text: string): Buffer {
  const special: Record<string, number> = { '€': 0x80, '–': 0x96 };
  return Buffer.from([...text].map((ch) => special[ch] ?? ch.charCodeAt(0)));
}

describe('cutover import errors', () => {
  it('names every problem by sheet, row and column, one line each, exits 3 and writes nothing', async () => {
    const workbook = new ExcelJS.Workbook();
    const ws = workbook.addWorksheet('Cutover');
    ws.addRow(['Plan with mistakes']);
    ws.addRow(['ID', 'Phase', 'Task', 'Owner', 'Predecessors', 'Duration']);
    ws.addRow([1, 'Prep', 'One', 'dba', null, '10m']);
    ws.addRow([2, 'Prep', 'Two', 'dba', '3', '10m']);
    ws.addRow([3, 'Prep', 'Three', 'dba', '2', 'about an hour']);
    ws.addRow([4, 'Prep', 'Four', null, '1', '10m']);
    ws.addRow([5, 'Prep', 'Five', 'dba', '71', '10m']);
    ws.addRow([6, 'Prep', 'Six', 'dba', '1SS', '10m']);
    await workbook.xlsx.writeFile(at('broken.xlsx'));
    const result = runCli(['import', at('broken.xlsx'), '--out', at('broken.yaml')], env);
    expect(result.code).toBe(3);
    const file = at('broken.xlsx');
    expect(result.stderr.trim().split('\n')).toEqual([
      `cutover: ${file}: sheet "Cutover", row 4, column "Predecessors": tasks 2 -> 3 -> 2 wait for each other, so none can start; remove one of these predecessors`,
      `${file}: sheet "Cutover", row 5, column "Duration": "about an hour" is not a duration; write it as 2h, 1h30m, 01:30 or minutes (90)`,
      `${file}: sheet "Cutover", row 6, column "Owner": no owner: every step has one; name the team or role that does it`,
      `${file}: sheet "Cutover", row 7, column "Predecessors": no task 71`,
      `${file}: sheet "Cutover", row 8, column "Predecessors": "1SS": only finish-to-start links can run (a step starts when the ones it depends on have ended); write 1 or 1FS+LAG`,
    ]);
    expect(existsSync(at('broken.yaml'))).toBe(false);
  });

  it('says which sheets there are when --sheet names none, and what a plan needs when it has no header', async () => {
    const result = runCli(['import', at('broken.xlsx'), '--sheet', 'Plan', '--out', at('x.yaml')], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`cutover: ${at('broken.xlsx')} has no sheet "Plan"; its sheets: "Cutover"\n`);
    writeFileSync(at('nothing.csv'), 'a,b\n1,2\n');
    const none = runCli(['import', at('nothing.csv'), '--out', at('x.yaml')], env);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/^cutover: .*nothing\.csv: no header row: the plan needs a row naming its columns/);
  });
});

describe('cutover import --into', () => {
  it('updates titles, owners, dependencies and durations by ID and keeps the actions, checks, back-outs and comments', () => {
    const plan = (rows: string[]) =>
      writeFileSync(at('plan.csv'), ['ID,Phase,Task,Owner,Who,Predecessors,Duration', ...rows].join('\n') + '\n');
    plan(['1,Migration,Migrate customers,dba,bob,,1h', '2,Migration,Migrate orders,dba,bob,1,2h', '3,Decide,Go or not,lead,alice,2,']);
    expect(runCli(['import', at('plan.csv'), '--out', at('into.yaml')], env).code).toBe(0);
    // The lead writes what the plan cannot say: an action, a check, a back-out, a comment, and a gate.
    const written = readFileSync(at('into.yaml'), 'utf8')
      .replace(
        /( {8}title: Migrate customers\n {8}owner: dba\n {8}expected: 1h\n) {8}action: \{ kind: manual \}\n/,
        '$1        # the real migration, from the runbook\n        action: { kind: shell, command: ./migrate.sh customers }\n        checks: [{ name: counts match, kind: shell, command: ./count.sh }]\n        backout: { kind: shell, command: ./truncate.sh customers }\n',
      )
      .replace('kind: preparation\n    title: Decide', 'kind: go_no_go\n    title: Decide')
      .replace(/( {8}title: Go or not\n(?: {8}.*\n)*?) {8}action: \{ kind: manual \}\n/, '$1        gate: { approvers: [lead] }\n');
    writeFileSync(at('into.yaml'), written);
    expect(load(at('into.yaml')).phases[1]!.kind).toBe('go_no_go');
    // The plan changes: a title, an owner, a duration, a dependency, a new task.
    plan([
      '1,Migration,Migrate all customers,dba,bob,,1h30m',
      '4,Migration,Migrate contacts,dba,carol,1,30m',
      '2,Migration,Migrate orders,apps,erin,4,2h',
      '3,Decide,Go or not,lead,alice,2,',
    ]);
    const result = runCli(['import', at('plan.csv'), '--into', at('into.yaml')], env);
    expect(result.stderr).not.toMatch(/^cutover:/m);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('3 step(s) updated, 1 added');
    const text = readFileSync(at('into.yaml'), 'utf8');
    expect(text).toContain('# the real migration, from the runbook');
    const book = load(at('into.yaml'));
    expect(step(book, '1')).toMatchObject({
      title: 'Migrate all customers',
      expected: '1h30m',
      action: { kind: 'shell', command: './migrate.sh customers' },
      checks: [{ name: 'counts match' }],
      backout: { kind: 'shell', command: './truncate.sh customers' },
    });
    expect(step(book, '2')).toMatchObject({ owner: 'apps', depends_on: ['4'] });
    expect(step(book, '4')).toMatchObject({ title: 'Migrate contacts', depends_on: ['1'], action: { kind: 'manual' } });
    expect(step(book, '3').gate).toMatchObject({ approvers: ['lead'] });
    expect(book.roles).toMatchObject({ apps: ['erin'], dba: ['bob', 'carol'] });
    expect(steps(book).map((s) => s.id)).toEqual(['1', '4', '2', '3']);
  });

  it('leaves the runbook as it was when the plan has a problem', () => {
    const before = readFileSync(at('into.yaml'), 'utf8');
    writeFileSync(at('plan.csv'), 'ID,Phase,Task,Owner,Predecessors,Duration\n1,Migration,Migrate,dba,9,1h\n');
    const result = runCli(['import', at('plan.csv'), '--into', at('into.yaml')], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`cutover: ${at('plan.csv')}: row 2, column "Predecessors": no task 9\n`);
    expect(readFileSync(at('into.yaml'), 'utf8')).toBe(before);
  });
});
