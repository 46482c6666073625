/**
 * What the cells of a plan say, read the ways plans write them: durations (`2h`, `01:30`, `90` minutes, `1 h 30 min`,
 * an Excel time), predecessors (`12, 14`, `12FS+30m`), fixed starts (`+2h` after the window starts, `T+02:00`, a time
 * of day on the night, a date and time, an Excel date) and step types. Each reader returns a value or one sentence
 * saying what it expected. Pure.
 */
import { DURATION_PATTERN, durationText, parseDuration } from '../runbook/duration.js';
import type { CellValue } from './sheet.js';

/** A reader's answer: the value, or why the cell is not one. */
export type Read<T> = { ok: true; value: T } | { ok: false; problem: string };

const ok = <T>(value: T): Read<T> => ({ ok: true, value });
const no = <T>(problem: string): Read<T> => ({ ok: false, problem });

/** Excel's day zero: its times are days since then (exceljs gives a time cell as a Date on that day). */
const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30);
const DAY_MS = 86_400_000;

/** The cell as text, trimmed; undefined when it is empty. */
export function textOf(cell: CellValue | undefined): string | undefined {
  if (cell === null || cell === undefined) return undefined;
  if (cell instanceof Date) return cell.toISOString();
  if (typeof cell === 'number') return Number.isInteger(cell) ? String(cell) : String(cell);
  const text = String(cell).trim();
  return text === '' ? undefined : text;
}

/** Whether a Date is a time of day only: Excel's day zero, or the day after (a time past midnight). */
function isTimeOnly(date: Date): boolean {
  return date.getTime() - EXCEL_EPOCH_MS < 2 * DAY_MS && date.getTime() >= EXCEL_EPOCH_MS;
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: DAY_MS,
  day: DAY_MS,
  days: DAY_MS,
  edays: DAY_MS,
  emins: 60_000,
  ehrs: 3_600_000,
};

/** A duration in ms: `2h`, `1h30m`, `01:30` (h:mm), `90` (minutes), `1.5 hours`, `1 h 30 min`, an Excel time. */
export function readDuration(cell: CellValue | undefined): Read<number | undefined> {
  if (cell === null || cell === undefined) return ok(undefined);
  const expected = 'write it as 2h, 1h30m, 01:30 or minutes (90)';
  if (cell instanceof Date) {
    if (!isTimeOnly(cell)) return no(`${cell.toISOString()} is a date, not a duration; ${expected}`);
    return ok(cell.getTime() - EXCEL_EPOCH_MS);
  }
  if (typeof cell === 'number')
    return cell >= 0 && Number.isFinite(cell) ? ok(Math.round(cell * 60_000)) : no(`${cell} is not a duration; ${expected}`);
  if (typeof cell === 'boolean') return no(`${cell} is not a duration; ${expected}`);
  const text = cell.trim().toLowerCase();
  if (text === '') return ok(undefined);
  if (DURATION_PATTERN.test(text)) return ok(parseDuration(text)!);
  const clock = /^(\d+):([0-5]\d)(?::([0-5]\d))?$/.exec(text);
  if (clock) return ok(Number(clock[1]) * 3_600_000 + Number(clock[2]) * 60_000 + Number(clock[3] ?? 0) * 1000);
  if (/^\d+(?:[.,]\d+)?$/.test(text)) return ok(Math.round(Number(text.replace(',', '.')) * 60_000));
  const compact = text.replace(/\s+/g, '');
  const parts = [...compact.matchAll(/(\d+(?:[.,]\d+)?)([a-z]+)/g)];
  if (parts.length > 0 && parts.map((p) => p[0]).join('') === compact) {
    let total = 0;
    for (const [, n, unit] of parts) {
      const size = UNITS[unit!];
      if (size === undefined) return no(`"${cell.trim()}": no unit "${unit}"; ${expected}`);
      total += Number(n!.replace(',', '.')) * size;
    }
    return ok(Math.round(total));
  }
  return no(`"${cell.trim()}" is not a duration; ${expected}`);
}

/** One predecessor as written: the task it names and the lag after it ends. */
export interface Predecessor {
  /** The task's ID as the plan writes it. */
  ref: string;
  lagMs: number;
  /** The text as written, for messages. */
  text: string;
}

/**
 * Predecessors: a list (`12, 14`, `12;14`, one a line) of IDs, each with an optional MS Project style link and lag:
 * `12FS`, `12FS+30m`, `12FS+2 hrs`. Only finish-to-start links can run (a step starts when the ones it depends on
 * have ended). `knows` tells an ID that ends in letters (`handoff`) from one with a link type.
 */
export function readPredecessors(cell: CellValue | undefined, knows: (ref: string) => boolean): Read<Predecessor[]> {
  const text = textOf(cell);
  if (text === undefined) return ok([]);
  const result: Predecessor[] = [];
  for (const raw of text.split(/[,;\n]+/)) {
    const token = raw.trim();
    if (token === '') continue;
    if (knows(token)) {
      result.push({ ref: token, lagMs: 0, text: token });
      continue;
    }
    const link = /^(.+?)\s*(FS|SS|FF|SF)\s*(?:([+-])\s*(.+))?$/i.exec(token);
    if (!link) {
      result.push({ ref: token, lagMs: 0, text: token });
      continue;
    }
    const [, ref, type, sign, lag] = link;
    if (type!.toUpperCase() !== 'FS') {
      return no(
        `"${token}": only finish-to-start links can run (a step starts when the ones it depends on have ended); write ${ref} or ${ref}FS+LAG`,
      );
    }
    let lagMs = 0;
    if (lag !== undefined) {
      const read = readDuration(lag);
      if (!read.ok || read.value === undefined) return no(`"${token}": the lag "${lag}" is not a duration; write it as 30m, 2h or 01:30`);
      if (sign === '-' && read.value > 0)
        return no(`"${token}": a negative lag (a lead) cannot run; a step starts after the ones it depends on have ended`);
      lagMs = read.value;
    }
    result.push({ ref: ref!.trim(), lagMs, text: token });
  }
  return ok(result);
}

