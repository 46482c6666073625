/**
 * `cutover reconcile-report RUN STEP [--check NAME] [--attempt N] [--round N] [--format csv|json] [--out FILE]`:
 * the differing rows a step's reconciliation recorded, from the record store alone (Temporal may
 * be gone). CSV for a spreadsheet, JSON for everything the comparison found.
 */
import { UnknownRunError, UsageError } from './errors.js';
import type { Output } from './output.js';
import { deliverReport } from './report-file.js';
import { reportCsv, reportJson, selectRecords, type ReportFormat, type ReportSelection } from '../present/reconcile-report.js';
import { readSettings } from './settings.js';
import { openRecordStore } from '../prisma/store.js';

export interface ReportOptions extends ReportSelection {
  format: ReportFormat;
  out?: string;
}

/** `cutover reconcile-report RUN STEP ...` */
export async function writeReconcileRows(runId: string, stepId: string, options: ReportOptions, out: Output): Promise<number> {
  const store = await openRecordStore(readSettings());
  let text: string;
  try {
    const run = await store.findRun(runId);
    if (!run) throw new UnknownRunError(runId);
    const records = await store.reconcileResults(runId, { stepId });
    if (records.length === 0) {
      const steps = run.state ? run.state.order : [...new Set(run.steps.map((s) => s.stepId))];
      if (!steps.includes(stepId)) throw new UsageError(`run ${runId} has no step ${stepId}; its steps are ${steps.join(', ')}`);
      const reconciled = [...new Set((await store.reconcileResults(runId)).map((r) => r.stepId))];
      throw new UsageError(
        `step ${stepId} of run ${runId} has recorded no reconciliation (it has no reconcile action or check, or has not compared yet)` +
          (reconciled.length > 0 ? `; steps that have: ${reconciled.join(', ')}` : ''),
      );
    }
    const picked = selectRecords(records, options, options.format);
    if (picked.length === 0) throw new UsageError(`nothing matches: ${describeChoices(records)}`);
    text = options.format === 'csv' ? reportCsv(picked) : reportJson(runId, stepId, picked);
  } finally {
    await store.close();
  }
  return deliverReport(text, options.out, out);
}

/** What a step recorded, for a selection that matched nothing: its attempts, checks and rounds. */
function describeChoices(records: Awaited<ReturnType<Awaited<ReturnType<typeof openRecordStore>>['reconcileResults']>>): string {
  const attempts = [...new Set(records.map((r) => r.attempt))].sort((a, b) => a - b);
  const checks = [...new Set(records.map((r) => (r.check === '' ? '(the action)' : `--check "${r.check}"`)))];
  const rounds = Math.max(...records.map((r) => r.round));
  return `the step recorded attempt(s) ${attempts.join(', ')}, ${checks.join(', ')}${rounds > 1 ? `, rounds 1 to ${rounds}` : ''}`;
}
