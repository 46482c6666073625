// One measured job of `bench/plans.mjs`, in a process of its own so its peak RSS is its own. Node and the modules
// load before the clock starts (the same for every job); prints `{ ms, cpuMs, rssMb, ... }` as JSON: its wall time,
// its CPU time (user + system: what a loaded machine moves much less) and its peak RSS.
//   import FILE OUT: what `cutover import FILE --out OUT` does (read, build, validate, write the YAML)
//   exceljs FILE: the baseline: the workbook read with exceljs alone and every cell's value visited
//   export RUNBOOK OUT RUNS: what `cutover export RUNBOOK --format xlsx --runs RUNS` does with RUNS recorded runs
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import ExcelJS from 'exceljs';
import { dist } from './support.mjs';

const [job, file, out, runs] = process.argv.slice(2);
const quiet = { line() {}, warn() {}, json() {}, raw() {} };
let cpuStart;
const cpuMs = () => {
  const u = process.cpuUsage(cpuStart);
  return (u.user + u.system) / 1000;
};

let result;
if (job === 'import') {
  const { importPlanFile } = await dist('cli/import-plan.js');
  cpuStart = process.cpuUsage();
  const started = performance.now();
  const code = await importPlanFile(file, { out }, quiet);
  result = { ms: performance.now() - started, cpuMs: cpuMs(), code };
} else if (job === 'exceljs') {
  cpuStart = process.cpuUsage();
  const started = performance.now();
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.readFile(file);
  let cells = 0;
  workbook.eachSheet((sheet) =>
    sheet.eachRow((row) =>
      row.eachCell((cell) => {
        if (cell.value !== null && cell.value !== undefined) cells += 1;
      }),
    ),
  );
  result = { ms: performance.now() - started, cpuMs: cpuMs(), cells };
} else if (job === 'export') {
  const { loadRunbook } = await dist('cli/load-runbook.js');
  const { planTable, planXlsx } = await dist('plans/export-plan.js');
  const loaded = loadRunbook(file);
  const timed = recordedRuns(loaded.runbook, loaded.versionHash, Number(runs));
  cpuStart = process.cpuUsage();
  const started = performance.now();
  const table = planTable(loaded.runbook, timed);
  writeFileSync(out, await planXlsx(table));
  result = { ms: performance.now() - started, cpuMs: cpuMs(), rows: table.rows.length, columns: table.headers.length };
} else throw new Error(`unknown job ${job} (${path.basename(import.meta.url)})`);
console.log(JSON.stringify({ ...result, rssMb: process.resourceUsage().maxRSS / 1024 }));

/** `count` completed rehearsals, every step run back to back with a duration near its plan, a few late. */
function recordedRuns(runbook, versionHash, count) {
  const steps = runbook.phases.flatMap((phase) => phase.steps.map((step) => ({ step, phase })));
  return Array.from({ length: count }, (_, r) => {
    const t0 = Date.parse('2026-11-01T20:00:00Z') + r * 86_400_000;
    let at = t0;
    const iso = (ms) => new Date(ms).toISOString();
    return {
      id: `bench-${r + 1}`,
      number: r + 1,
      mode: 'rehearsal',
      status: 'completed',
      runbookVersion: runbook.version,
      versionHash,
      startedBy: 'alice',
      createdAt: iso(t0),
      startedAt: iso(t0),
      endedAt: iso(t0 + 3_600_000),
      outcome: null,
      backoutTrigger: null,
      backoutStartedAt: null,
      backoutEndedAt: null,
      steps: steps.map(({ step, phase }, i) => {
        const ms = ((i + r) % 7) * 1000 + 1000;
        const start = at;
        at += ms;
        return {
          stepId: step.id,
          phaseId: phase.id,
          purpose: 'forward',
          attempts: 1,
          status: 'succeeded',
          treatment: 'run',
          startedAt: iso(start),
          endedAt: iso(start + ms),
          durationMs: ms,
          plannedDurationMs: null,
        };
      }),
    };
  });
}
