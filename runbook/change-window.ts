/**
 * What a live run started now would break of the runbook's windows: it starts outside the approved `change_window`,
 * or its plan (the planned schedule, from now) puts an interface switch-on step into a declared interface freeze.
 * `cutover run --live` refuses to start on either unless the lead signs an override. Pure: the CLI passes the clock.
 */
import { formatDuration } from './duration.js';
import { plannedSchedule, type GraphRunbook } from './graph.js';
import { FREEZE_GAP_PREFIX, type FixedStartRunbook } from './fixed-starts.js';

/** The part of a runbook the check needs. A full runbook fits. */
export type WindowRunbook = GraphRunbook &
  FixedStartRunbook & { readonly change_window?: { readonly start: string; readonly end: string } };

const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + 'Z';

/** One sentence per window a live run started at `nowMs` would break; empty when it breaks none. */
export function liveWindowGaps(runbook: WindowRunbook, nowMs: number): string[] {
  const gaps: string[] = [];
  const change = runbook.change_window;
  if (change) {
    const [open, close] = [Date.parse(change.start), Date.parse(change.end)];
    if (nowMs < open)
      gaps.push(`the change window: it opens at ${minute(open)}, ${formatDuration(open - nowMs)} from now (${minute(nowMs)})`);
    else if (nowMs >= close) gaps.push(`the change window: it closed at ${minute(close)} (now ${minute(nowMs)})`);
  }
  const windowStart = runbook.window?.start === undefined ? undefined : Date.parse(runbook.window.start);
  const freezes = runbook.freeze_windows ?? [];
  if (windowStart === undefined || freezes.length === 0) return gaps;
  // The run's night starts at the window's start (fixed starts and freezes count from it); a run started later is
  // that much later all along.
  const shift = Math.max(0, nowMs - windowStart);
  const planned = plannedSchedule(runbook).steps;
  for (const phase of runbook.phases) {
    if (phase.kind !== 'interface_switch_on') continue;
    for (const step of phase.steps) {
      const at = planned[step.id];
      if (!at) continue;
      const [from, to] = [windowStart + shift + at.startMs, windowStart + shift + at.startMs + at.durationMs];
      const freeze = freezes.find((f) => from < Date.parse(f.end) && Math.max(to, from + 1) > Date.parse(f.start));
      if (freeze)
        gaps.push(
          `${FREEZE_GAP_PREFIX}${minute(Date.parse(freeze.start))} to ${minute(Date.parse(freeze.end))}${freeze.reason ? ` (${freeze.reason})` : ''}: switch-on step ${step.id} is planned from ${minute(from)} to ${minute(to)}`,
        );
    }
  }
  return gaps;
}
