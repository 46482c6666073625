/**
 * `cutover export`: a runbook as the plan an auditor or a sponsor reads in a spreadsheet. One row per step in runbook
 * order with the columns `cutover import` reads back (ID, phase, task, owner, predecessors, duration, fixed start,
 * type, action, back-out), its planned start and end from the window, and after rehearsals a group of columns per
 * run: actual start, end and status, and how late it ended against its plan. XLSX (exceljs) marks late steps in red;
 * both formats say how late in the run's `late` column.
 */
import { stringify } from 'csv-stringify/sync';
import ExcelJS from 'exceljs';
import { stringify as yamlFlow } from 'yaml';
import { formatDuration } from '../runbook/duration.js';
import { plannedSchedule } from '../runbook/graph.js';
import type { Action, Runbook, Step } from '../runbook/schema.js';
import type { TimedRun } from '../timing/runs.js';
import { RUNBOOK_SHEET } from './sheet.js';

/** A cell of the exported table. */
export type ExportCell = string | Date | null;

/** The plan as a table: headers, rows, and which cells mark a late step. */
export interface PlanTable {
  headers: string[];
  rows: ExportCell[][];
  /** Row index -> column indexes of late cells. */
  late: Map<number, number[]>;
  /** What the `Runbook` sheet of a workbook holds. */
  settings: [string, string][];
}

/** A step ended late when it ended more than this after its planned end (from its run's start). */
export const LATE_MARGIN_MS = 1000;

/** The table of a runbook's plan, with a column group for each of `runs` (oldest first). */
export function planTable(runbook: Runbook, runs: readonly TimedRun[]): PlanTable {
  const schedule = plannedSchedule(runbook);
  const start = runbook.window?.start !== undefined ? Date.parse(runbook.window.start) : undefined;
  const at = (offset: number): ExportCell => (start === undefined ? `+${formatOffset(offset)}` : new Date(start + offset));
  const headers = [
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
    'Action',
    'Back-out',
    'Instructions',
    'Sign-off',
    'Notes',
  ];
  for (const run of runs) headers.push(`${run.id} start`, `${run.id} end`, `${run.id} status`, `${run.id} late`);
  const late = new Map<number, number[]>();
  const rows: ExportCell[][] = [];
  // Each run's forward steps by id, looked up once a step: a search of the run's steps per step was quadratic (4 s of
  // a 5,000-step export with 10 runs, `npm run bench -- plans`).
  const forward = runs.map((run) => {
    const byId = new Map<string, TimedRun['steps'][number]>();
    for (const s of run.steps) if (s.purpose === 'forward' && !byId.has(s.stepId)) byId.set(s.stepId, s);
    return byId;
  });
  for (const phase of runbook.phases) {
    for (const step of phase.steps) {
      const planned = schedule.steps[step.id] ?? { startMs: 0, durationMs: 0 };
      const manualInstructions = step.action?.kind === 'manual' ? (step.action.instructions ?? null) : null;
      const row: ExportCell[] = [
        step.id,
        phase.id,
        phase.kind,
        phase.title ?? null,
        step.stream ?? null,
        step.title,
        typeOf(step),
        step.owner,
        (runbook.roles[step.owner] ?? []).join(', ') || null,
        step.depends_on.join(', ') || null,
        step.expected ?? null,
        step.not_before ?? null,
        at(planned.startMs),
        at(planned.startMs + planned.durationMs),
        step.action && step.action.kind !== 'manual' && !step.milestone ? actionText(step.action) : null,
        step.backout
          ? step.backout.kind === 'manual' && step.backout.instructions
            ? step.backout.instructions
            : actionText(step.backout)
          : null,
        manualInstructions,
        step.gate ? step.gate.approvers.join(', ') : null,
        step.notes ?? null,
      ];
      for (const [r, run] of runs.entries()) {
        const timed = forward[r]!.get(step.id);
        const runStart = run.startedAt !== null ? Date.parse(run.startedAt) : undefined;
        const endedAt = timed?.endedAt ?? null;
        const lateMs =
          runStart !== undefined && endedAt !== null ? Date.parse(endedAt) - runStart - (planned.startMs + planned.durationMs) : 0;
        if (lateMs > LATE_MARGIN_MS) {
          const first = row.length;
          late.set(rows.length, [...(late.get(rows.length) ?? []), first, first + 1, first + 2, first + 3]);
        }
        row.push(
          timed?.startedAt ? new Date(timed.startedAt) : null,
          endedAt ? new Date(endedAt) : null,
          timed?.status ?? (run.status === 'running' ? 'pending' : 'not run'),
          lateMs > LATE_MARGIN_MS ? formatDuration(lateMs) : null,
        );
      }
      rows.push(row);
    }
  }
  const settings: [string, string][] = [
    ['name', runbook.name],
    ['version', runbook.version],
    ['lead', runbook.lead],
    ...(runbook.window?.start ? [['window start', runbook.window.start] as [string, string]] : []),
    ...(runbook.window ? [['window length', runbook.window.length] as [string, string]] : []),
  ];
  return { headers, rows, late, settings };
}

/** task, manual, gate, milestone or retirement: what `cutover import` reads back. */
function typeOf(step: Step): string {
  if (step.gate) return 'gate';
  if (step.milestone === 'retirement') return 'retirement';
  if (step.milestone) return 'milestone';
  return step.action?.kind === 'manual' ? 'manual' : 'task';
}

/** An action on one line, as a runbook writes it: `{ kind: shell, command: ./migrate.sh }`. */
function actionText(action: Action): string {
  return yamlFlow(action, { collectionStyle: 'flow', lineWidth: 0 }).trim();
}

function formatOffset(ms: number): string {
  return ms === 0 ? '0s' : formatDuration(ms).replace(/^(\d+)h00m$/, '$1h');
}

/** The table as CSV (UTF-8 with a byte-order mark, so Excel reads accents right; times in ISO 8601). */
export function planCsv(table: PlanTable): string {
  const cell = (value: ExportCell) => (value instanceof Date ? value.toISOString() : (value ?? ''));
  return `\uFEFF${stringify([table.headers, ...table.rows.map((row) => row.map(cell))], { record_delimiter: 'windows' })}`;
}

const LATE_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFF8CBAD' } };

/** The table as an XLSX workbook: the plan on sheet `Plan`, late steps in red, and the runbook's settings. */
export async function planXlsx(table: PlanTable): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'cutover';
  const sheet = workbook.addWorksheet('Plan', { views: [{ state: 'frozen', ySplit: 1, xSplit: 1 }] });
  sheet.addRow(table.headers).font = { bold: true };
  for (const row of table.rows) sheet.addRow(row);
  sheet.columns.forEach((column, i) => {
    const header = table.headers[i] ?? '';
    column.width = /start|end$/.test(header) ? 18 : header === 'Task' ? 40 : 14;
    if (/start$|end$/.test(header) && header !== 'Fixed start') column.numFmt = 'yyyy-mm-dd hh:mm:ss';
  });
  for (const [index, columns] of table.late) {
    for (const column of columns) sheet.getRow(index + 2).getCell(column + 1).fill = LATE_FILL;
  }
  const settings = workbook.addWorksheet(RUNBOOK_SHEET);
  for (const pair of table.settings) settings.addRow(pair);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** The runs worth a column group: the latest `count` that started, oldest first. */
export function runsToShow<R extends Pick<TimedRun, 'startedAt'>>(runsNewestFirst: readonly R[], count: number): R[] {
  return runsNewestFirst
    .filter((run) => run.startedAt !== null)
    .slice(0, count)
    .reverse();
}
