/**
 * A plan file as a grid of cells with the numbers people see: an XLSX workbook's sheet (exceljs) or a CSV file
 * (csv-parse), whatever its separator and whether it is UTF-8 or windows-1252, the two encodings spreadsheet programs
 * write CSV in. Every cell keeps its row number, so every problem found later can say where it is.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';

/** A cell's value as read: text, a number, a date or time (an Excel date or time cell), a boolean, or nothing. */
export type CellValue = string | number | Date | boolean | null;

/** One row of the sheet, by its number as the spreadsheet program shows it (1-based). */
export interface SheetRow {
  number: number;
  cells: CellValue[];
}

/** A plan file read: its rows, and where they came from, for messages. */
export interface Sheet {
  /** The file as the user named it. */
  file: string;
  /** The sheet's name (XLSX only): messages say `sheet "Cutover"`. */
  sheet?: string;
  /** The other sheets of the workbook, by name, as rows (an exported plan's `Runbook` sheet, for one). */
  others: Map<string, SheetRow[]>;
  rows: SheetRow[];
}

/** Thrown when a plan file cannot be read at all (missing, not a workbook, no such sheet): one sentence. */
export class PlanFileError extends Error {}

/** Reads a plan: `.xlsx` as a workbook (the sheet named, or the first with a plan on it), anything else as CSV. */
export async function readPlanFile(
  file: string,
  options: { sheet?: string; hasPlan?: (rows: SheetRow[]) => boolean } = {},
): Promise<Sheet> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new PlanFileError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (path.extname(file).toLowerCase() === '.xlsx') return readWorkbook(file, bytes, options.sheet, options.hasPlan ?? (() => true));
  if (options.sheet !== undefined) throw new PlanFileError(`--sheet is for XLSX workbooks; ${file} is read as CSV`);
  return { file, others: new Map(), rows: readCsv(file, bytes) };
}

async function readWorkbook(
  file: string,
  bytes: Buffer,
  wanted: string | undefined,
  hasPlan: (rows: SheetRow[]) => boolean,
): Promise<Sheet> {
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  } catch (err) {
    throw new PlanFileError(`${file} is not an XLSX workbook Excel could open (${(err as Error).message}); save it as .xlsx, or as CSV`);
  }
  const sheets = new Map(workbook.worksheets.map((ws) => [ws.name, sheetRows(ws)] as const));
  const names = [...sheets.keys()];
  if (wanted !== undefined && !sheets.has(wanted)) {
    throw new PlanFileError(`${file} has no sheet "${wanted}"; its sheets: ${names.map((n) => `"${n}"`).join(', ') || 'none'}`);
  }
  // Without --sheet, the first sheet with a plan on it: a workbook often starts with a cover or read-me sheet.
  const name = wanted ?? names.find((n) => n !== RUNBOOK_SHEET && hasPlan(sheets.get(n)!)) ?? names[0];
  if (name === undefined) throw new PlanFileError(`${file} has no sheet`);
  const rows = sheets.get(name)!;
  sheets.delete(name);
  return { file, sheet: name, others: sheets, rows };
}

/** The sheet an exported plan keeps the runbook's own settings on (name, version, lead, window). */
export const RUNBOOK_SHEET = 'Runbook';

function sheetRows(ws: ExcelJS.Worksheet): SheetRow[] {
  const rows: SheetRow[] = [];
  ws.eachRow({ includeEmpty: false }, (row, number) => {
    const cells: CellValue[] = [];
    // exceljs gives a merged cell's value in every cell it spans: a phase merged down its steps fills each row.
    row.eachCell({ includeEmpty: true }, (cell, column) => {
      cells[column - 1] = cellValue(cell.value);
    });
    for (let i = 0; i < cells.length; i += 1) cells[i] ??= null;
    rows.push({ number, cells });
  });
  return rows;
}

/** A cell's value without formulas, rich text or links: what the cell shows. */
function cellValue(value: ExcelJS.CellValue): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value instanceof Date) return value;
  if (typeof value === 'object') {
    if ('richText' in value) return value.richText.map((part) => part.text).join('');
    if ('result' in value) return cellValue(value.result ?? null);
    if ('text' in value && typeof value.text === 'string') return value.text;
    if ('error' in value) return null;
  }
  return String(value);
}

/**
 * CSV as spreadsheet programs write it: UTF-8 (with or without a byte-order mark), or windows-1252 when the bytes
 * are not UTF-8 (Excel's "CSV" on a Western European Windows); `,`, `;` or a tab between fields, whichever the
 * header row uses most.
 */
function readCsv(file: string, bytes: Buffer): SheetRow[] {
  const text = decode(bytes);
  // The separator the header row uses most: the most any of the first lines has (title lines above it have few).
  const lines = text.split(/\r?\n/, 30);
  const most = (d: string) => Math.max(...lines.map((line) => line.replace(/"[^"]*"/g, '').split(d).length));
  const delimiter = [',', ';', '\t'].map((d) => [d, most(d)] as const).sort((a, b) => b[1] - a[1])[0]![0];
  let records: string[][];
  try {
    const parsed: unknown = parseCsv(text, { delimiter, relax_column_count: true, bom: true, skip_empty_lines: false });
    records = parsed as string[][];
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new PlanFileError(`${file}${e.lines ? `: row ${e.lines}` : ''}: not readable as CSV (${e.message})`);
  }
  return records
    .map((cells, i) => ({ number: i + 1, cells: cells.map((c) => (c.trim() === '' ? null : c)) }))
    .filter((row) => row.cells.some((c) => c !== null));
}

function decode(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Not Node's TextDecoder: it reads windows-1252 as Latin-1, so 0x80 to 0x9F (€, –, “ ”, Œ) come out as controls.
    return iconv.decode(bytes, 'windows-1252');
  }
}
