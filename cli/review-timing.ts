/**
 * Timing review from the record store: `cutover history RUNBOOK`, `cutover compare RUN_A RUN_B` and
 * `cutover forecast RUNBOOK` (the model: timing/forecast.ts). They read the store only (no Temporal), so past runs can be reviewed anywhere the
 * database is.
 */
import { existsSync, statSync } from 'node:fs';
import type { RecordStore } from '../prisma/record-store.js';
import type { RunTiming } from '../prisma/timing-queries.js';
import { formatDuration } from '../runbook/duration.js';
import { showDelta, showMs } from '../present/durations.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import { compareRuns, type RunComparison } from '../timing/compare.js';
import { forecast, runsWorthReading, type Forecast } from '../timing/forecast.js';
import { historyRow, type HistoryRow } from '../timing/runs.js';
import { EXIT, UnknownRunError, UsageError } from './errors.js';
import { loadRunbook, type LoadedRunbook } from './load-runbook.js';
import type { Output } from './output.js';
import { readSettings } from './settings.js';
import type { WindowOption } from './window-option.js';
import { openRecordStore } from '../prisma/store.js';

/** Thrown when a runbook name has no recorded runs (and is no runbook file either). */
export class UnknownRunbookError extends UsageError {
  constructor(
    readonly runbook: string,
    databaseDisplay: string,
  ) {
    super(
      `no runs of a runbook \`${runbook}\` are recorded in ${databaseDisplay}, and there is no such file; \`cutover list\` shows the runs`,
    );
  }
}

/** What a RUNBOOK argument names: a runbook file (its name, and the file as loaded), or a runbook's name. */
export interface RunbookArgument {
  name: string;
  loaded?: LoadedRunbook;
}

/** A RUNBOOK argument: a file that exists is read as a runbook; anything else is a runbook name. */
export function runbookArgument(argument: string): RunbookArgument {
  if (existsSync(argument) && statSync(argument).isFile()) {
    const loaded = loadRunbook(argument);
    return { name: loaded.runbook.name, loaded };
  }
  return { name: argument };
}

/** Parses the runbook a run recorded; a recorded runbook that no longer parses is named, not a stack trace. */
export function recordedRunbook(runId: string, source: string): Runbook {
  const parsed = parseRunbook(source, `${runId} (recorded runbook)`);
  if (!parsed.ok) {
    throw new UsageError(`the runbook recorded with run ${runId} no longer validates (${parsed.problems[0]?.message ?? 'invalid'})`);
  }
  return parsed.runbook;
}

/** A run and its timings, with the runbook it ran. @throws UnknownRunError */
export async function timedRun(store: RecordStore, runId: string): Promise<{ run: RunTiming; runbook: Runbook }> {
  const detail = await store.findRun(runId);
  if (!detail) throw new UnknownRunError(runId);
  const [run] = await store.runTimings([detail]);
  return { run: run!, runbook: recordedRunbook(runId, detail.runbookSource) };
}

/** `cutover history RUNBOOK [--json]` */
export async function showHistory(argument: string, json: boolean, out: Output): Promise<number> {
  const target = runbookArgument(argument);
  const settings = readSettings();
  const store = await openRecordStore(settings);
  let rows: HistoryRow[];
  try {
    rows = (await store.runbookRuns(target.name)).map(historyRow);
  } finally {
    await store.close();
  }
  if (rows.length === 0 && !target.loaded) throw new UnknownRunbookError(target.name, settings.databaseDisplay);
  if (json) {
    out.json({ runbook: target.name, runs: rows });
    return EXIT.ok;
  }
  if (rows.length === 0) {
    out.line(`no runs of ${target.name} recorded yet in ${settings.databaseDisplay}; start one with \`cutover rehearse ${argument}\``);
    return EXIT.ok;
  }
  out.line(
    `${'RUN'.padEnd(24)} ${'MODE'.padEnd(9)} ${'VERSION'.padEnd(26)} ${'STARTED'.padEnd(19)} ${'TOOK'.padStart(7)}  ${'STATUS'.padEnd(10)} ${'BACK-OUT'.padEnd(14)} LED BY`,
  );
  for (const row of rows) {
    const version = `${row.runbookVersion} (${row.versionHash.slice(0, 8)})`;
    const backout = row.backedOut ? `yes ${row.backoutMs === null ? '' : formatDuration(row.backoutMs)}`.trimEnd() : 'no';
    out.line(
      `${row.runId.padEnd(24)} ${row.mode.padEnd(9)} ${version.padEnd(26)} ${(row.startedAt ?? '').slice(0, 19).replace('T', ' ').padEnd(19)} ${showMs(row.durationMs).padStart(7)}  ${row.status.padEnd(10)} ${backout.padEnd(14)} ${row.ledBy}`,
    );
  }
  const rehearsals = rows.filter((r) => r.mode === 'rehearsal');
  const completed = rehearsals.filter((r) => r.status === 'completed');
  out.line('');
  out.line(
    `${rows.length} run${rows.length === 1 ? '' : 's'}: ${rehearsals.length} rehearsal${rehearsals.length === 1 ? '' : 's'} (${completed.length} completed, ${rehearsals.filter((r) => r.backedOut).length} backed out), ${rows.length - rehearsals.length} live`,
  );
  return EXIT.ok;
}

