/**
 * `cutover doctor RUNBOOK`'s window check: which steps would fall outside the change window, or run into an interface
 * freeze, at the forecast's P90 (timing/window-fit.ts). Durations come from the runbook's recorded runs when the record
 * store is there and up to date (read only; doctor creates nothing), else from the plan, and the line says which.
 */
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { formatDuration } from '../runbook/duration.js';
import type { Runbook } from '../runbook/schema.js';
import { runsWorthReading } from '../timing/forecast.js';
import { windowFit, type WindowFit, type WindowMiss } from '../timing/window-fit.js';
import type { Check } from './doctor.js';
import { loadRunbook } from './load-runbook.js';
import type { Settings } from './settings.js';

/** At most this many steps are named one per line; the rest are counted. */
const NAMED_MISSES = 20;

/** The window checks of each runbook that loads (the runbook check already reports one that does not). */
export async function windowChecks(files: string[], settings: Settings, storeUsable: boolean): Promise<Check[]> {
  const checks: Check[] = [];
  let store: RecordStore | undefined;
  try {
    if (storeUsable && files.length > 0) store = await openRecordStore({ databaseUrl: settings.databaseUrl }).catch(() => undefined);
    for (const file of files) {
      let loaded: ReturnType<typeof loadRunbook>;
      try {
        loaded = loadRunbook(file);
      } catch {
        continue;
      }
      const runs = store ? await store.runTimings(runsWorthReading(await store.runbookRuns(loaded.runbook.name))) : [];
      checks.push(...fitChecks(file, loaded.runbook, windowFit({ runbook: loaded.runbook, versionHash: loaded.versionHash, runs })));
    }
  } finally {
    await store?.close();
  }
  return checks;
}

function fitChecks(file: string, runbook: Runbook, fit: WindowFit): Check[] {
  const check = `windows ${file}`;
  // Nothing to fit: a runbook without a window is checked for what it has, and this says nothing.
  if (!fit.window && fit.freezes === 0) return [];
  const basis =
    fit.runs > 0
      ? `the forecast's P90 from ${fit.runs} recorded run${fit.runs === 1 ? '' : 's'}`
      : "the forecast's P90 from the plan (no recorded runs)";
  const windowName = fit.window?.source === 'change_window' ? 'the change window' : 'the window';
  if (fit.misses.length === 0)
    return [
      {
        check,
        status: 'ok',
        detail: `at ${basis}, every step fits ${fit.window ? windowName : ''}${fit.window && fit.freezes > 0 ? ' and ' : ''}${fit.freezes > 0 ? `no switch-on step runs into the ${fit.freezes} interface freeze${fit.freezes === 1 ? '' : 's'}` : ''}`,
      },
    ];
  const at = (ms: number) => clock(runbook, ms);
  const lines = fit.misses
    .slice(0, NAMED_MISSES)
    .map((miss): Check => ({ check, status: 'warn', detail: missDetail(miss, fit, windowName, at), fix: missFix(miss) }));
  lines.unshift({
    check,
    status: 'warn',
    detail: `at ${basis}, ${fit.misses.length} step${fit.misses.length === 1 ? '' : 's'} would fall outside ${windowName}${fit.freezes > 0 ? ' or into an interface freeze' : ''}`,
  });
  if (fit.misses.length > NAMED_MISSES) lines.push({ check, status: 'warn', detail: `and ${fit.misses.length - NAMED_MISSES} more` });
  return lines;
}

function missDetail(miss: WindowMiss, fit: WindowFit, windowName: string, at: (ms: number) => string): string {
  const step = `${miss.phaseId}/${miss.stepId}`;
  if (miss.kind === 'late') return `${step} ends at ${at(miss.p90EndMs)}, after ${windowName} closes at ${at(fit.window!.endMs)}`;
  if (miss.kind === 'early') return `${step} starts at ${at(miss.p90StartMs)}, before ${windowName} opens at ${at(fit.window!.startMs)}`;
  const f = miss.freeze!;
  return `${step} runs from ${at(miss.p90StartMs)} to ${at(miss.p90EndMs)}, into the interface freeze from ${at(f.startMs)} to ${at(f.endMs)}${f.reason ? ` (${f.reason})` : ''}`;
}

function missFix(miss: WindowMiss): string {
  if (miss.kind === 'late') return 'shorten or start earlier what leads to it, or widen the window';
  if (miss.kind === 'early') return 'give it a not_before at the window opening, or move the window';
  return 'give it a not_before after the freeze, or shorten what comes before it';
}

/** An offset from the window's start as the time (UTC) when the window has a start, else as `+1h30m`. */
function clock(runbook: Runbook, offsetMs: number): string {
  if (runbook.window?.start === undefined) return `+${formatDuration(Math.max(0, offsetMs))}`;
  return `${new Date(Date.parse(runbook.window.start) + offsetMs).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}
