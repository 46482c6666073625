/**
 * The rows of a plan as tasks: each row below the header read field by field (cells.ts), section rows (a phase's
 * name alone on its row) and empty rows left out, a blank phase cell taking the one above it. Every cell that says
 * nothing readable becomes a problem located at its row and column; the task keeps what could be read.
 */
import { parse as parseYaml } from 'yaml';
import { action as actionSchema } from '../runbook/schema.js';
import type { ColumnMap, Field, HeaderRow } from './columns.js';
import {
  namesIn,
  readDuration,
  readFixedStart,
  readType,
  textOf,
  type FixedStart,
  type Predecessor,
  type Read,
  type RowType,
} from './cells.js';
import type { CellValue, Sheet, SheetRow } from './sheet.js';

/** One task of the plan, as its row says it. */
export interface PlanTask {
  row: number;
  /** Its ID as the plan writes it (or its place among the tasks, when the plan has no ID column). */
  ref: string;
  phase: string;
  phaseKind?: string;
  phaseTitle?: string;
  stream?: string;
  title?: string;
  owner?: string;
  people: string[];
  /** The predecessors cell, read once every ID is known (see build-runbook.ts). */
  predecessors: CellValue;
  durationMs?: number;
  fixedStart?: FixedStart;
  type: RowType;
  action?: Record<string, unknown>;
  backout?: Record<string, unknown>;
  instructions?: string;
  notes?: string;
  signoff: string[];
  plannedStart?: Date;
  plannedEnd?: Date;
}

/** A problem with a cell: its row and the field whose column it is in (none for the row as a whole). */
export interface CellProblem {
  row: number;
  field?: Field;
  message: string;
}

/** Where problems are: `plan.xlsx: sheet "Cutover", row 14, column "Predecessors"`. */
export function locator(sheet: Sheet, columns: ColumnMap): (row: number | undefined, field?: Field) => string {
  const head = `${sheet.file}:${sheet.sheet !== undefined ? ` sheet "${sheet.sheet}",` : ''}`;
  return (row, field) => {
    if (row === undefined) return sheet.sheet !== undefined ? `${sheet.file}: sheet "${sheet.sheet}"` : sheet.file;
    const column = field !== undefined ? columns.get(field) : undefined;
    return `${head} row ${row}${column ? `, column "${column.header}"` : ''}`;
  };
}

/** The tasks of the rows under `header`, with the problems of their cells. */
export function readTasks(sheet: Sheet, header: HeaderRow, utcOffset: string): { tasks: PlanTask[]; problems: CellProblem[] } {
  const { columns } = header;
  const tasks: PlanTask[] = [];
  const problems: CellProblem[] = [];
  let phase: string | undefined;
  let section: string | undefined;
  const cell = (row: SheetRow, field: Field): CellValue => {
    const column = columns.get(field);
    return column === undefined ? null : (row.cells[column.index] ?? null);
  };
  for (const row of sheet.rows) {
    if (row.number <= header.number) continue;
    const filled = row.cells.filter((c) => textOf(c) !== undefined);
    if (filled.length === 0) continue;
    // One cell filled, and it is not a task's owner: a section heading, the phase of the rows under it.
    if (filled.length === 1 && textOf(cell(row, 'owner')) === undefined) {
      section = textOf(filled[0]);
      phase = undefined;
      continue;
    }
    const take = <T>(field: Field, read: Read<T>): T | undefined => {
      if (read.ok) return read.value;
      problems.push({ row: row.number, field, message: read.problem });
      return undefined;
    };
    phase = textOf(cell(row, 'phase')) ?? phase;
    const task: PlanTask = {
      row: row.number,
      ref: textOf(cell(row, 'id')) ?? (columns.has('id') ? '' : String(tasks.length + 1)),
      phase: phase ?? section ?? 'Plan',
      people: namesIn(cell(row, 'people')),
      predecessors: cell(row, 'predecessors'),
      type: take('type', readType(cell(row, 'type'))) ?? 'task',
      signoff: namesIn(cell(row, 'signoff')),
    };
    const text = (field: Field) => textOf(cell(row, field));
    const optional = {
      phaseKind: text('phase_kind'),
      phaseTitle: text('phase_title'),
      stream: text('stream'),
      title: text('title'),
      owner: text('owner'),
      instructions: text('instructions'),
      notes: text('notes'),
      durationMs: take('duration', readDuration(cell(row, 'duration'))),
      fixedStart: take('fixed_start', readFixedStart(cell(row, 'fixed_start'), utcOffset)),
      action: take('action', readAction(cell(row, 'action'), false)),
      backout: take('backout', readAction(cell(row, 'backout'), true)),
      plannedStart: dateOf(cell(row, 'planned_start')),
      plannedEnd: dateOf(cell(row, 'planned_end')),
    };
    for (const [key, value] of Object.entries(optional)) if (value !== undefined) Object.assign(task, { [key]: value });
    if (task.ref === '')
      problems.push({ row: row.number, field: 'id', message: 'no ID: every task needs one, so that others can name it' });
    if (task.title === undefined) problems.push({ row: row.number, field: 'title', message: 'no task title' });
    if (task.owner === undefined)
      problems.push({ row: row.number, field: 'owner', message: 'no owner: every step has one; name the team or role that does it' });
    tasks.push(task);
  }
  return { tasks, problems };
}