/** `cutover compare RUN_A RUN_B [--json]` */
export async function showComparison(runA: string, runB: string, json: boolean, out: Output): Promise<number> {
  const settings = readSettings();
  const store = await openRecordStore(settings);
  let comparison: RunComparison;
  try {
    const a = await timedRun(store, runA);
    const b = await timedRun(store, runB);
    comparison = compareRuns(a, b);
  } finally {
    await store.close();
  }
  if (json) {
    out.json(comparison);
    return EXIT.ok;
  }
  for (const line of formatComparison(comparison)) out.line(line);
  return EXIT.ok;
}

/** The plain-text comparison. */
export function formatComparison(c: RunComparison): string[] {
  const lines: string[] = [];
  const head = (h: RunComparison['a']) =>
    `${h.runId}  ${h.mode} v${h.runbookVersion} (${h.versionHash.slice(0, 8)})  ${h.status}  took ${showMs(h.durationMs)}${h.backedOut ? `, backed out in ${showMs(h.backoutMs)}` : ''}`;
  lines.push(`A ${head(c.a)}`, `B ${head(c.b)}`);
  lines.push(
    `B took ${c.totalDeltaMs === null ? 'an unknown time' : `${showDelta(c.totalDeltaMs)} against A`}${c.sameVersion ? '' : '; the runbook changed between them'}`,
  );
  const row = (name: string, planned: number | null, a: number | null, b: number | null, d: number | null, note: string) =>
    `  ${name.padEnd(30)} ${showMs(planned).padStart(8)} ${showMs(a).padStart(8)} ${showMs(b).padStart(8)} ${showDelta(d).padStart(9)}  ${note}`.trimEnd();
  lines.push('', `  ${'PHASE'.padEnd(30)} ${'PLANNED'.padStart(8)} ${'A'.padStart(8)} ${'B'.padStart(8)} ${'B-A'.padStart(9)}`);
  for (const p of c.phases) lines.push(row(p.phaseId, p.plannedMs, p.aMs, p.bMs, p.deltaMs, p.presence === 'both' ? '' : p.presence));
  lines.push('', `  ${'STEP'.padEnd(30)} ${'PLANNED'.padStart(8)} ${'A'.padStart(8)} ${'B'.padStart(8)} ${'B-A'.padStart(9)}`);
  let phase = '';
  for (const s of c.steps) {
    if (s.phaseId !== phase) {
      phase = s.phaseId;
      lines.push(`${phase}`);
    }
    lines.push(row(s.stepId, s.plannedMs, s.aMs, s.bMs, s.deltaMs, s.presence === 'both' ? '' : `${s.presence} in B`));
  }
  if (c.added.length + c.removed.length > 0) lines.push('');
  if (c.added.length > 0) lines.push(`added in B: ${c.added.join(', ')}`);
  if (c.removed.length > 0) lines.push(`removed in B: ${c.removed.join(', ')}`);
  lines.push('', `critical path A: ${c.criticalPath.a.join(' → ') || '—'}`, `critical path B: ${c.criticalPath.b.join(' → ') || '—'}`);
  if (c.criticalPath.joined.length + c.criticalPath.left.length === 0) lines.push('  unchanged');
  else {
    if (c.criticalPath.joined.length > 0) lines.push(`  joined it in B: ${c.criticalPath.joined.join(', ')}`);
    if (c.criticalPath.left.length > 0) lines.push(`  left it in B: ${c.criticalPath.left.join(', ')}`);
  }
  if (c.slower.length > 0) {
    lines.push('', 'slower in B:');
    for (const s of c.slower)
      lines.push(`  ${s.stepId.padEnd(30)} ${showDelta(s.deltaMs).padStart(9)}  (${showMs(s.aMs)} → ${showMs(s.bMs)})`);
  }
  return lines;
}

/** The runbook a forecast is of, its version, and the runs it learns from. */
export async function forecastInput(
  store: RecordStore,
  argument: string,
  databaseDisplay: string,
): Promise<{ runbook: Runbook; versionHash: string; runs: RunTiming[] }> {
  const target = runbookArgument(argument);
  const summaries = runsWorthReading(await store.runbookRuns(target.name));
  let runbook: Runbook;
  let versionHash: string;
  if (target.loaded) {
    runbook = target.loaded.runbook;
    versionHash = target.loaded.versionHash;
  } else {
    const latest = await store.latestRunbookSource(target.name);
    if (!latest) throw new UnknownRunbookError(target.name, databaseDisplay);
    runbook = recordedRunbook(latest.runId, latest.source);
    versionHash = (await store.findRun(latest.runId))?.versionHash ?? '';
  }
  return { runbook, versionHash, runs: await store.runTimings(summaries) };
}

export interface ForecastOptions {
  window?: WindowOption;
  seed?: number;
  simulations?: number;
  json: boolean;
}