/** A fixed start as read: after the window starts, a time of day on the night, or a time. */
export type FixedStart = { relativeMs: number } | { timeOfDayMs: number } | { at: string };

/**
 * A fixed start: `+2h`, `T+02:00` or `+90` (after the window starts), `23:30` (a time of day on the night), a date
 * and time (`2026-12-05 23:30`, with the mapping file's UTC offset when it has none), or an Excel date or time cell.
 */
export function readFixedStart(cell: CellValue | undefined, utcOffset: string): Read<FixedStart | undefined> {
  if (cell === null || cell === undefined) return ok(undefined);
  const expected = 'write +2h (after the window starts), a time of day (23:30) or a date and time (2026-12-05 23:30)';
  if (cell instanceof Date) {
    if (isTimeOnly(cell)) return ok({ timeOfDayMs: (cell.getTime() - EXCEL_EPOCH_MS) % DAY_MS });
    // An Excel date has no zone: its wall-clock time is in the plan's UTC offset.
    const wall = cell.toISOString().slice(0, 19);
    return ok({ at: new Date(Date.parse(`${wall}${utcOffset}`)).toISOString() });
  }
  if (typeof cell !== 'string') return no(`${String(cell)} is not a start time; ${expected}`);
  const text = cell.trim();
  const relative = /^[tTwW]?\s*\+\s*(.+)$/.exec(text);
  if (relative) {
    const read = readDuration(relative[1]);
    if (!read.ok || read.value === undefined) return no(`"${text}": "${relative[1]}" is not a duration; ${expected}`);
    return ok({ relativeMs: read.value });
  }
  const clock = /^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$/.exec(text);
  if (clock && Number(clock[1]) < 24)
    return ok({ timeOfDayMs: Number(clock[1]) * 3_600_000 + Number(clock[2]) * 60_000 + Number(clock[3] ?? 0) * 1000 });
  const date = /^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(text);
  if (date) {
    const time = date[2]!.length === 4 ? `0${date[2]}` : date[2]!;
    const ms = Date.parse(`${date[1]}T${time.length === 5 ? `${time}:00` : time}${normalizeOffset(date[3]) ?? utcOffset}`);
    if (Number.isFinite(ms)) return ok({ at: new Date(ms).toISOString() });
  }
  return no(`"${text}" is not a start time; ${expected}`);
}

function normalizeOffset(offset: string | undefined): string | undefined {
  if (offset === undefined) return undefined;
  if (offset.toUpperCase() === 'Z') return 'Z';
  return offset.includes(':') ? offset : `${offset.slice(0, 3)}:${offset.slice(3)}`;
}

/** What a row is: a task (a manual step unless it names an action), a manual step, a gate or a milestone. */
export type RowType = 'task' | 'manual' | 'gate' | 'milestone' | 'retirement';

const TYPE_WORDS: Record<string, RowType> = {
  task: 'task',
  activity: 'task',
  step: 'task',
  automated: 'task',
  manual: 'manual',
  gate: 'gate',
  'go no go': 'gate',
  'go nogo': 'gate',
  decision: 'gate',
  checkpoint: 'gate',
  approval: 'gate',
  milestone: 'milestone',
  ms: 'milestone',
  retirement: 'retirement',
  'retirement milestone': 'retirement',
  decommission: 'retirement',
};

/** A row's type; an empty cell is a task. */
export function readType(cell: CellValue | undefined): Read<RowType> {
  const text = textOf(cell);
  if (text === undefined) return ok('task');
  const type =
    TYPE_WORDS[
      text
        .toLowerCase()
        .replace(/[^a-z]+/g, ' ')
        .trim()
    ];
  return type ? ok(type) : no(`"${text}" is not a type; write task, manual, gate, milestone or retirement`);
}

/** A plan's name for something as a runbook id: `DBA Team` → `dba-team`, `1.2` → `1-2`. Empty when nothing is left. */
export function slug(text: string): string {
  // Already an id (`dba`, `a--b`, `12`): kept as it is, so an exported runbook's ids come back unchanged.
  if (/^[a-z0-9][a-z0-9_-]*$/.test(text)) return text;
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9_]+/g, '-')
    .replace(/^[-_]+|-+$/g, '');
}

/** Milliseconds as a fixed start the runbook takes: `+1h30m`. */
export function relativeText(ms: number): string {
  return `+${durationText(ms)}`;
}

/** Splits a list of names (`alice, bob`, `alice; bob`, `alice / bob`, one a line). */
export function namesIn(cell: CellValue | undefined): string[] {
  const text = textOf(cell);
  if (text === undefined) return [];
  return text
    .split(/[,;/\n]+/)
    .map((n) => n.trim())
    .filter(Boolean);
}
