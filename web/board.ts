/**
 * The wallboard (`/board`): every run in flight and the latest run of each runbook, for the command centre's big
 * screen. Each run is red (failed, backing out or backed out), amber (behind plan by more than a threshold, or likely
 * to miss its window) or green, with how late it is, its P90 finish against the window, and who it waits for. Dark,
 * large type, and it refreshes itself (its script fetches the board again every few seconds and swaps it in; a
 * `<meta>` refresh would be simpler but moves the page under a screen reader, which axe counts as critical). Runs in flight are read from
 * their live channels, so a board on the wall costs Temporal nothing more than the run pages already do.
 */
import { formatDuration } from '../runbook/duration.js';
import { clock } from '../present/live-forecast.js';
import { runStatusLabel, waitingItems, type RunContext } from '../present/run-view.js';
import type { RunRecord } from '../prisma/records.js';
import type { RunState } from '../run/state.js';
import type { LiveForecast } from '../timing/live-forecast.js';
import { html } from '../present/html.js';
import { between, runHref } from './html-bits.js';

/** Behind plan by more than this turns a run amber (default). */
export const BOARD_LATE_MS = 10 * 60_000;

/** One tile of the board. */
export interface BoardTile {
  runId: string;
  runbookName: string;
  mode: string;
  rag: 'red' | 'amber' | 'green';
  /** Why it has that colour, in a few words. */
  why: string;
  status: string;
  lateMs: number;
  /** `P90 finish 23:58 · window ends 00:00`, when forecast. */
  finish?: string;
  waitingFor: string[];
  inFlight: boolean;
}

/** How late a run is at `now`: the most any started step ran past its planned end (0 when on plan). */
export function lateness(state: RunState, now: number): number {
  const origin = Date.parse(state.startedAt);
  const end = state.endedAt ? Date.parse(state.endedAt) : now;
  let late = 0;
  for (const step of Object.values(state.steps)) {
    if (!step?.startedAt) continue;
    const finished = step.endedAt ? Date.parse(step.endedAt) : end;
    late = Math.max(late, finished - (origin + step.plannedStartMs + step.plannedDurationMs));
  }
  return Math.max(0, late);
}

const RED_RUN = new Set(['failed', 'backing_out', 'backed_out']);

/** The tile of a run in flight (from its live state) or of an ended one (from its record or final state). */
export function boardTile(
  record: Pick<RunRecord, 'id' | 'runbookName' | 'mode' | 'status'>,
  state: RunState | null,
  now: number,
  options: { lateMs?: number; forecast?: LiveForecast; context?: RunContext } = {},
): BoardTile {
  const threshold = options.lateMs ?? BOARD_LATE_MS;
  const status = state?.status ?? record.status;
  const inFlight = state ? !state.endedAt : !['completed', 'failed', 'backed_out'].includes(record.status);
  const late = state ? lateness(state, now) : 0;
  const failedStep = state ? Object.values(state.steps).find((s) => s?.status === 'failed') : undefined;
  const backingOut = state && (state.backout.status === 'running' || state.backout.status === 'waiting');
  const forecast = options.forecast;
  const missesWindow = forecast?.window && forecast.window.pInside < 0.5;
  let rag: BoardTile['rag'] = 'green';
  let why = inFlight ? 'on plan' : 'done';
  if (RED_RUN.has(status) || backingOut || (inFlight && failedStep)) {
    rag = 'red';
    // A red run says why, as long as the step that failed is known, while it backs out and after: the wall is read by
    // people who were not told, and a run that backed out in a few seconds is seen only once it has.
    if (backingOut) why = failedStep ? `backing out: ${failedStep.id} failed` : 'backing out';
    else if (failedStep && (inFlight || status === 'failed')) why = `${failedStep.id} failed`;
    else if (failedStep && status === 'backed_out') why = `backed out: ${failedStep.id} failed`;
    else why = runStatusLabel(status as RunState['status']);
  } else if (inFlight && (late > threshold || missesWindow)) {
    rag = 'amber';
    why = late > threshold ? `${formatDuration(late)} behind plan` : 'likely to miss the window';
  }
  const tile: BoardTile = {
    runId: record.id,
    runbookName: record.runbookName,
    mode: record.mode,
    rag,
    why,
    status: runStatusLabel(status as RunState['status']),
    lateMs: late,
    waitingFor:
      state && inFlight
        ? waitingItems(
            state.order.flatMap((id) => (state.steps[id] ? [state.steps[id]] : [])),
            options.context,
          ).map((item) => `${item.who} (${item.stepId})`)
        : [],
    inFlight,
  };
  if (forecast && inFlight)
    tile.finish = `P90 finish ${clock(forecast.p90At)}${forecast.window ? ` · window ends ${clock(forecast.window.end)}` : ''}`;
  return tile;
}

/** The board page; `refreshS` is how often it reloads itself. */
export function renderBoard(tiles: readonly BoardTile[], refreshS: number, now: number, ended: readonly RunRecord[] = []): string {
  const inFlight = tiles.filter((t) => t.inFlight);
  const latest = tiles.filter((t) => !t.inFlight);
  const tile = (t: BoardTile) => html`<li class="tile rag-${t.rag}" data-run="${t.runId}">
<p class="rag">${t.rag.toUpperCase()}</p>
<h2><a href="${runHref(t.runId)}">${t.runId}</a></h2>
<p class="why">${t.why}</p>
<p>${t.mode} · ${t.status}${t.lateMs > 0 && t.inFlight ? ` · ${formatDuration(t.lateMs)} late` : ''}</p>
${t.finish && html`<p>${t.finish}</p>`}
${t.waitingFor.length > 0 && html`<p class="waiting">waiting for ${t.waitingFor.join('; ')}</p>`}
${!t.inFlight && html`<p class="muted">${endedLine(ended.find((r) => r.id === t.runId))}</p>`}
</li>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Wallboard — cutover</title>
<link rel="stylesheet" href="/assets/page.css">
<script src="/assets/board.js" defer></script>
</head>
<body class="board" data-refresh="${refreshS}">
<nav aria-label="Site"><a href="/">All runs</a></nav>
<main>
<h1>Cutover wallboard <span class="muted">${new Date(now).toISOString().slice(11, 16)} UTC</span></h1>
<h2 class="group">In flight</h2>
${inFlight.length === 0 ? html`<p>No run is in flight.</p>` : html`<ul class="tiles">${inFlight.map(tile)}</ul>`}
<h2 class="group">Latest of each runbook</h2>
${latest.length === 0 ? html`<p>No run has ended yet.</p>` : html`<ul class="tiles">${latest.map(tile)}</ul>`}
</main>
</body>
</html>
`.value;
}

function endedLine(record: RunRecord | undefined): string {
  if (!record) return '';
  const took = between(record.startedAt, record.endedAt);
  return `${record.outcome ?? ''}${took ? ` (took ${took})` : ''}`;
}