/** `cutover forecast RUNBOOK [--window W] [--seed N] [--simulations N] [--json]` */
export async function showForecast(argument: string, options: ForecastOptions, out: Output): Promise<number> {
  const settings = readSettings();
  const store = await openRecordStore(settings);
  let result: Forecast;
  try {
    const input = await forecastInput(store, argument, settings.databaseDisplay);
    result = forecast({
      ...input,
      ...(options.window ? { window: options.window } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.simulations !== undefined ? { simulations: options.simulations } : {}),
    });
  } finally {
    await store.close();
  }
  if (options.json) {
    out.json(result);
    return EXIT.ok;
  }
  for (const line of formatForecast(result)) out.line(line);
  return EXIT.ok;
}

const percent = (x: number) => `${Math.round(x * 100)}%`;
const clockOf = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/** The forecast for people. */
export function formatForecast(f: Forecast): string[] {
  const lines: string[] = [];
  const b = f.basis;
  lines.push(
    `forecast of ${f.runbook} (${f.versionHash.slice(0, 8)}) from ${b.runs} recorded run${b.runs === 1 ? '' : 's'}` +
      (b.runs > 0 ? ` (${b.sameVersionRuns} of this version, ${b.backedOutRuns} backed out)` : '') +
      `; ${f.simulations.toLocaleString('en-US')} simulated nights, seed ${f.seed}`,
  );
  if (b.runs === 0) lines.push('no run recorded yet: every step is taken at its planned duration, with the spread plans usually have');
  lines.push(
    `planned ${showMs(f.plannedMs)} on the critical path` +
      (b.runs > 0 ? `; steps take ${b.planBias.toFixed(2)}× their plan (median over the measured steps)` : ''),
  );
  lines.push(`P50 ${showMs(f.p50Ms)}   P90 ${showMs(f.p90Ms)}`);
  const w = f.window;
  if (w) {
    lines.push(
      `window ${showMs(w.lengthMs)}${w.start && w.end ? ` (${clockOf(w.start)} → ${clockOf(w.end)})` : ''}: ${percent(w.pInside)} of nights end inside it`,
    );
  }
  lines.push(
    f.backout.source === 'measured'
      ? `back-out: P90 ${showMs(f.backout.p90Ms)} at 95% confidence (P50 ${showMs(f.backout.p50Ms)}), measured in ${f.backout.runs} run${f.backout.runs === 1 ? '' : 's'} that backed out; planned ${showMs(f.backout.plannedMs)}`
      : `back-out: planned ${showMs(f.backout.plannedMs)} (no recorded run backed out: rehearse a back-out to measure it)`,
  );
  if (w) {
    const at = w.latestSafeGoNoGo
      ? `${clockOf(w.latestSafeGoNoGo)} (window start + ${showMs(w.latestSafeGoNoGoMs)})`
      : `window start + ${showMs(w.latestSafeGoNoGoMs)}`;
    lines.push(
      w.latestSafeGoNoGoMs < 0
        ? `latest safe go/no-go: none — the back-out alone (${showMs(f.backout.p90Ms)}) is longer than the window`
        : `latest safe go/no-go: ${at}`,
    );
    if (w.gate) {
      lines.push(
        `  gate ${w.gate.stepId} opens at window start + ${showMs(w.gate.p50Ms)} (P50), + ${showMs(w.gate.p90Ms)} (P90): in time for a safe go on ${percent(w.gate.pInTime)} of nights`,
      );
    }
  }
  lines.push(
    '',
    `most likely critical path (${percent(f.criticalPath.probability)} of nights): ${f.criticalPath.steps.join(' → ') || '—'}`,
  );
  if (f.riskContributors.length > 0) {
    lines.push('', 'risk: what the nights past the P90 lose on the critical path, by step');
    lines.push(
      `  ${'STEP'.padEnd(30)} ${'ADDS'.padStart(8)} ${'CRITICAL'.padStart(8)} ${'P50'.padStart(8)} ${'P90'.padStart(8)} ${'PLANNED'.padStart(8)}`,
    );
    for (const s of f.riskContributors) {
      lines.push(
        `  ${s.stepId.padEnd(30)} ${`+${showMs(s.tailMs)}`.padStart(8)} ${percent(s.criticality).padStart(8)} ${showMs(s.p50Ms).padStart(8)} ${showMs(s.p90Ms).padStart(8)} ${showMs(s.plannedMs).padStart(8)}`,
      );
    }
  }
  if (f.outliers.length > 0) {
    lines.push('', 'outliers (down-weighted in the fit; their rate still counts in the simulation):');
    for (const o of f.outliers) {
      lines.push(
        `  ${o.stepId}${o.purpose === 'backout' ? ' (back-out)' : ''} in ${o.runId}: ${showMs(o.durationMs)} against a typical ${showMs(o.typicalMs)}, weight ${o.weight.toFixed(2)}`,
      );
    }
  }
  if (f.neverRehearsed.length > 0) {
    lines.push(
      '',
      `never measured in a run (taken at their plan): ${f.neverRehearsed.map((s) => `${s.stepId} (${s.plannedMs === null ? 'no plan: 0' : showMs(s.plannedMs)})`).join(', ')}`,
    );
  }
  return lines;
}
