// plans: `cutover import` of a large spreadsheet plan and `cutover export` of it with rehearsals.
//  1. An XLSX plan of BENCH_PLAN_ROWS tasks (5,000) written here with exceljs the way plans look: a title row above
//     the header, phases as section rows, streams, owners, predecessors as lists and with lags (`12FS+30m`),
//     durations as `2h`, `01:30` and minutes. `cutover import` of it (read, build, validate, write the YAML), against
//     the baseline: the same file read with exceljs alone and every cell visited. Each in a child process of its own
//     (bench/lib/plans-child.mjs: its CPU and wall time, after Node and the modules loaded, and its peak RSS);
//     alternating, medians. The targets are on CPU time: on a shared machine wall time follows the load.
//  2. `cutover export` of the imported runbook as XLSX with 10 recorded rehearsals (a column group each).
// Targets (see bench/README.md): the import within 6x the bare read's CPU time, and the absolute limits on
// CPU time: import <= 5 s and <= 300 MB peak RSS, export <= 5 s.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ExcelJS from 'exceljs';
import { finish, infoLine, median, root, size, SMOKE, targetLine } from './lib/support.mjs';

const run = promisify(execFile);
const ROWS = size('BENCH_PLAN_ROWS', 5000, 40);
const RUNS = size('BENCH_PLAN_RUNS', 10, 2);
const REPEAT = size('BENCH_REPEAT', 3, 1);
const PHASES = ['Preparation', 'Data freeze', 'Migration', 'Reconciliation', 'Go/No-Go', 'Switch-on', 'Hypercare'];

/** A plan as a team's spreadsheet has it; returns the file. */
async function writePlan(file, rows) {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Cutover');
  sheet.addRow(['CRM cutover plan, rehearsal 3']);
  sheet.addRow([]);
  sheet.addRow(['ID', 'Stream', 'Task', 'Owner', 'Predecessors', 'Duration', 'Type', 'Notes']);
  const perPhase = Math.ceil(rows / PHASES.length);
  let id = 0;
  for (const phase of PHASES) {
    sheet.addRow([phase]);
    const first = id + 1;
    for (let i = 0; i < perPhase && id < rows; i += 1) {
      id += 1;
      const type = phase === 'Go/No-Go' && i === 0 ? 'gate' : 'task';
      const preds =
        id === first ? '' : i % 5 === 0 ? `${id - 1}FS+30m` : i % 3 === 0 && id - 2 >= first ? `${id - 1}, ${id - 2}` : String(id - 1);
      const duration = ['2h', '01:30', '45', '1h15m'][id % 4];
      const owner = type === 'gate' ? 'Cutover lead' : ['DBA Team', 'Integration', 'Business', 'Infrastructure'][id % 4];
      sheet.addRow([
        id,
        ['Data', 'Interfaces', 'Business', 'Infra'][id % 4],
        `Task ${id}: ${phase.toLowerCase()} work item`,
        owner,
        preds,
        type === 'gate' ? '' : duration,
        type,
        id % 9 === 0 ? 'check with the vendor' : '',
      ]);
    }
  }
  await workbook.xlsx.writeFile(file);
  return file;
}

async function child(...args) {
  const { stdout } = await run(process.execPath, [path.join(root, 'bench', 'lib', 'plans-child.mjs'), ...args], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

export async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-bench-plans-'));
  try {
    const plan = await writePlan(path.join(dir, 'plan.xlsx'), ROWS);
    const runbook = path.join(dir, 'runbook.yaml');
    // Warm-up of each side (the page cache, V8's code cache), then alternating measured runs (no warm-up in smoke
    // mode: its figures are not judged).
    const imports = [];
    const bare = [];
    for (let i = SMOKE ? 0 : -1; i < REPEAT; i += 1) {
      const ours = await child('import', plan, runbook);
      if (ours.code !== 0) throw new Error(`cutover import exited ${ours.code}`);
      const theirs = await child('exceljs', plan);
      if (i < 0) continue;
      imports.push(ours);
      bare.push(theirs);
    }
    const importMs = median(imports.map((r) => r.cpuMs));
    const bareMs = median(bare.map((r) => r.cpuMs));
    const importWallMs = median(imports.map((r) => r.ms));
    const rss = Math.max(...imports.map((r) => r.rssMb));
    console.log(
      `import of ${ROWS} rows: ${(importMs / 1000).toFixed(2)} s CPU, ${(importWallMs / 1000).toFixed(2)} s wall (medians of ${REPEAT}), peak RSS ${rss.toFixed(0)} MB; ` +
        `exceljs alone: ${(bareMs / 1000).toFixed(2)} s CPU, peak RSS ${Math.max(...bare.map((r) => r.rssMb)).toFixed(0)} MB, ${bare[0].cells} cells`,
    );
    const exports = [];
    for (let i = 0; i < REPEAT; i += 1) exports.push(await child('export', runbook, path.join(dir, 'export.xlsx'), String(RUNS)));
    const exportMs = median(exports.map((r) => r.cpuMs));
    console.log(
      `export with ${RUNS} runs: ${(exportMs / 1000).toFixed(2)} s CPU, ${(median(exports.map((r) => r.ms)) / 1000).toFixed(2)} s wall (medians of ${REPEAT}), ${exports[0].rows} rows x ${exports[0].columns} columns, peak RSS ${Math.max(...exports.map((r) => r.rssMb)).toFixed(0)} MB`,
    );
    console.log(infoLine('plans', 'rows_per_second', Math.round((ROWS * 1000) / importMs), 'tasks imported a second'));
    return finish([
      targetLine('plans', 'import_vs_exceljs_ratio', importMs / bareMs, '<=', 6),
      targetLine('plans', 'import_cpu_seconds', importMs / 1000, '<=', 5),
      targetLine('plans', 'import_peak_rss_mb', rss, '<=', 300, { digits: 0 }),
      targetLine('plans', 'export_cpu_seconds', exportMs / 1000, '<=', 5),
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
