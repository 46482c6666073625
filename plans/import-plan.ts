/**
 * `cutover import`: a plan file (XLSX or CSV) as a runbook, every problem located on the plan's row and column, all
 * of them at once. Nothing here writes a file: the caller writes the text when there is no problem.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatProblem } from '../lib/yaml-document/problems.js';
import { parse as parseYaml } from 'yaml';
import { parseRunbook } from '../runbook/parse.js';
import { runbookSchema } from '../runbook/schema.js';
import { validateRunbook } from '../runbook/validate.js';
import { slug, textOf } from './cells.js';
import { findHeaderRow, spellingsOf, type ColumnMap } from './columns.js';
import { buildRunbook, type BuildOptions, type BuiltPlan } from './build-runbook.js';
import { extraHeaders, parsePlanMapping, type PlanMapping } from './mapping.js';
import { locator, readTasks, type CellProblem } from './plan-rows.js';
import { PlanFileError, readPlanFile, RUNBOOK_SHEET, type Sheet, type SheetRow } from './sheet.js';

export interface ImportOptions {
  sheet?: string;
  /** The mapping file (`--columns`). */
  columns?: string;
  /** What an existing runbook gives (`--into`): its name, window, roles and lead. */
  base?: Pick<BuildOptions, 'name' | 'window' | 'roles' | 'lead'>;
}

/** A plan read: the runbook built from it and where its steps came from, or every problem, located. */
export type ImportResult =
  | { ok: true; built: BuiltPlan; sheet: Sheet; columns: ColumnMap; unread: string[]; tasks: number; notes: string[] }
  | { ok: false; problems: string[] };

/** Reads and builds; never throws for anything in the files. */
export async function importPlan(file: string, options: ImportOptions = {}): Promise<ImportResult> {
  let mapping: PlanMapping | undefined;
  if (options.columns !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.columns, 'utf8');
    } catch (err) {
      return { ok: false, problems: [`cannot read ${options.columns} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`] };
    }
    const parsed = parsePlanMapping(text, options.columns);
    if (!parsed.ok) return { ok: false, problems: parsed.problems.map(formatProblem) };
    mapping = parsed.mapping;
  }
  let sheet: Sheet;
  try {
    const hasPlan = (rows: SheetRow[]) => findHeaderRow(rows, extraHeaders(mapping)) !== undefined;
    sheet = await readPlanFile(file, { ...(options.sheet !== undefined ? { sheet: options.sheet } : {}), hasPlan });
  } catch (err) {
    if (err instanceof PlanFileError) return { ok: false, problems: [err.message] };
    throw err;
  }
  const header = findHeaderRow(sheet.rows, extraHeaders(mapping));
  const where = sheet.sheet !== undefined ? `${file}: sheet "${sheet.sheet}"` : file;
  if (!header) {
    return {
      ok: false,
      problems: [
        `${where}: no header row: the plan needs a row naming its columns, with a task title (${spellingsOf('title')
          .slice(0, 4)
          .join(', ')}, ...) and at least one more; or name yours in a mapping file (--columns MAP.yaml)`,
      ],
    };
  }
  if (!header.columns.has('owner')) {
    return {
      ok: false,
      problems: [
        `${where}: no owner column in the header row (row ${header.number}): every step has an owner; add a column (${spellingsOf('owner')
          .slice(0, 4)
          .join(', ')}, ...) or name yours in a mapping file (--columns MAP.yaml)`,
      ],
    };
  }
  const { tasks, problems } = readTasks(sheet, header, mapping?.utc_offset ?? 'Z');
  const at = locator(sheet, header.columns);
  if (tasks.length === 0 && problems.length === 0)
    return { ok: false, problems: [`${where}: no task under the header row (row ${header.number})`] };
  const exported = exportedSettings(sheet.others.get(RUNBOOK_SHEET));
  const built = buildRunbook(tasks, {
    ...(mapping ? { mapping } : {}),
    name: options.base?.name ?? exported.name ?? (slug(path.basename(file, path.extname(file))) || 'imported-plan'),
    ...(options.base?.window
      ? { window: options.base.window }
      : mapping?.runbook?.window
        ? { window: mapping.runbook.window }
        : exported.window
          ? { window: exported.window }
          : {}),
    ...(options.base?.roles ? { roles: options.base.roles, skipRules: true } : {}),
    ...((options.base?.lead ?? exported.lead) ? { lead: options.base?.lead ?? exported.lead! } : {}),
  });
  if (exported.version && !mapping?.runbook?.version) built.runbook.version = exported.version;
  const all: CellProblem[] = [...problems, ...built.problems];
  if (all.length > 0 || built.general.length > 0) {
    const order = [...header.columns.values()].map((c) => c.index);
    const columnIndex = (p: CellProblem) => (p.field ? (header.columns.get(p.field)?.index ?? -1) : -1);
    all.sort((a, b) => a.row - b.row || order.indexOf(columnIndex(a)) - order.indexOf(columnIndex(b)));
    return {
      ok: false,
      problems: [...all.map((p) => `${at(p.row, p.field)}: ${p.message}`), ...built.general.map((g) => `${where}: ${g}`)],
    };
  }
  const notes = [...built.rowNotes.map((p) => `${at(p.row, p.field)}: ${p.message}`), ...built.notes];
  return { ok: true, built, sheet, columns: header.columns, unread: header.unread, tasks: tasks.length, notes };
}

/** The runbook's own settings an exported plan keeps on its `Runbook` sheet: name, version, lead, window. */
function exportedSettings(rows: SheetRow[] | undefined): {
  name?: string;
  version?: string;
  lead?: string;
  window?: { start?: string; length: string };
} {
  if (!rows) return {};
  const value = new Map(rows.map((r) => [String(textOf(r.cells[0]) ?? '').toLowerCase(), textOf(r.cells[1])] as const));
  const start = value.get('window start');
  const length = value.get('window length');
  return {
    ...(value.get('name') ? { name: value.get('name')! } : {}),
    ...(value.get('version') ? { version: value.get('version')! } : {}),
    ...(value.get('lead') ? { lead: value.get('lead')! } : {}),
    ...(length ? { window: { ...(start ? { start } : {}), length } } : {}),
  };
}

/**
 * Checks the written text once more as `cutover validate` will read it: the import never writes a runbook it refuses.
 * The text is read back with plain `yaml` and checked with the runbook's schema and validation, which is what
 * `validate` decides on; only when that finds a problem is it read again as `validate` reads it, with every node's
 * position, to locate the problems. That reading costs about 1 ms a step (5 s of a 5,000-row import, most of the
 * time: `npm run bench -- plans`), and the text written here has no duplicate keys, aliases or deep nesting for it
 * to find.
 */
export function checkWritten(text: string, file: string): string[] {
  let fine = false;
  try {
    const data = runbookSchema.safeParse(parseYaml(text, { maxAliasCount: -1 }));
    fine = data.success && validateRunbook(data.data).errors.length === 0;
  } catch {
    // Not readable back with plain yaml: the located parse below says where.
  }
  if (fine) return [];
  const parsed = parseRunbook(text, file);
  return parsed.ok ? [] : parsed.problems.map(formatProblem);
}
