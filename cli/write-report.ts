/**
 * `cutover report RUN [--format md|html] [--out FILE]`: what a lead sends after a rehearsal, from the record store
 * alone. The figures come from timing/report.ts (and the comparison and forecast it includes); this file
 * gathers the records and writes the document.
 */
import type { RecordStore } from '../prisma/record-store.js';
import { compareRuns, type RunComparison } from '../timing/compare.js';
import { forecast, runsWorthReading, type Forecast } from '../timing/forecast.js';
import { buildReport, type RunReport } from '../timing/report.js';
import type { Runbook } from '../runbook/schema.js';
import type { RunTiming } from '../prisma/timing-queries.js';
import { UnknownRunError } from './errors.js';
import type { Output } from './output.js';
import { deliverReport } from './report-file.js';
import { reportHtml } from '../present/report-html.js';
import { reportMarkdown } from '../present/report-markdown.js';
import { readSettings } from './settings.js';
import { openRecordStore } from '../prisma/store.js';
import { recordedRunbook, timedRun } from './review-timing.js';

export interface ReportOptions {
  format: 'md' | 'html';
  out?: string;
}

/** `cutover report RUN` */
export async function writeReport(runId: string, options: ReportOptions, out: Output): Promise<number> {
  const settings = readSettings();
  const store = await openRecordStore(settings);
  let report: RunReport;
  try {
    report = await gatherReport(store, runId);
  } finally {
    await store.close();
  }
  const generatedAt = new Date().toISOString();
  const text = options.format === 'html' ? reportHtml(report, generatedAt) : reportMarkdown(report, generatedAt);
  return deliverReport(text, options.out, out);
}

/** Reads everything the report of `runId` shows, and builds it. @throws UnknownRunError */
export async function gatherReport(store: RecordStore, runId: string): Promise<RunReport> {
  const detail = await store.findRun(runId);
  if (!detail) throw new UnknownRunError(runId);
  const runbook = recordedRunbook(runId, detail.runbookSource);
  const [run] = await store.runTimings([detail]);
  const reconciliations = await store.reconcileResults(runId);
  const history = await store.runbookRuns(detail.runbookName);
  return buildReport({
    run: run!,
    runbook,
    decisions: detail.decisions,
    checks: detail.checks,
    attempts: detail.steps,
    reconciliations: reconciliations.map((r) => ({
      stepId: r.stepId,
      attempt: r.attempt,
      check: r.check,
      round: r.round,
      withinLimits: r.result.within_limits,
      matched: r.result.matched,
      missingInTarget: r.result.missing_in_target,
      extraInTarget: r.result.extra_in_target,
      mismatched: r.result.mismatched,
      violations: r.result.limit_violations,
    })),
    previous: await previousComparison(store, history, run!, runbook),
    forecast: await forecastAsOf(store, history, run!, runbook),
  });
}

/** The comparison with the latest earlier rehearsal of the same runbook that ended, if any. */
async function previousComparison(
  store: RecordStore,
  history: Awaited<ReturnType<RecordStore['runbookRuns']>>,
  run: RunTiming,
  runbook: Runbook,
): Promise<RunComparison | null> {
  const previous = history.find((r) => r.number < run.number && r.mode === 'rehearsal' && r.endedAt !== null);
  if (!previous) return null;
  return compareRuns(await timedRun(store, previous.id), { run, runbook });
}

/** The forecast of the night as it stood after this run: from this run and the ones before it. */
async function forecastAsOf(
  store: RecordStore,
  history: Awaited<ReturnType<RecordStore['runbookRuns']>>,
  run: RunTiming,
  runbook: Runbook,
): Promise<Forecast | null> {
  const runs = await store.runTimings(runsWorthReading(history.filter((r) => r.number <= run.number)));
  return forecast({ runbook, versionHash: run.versionHash, runs });
}