function dateOf(cell: CellValue): Date | undefined {
  if (cell instanceof Date) return cell;
  if (typeof cell === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(cell.trim()) && Number.isFinite(Date.parse(cell.trim())))
    return new Date(cell.trim());
  return undefined;
}

const SHORTHAND = /^(shell|http|wait|simulate|manual)\s*:\s*(.*)$/is;

/**
 * An action cell: a YAML mapping as in a runbook (`{ kind: shell, command: ./migrate.sh }`) or a shorthand
 * (`shell: ./migrate.sh`, `http: POST https://...`, `wait: 10m`, `simulate: 5m`). A back-out cell that is neither
 * is a person's instructions: a manual back-out.
 */
export function readAction(cell: CellValue, instructionsOtherwise: boolean): Read<Record<string, unknown> | undefined> {
  const text = textOf(cell);
  if (text === undefined) return { ok: true, value: undefined };
  let value: unknown;
  const shorthand = SHORTHAND.exec(text);
  if (text.startsWith('{')) {
    try {
      value = parseYaml(text);
    } catch (err) {
      return {
        ok: false,
        problem: `not a YAML mapping (${(err as Error).message.split('\n')[0]}); write it as in a runbook: { kind: shell, command: ./run.sh }`,
      };
    }
  } else if (shorthand) {
    const kind = shorthand[1]!.toLowerCase();
    const rest = shorthand[2]!.trim();
    if (kind === 'shell') value = { kind, command: rest };
    else if (kind === 'wait' || kind === 'simulate') value = { kind, duration: rest };
    else if (kind === 'manual') value = rest === '' ? { kind } : { kind, instructions: rest };
    else {
      const http = /^(?:(GET|HEAD|POST|PUT|PATCH|DELETE)\s+)?(\S+)$/i.exec(rest);
      value = http ? { kind, ...(http[1] ? { method: http[1].toUpperCase() } : {}), url: http[2] } : { kind, url: rest };
    }
  } else if (instructionsOtherwise) {
    return { ok: true, value: { kind: 'manual', instructions: text } };
  } else {
    return {
      ok: false,
      problem: `"${text}" is not an action; write shell: COMMAND, http: [METHOD] URL, wait: 10m, or a mapping { kind: ..., ... }`,
    };
  }
  const parsed = actionSchema.safeParse(value);
  if (parsed.success) return { ok: true, value: value as Record<string, unknown> };
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length > 0 ? `\`${issue.path.join('.')}\`: ` : '';
  return { ok: false, problem: `not an action cutover can run: ${where}${issue.message}` };
}

export type { Predecessor };
