/**
 * Timing review from the record store: `cutover history RUNBOOK`, `cutover compare RUN_A RUN_B` and
 * `cutover forecast RUNBOOK`. They read the store only (no Temporal), so past runs can be reviewed anywhere the
 * database is.
 */
import { existsSync, statSync } from 'node:fs';
import type { RunStore } from '../prisma/run-store.js';
import type { RunTiming } from '../prisma/timing-queries.js';
import { formatDuration } from '../runbook/duration.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import { compareRuns, type RunComparison } from '../runbook/timing/compare.js';
import { historyRow, type HistoryRow } from '../runbook/timing/runs.js';
import { EXIT, UnknownRunError, UsageError } from './errors.js';
import { loadRunbook, type LoadedRunbook } from './load-runbook.js';
import type { Output } from './output.js';
import { readSettings } from './settings.js';
import { openRecordStore } from './store.js';

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
export async function timedRun(store: RunStore, runId: string): Promise<{ run: RunTiming; runbook: Runbook }> {
  const detail = await store.findRun(runId);
  if (!detail) throw new UnknownRunError(runId);
  const [run] = await store.runTimings([detail]);
  return { run: run!, runbook: recordedRunbook(runId, detail.runbookSource) };
}

/** `—` for an unknown duration. */
export function showMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '—' : formatDuration(ms);
}

/** `+2m10s`, `-30s`, `±0s`. */
export function showDelta(ms: number | null): string {
  if (ms === null) return '';
  if (Math.round(ms / 1000) === 0 && Math.abs(ms) < 1000) return '±0s';
  return `${ms > 0 ? '+' : '-'}${formatDuration(Math.abs(ms))}`;
}

/** `cutover history RUNBOOK [--json]` */
export async function history(argument: string, json: boolean, out: Output): Promise<number> {
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
export async function compare(runA: string, runB: string, json: boolean, out: Output): Promise<number> {
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
