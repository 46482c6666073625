/**
 * `cutover export RUNBOOK --format xlsx|csv [--runs N] --out FILE`: the plan as a spreadsheet, with a column group
 * for each of the latest runs the record store has of it. Written whole or not at all.
 */
import { planCsv, planTable, planXlsx, runsToShow } from '../plans/export-plan.js';
import { openRecordStore } from '../prisma/store.js';
import { EXIT } from './errors.js';
import { loadRunbook } from './load-runbook.js';
import type { Output } from './output.js';
import { writeAtomically } from './report-file.js';
import { readSettings } from './settings.js';

export interface ExportFlags {
  format: 'xlsx' | 'csv';
  runs: number;
  out: string;
}

export async function exportPlan(file: string, flags: ExportFlags, out: Output): Promise<number> {
  const loaded = loadRunbook(file);
  const { runbook } = loaded;
  const store = await openRecordStore(readSettings());
  let runs;
  try {
    const records = runsToShow(await store.runbookRuns(runbook.name), flags.runs);
    runs = await store.runTimings(records);
  } finally {
    await store.close();
  }
  // The store gives them back in the order asked for: oldest first.
  const table = planTable(runbook, runs);
  writeAtomically(flags.out, flags.format === 'xlsx' ? await planXlsx(table) : planCsv(table));
  const late = [...table.late.keys()].length;
  out.line(
    `wrote ${flags.out}: ${table.rows.length} step(s) of ${runbook.name} v${runbook.version}` +
      (runs.length > 0
        ? `, ${runs.length} run(s) (${runs.map((r) => r.id).join(', ')}), ${late} step(s) late in at least one`
        : ', no run recorded yet'),
  );
  return EXIT.ok;
}
