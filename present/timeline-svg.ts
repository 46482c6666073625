/**
 * The timeline of a run as SVG (a Gantt chart), the one renderer the report and the status page share. Per step, the
 * planned bar (outlined) above the actual one (filled by status, growing to the now-line while it runs), its undo
 * after it when the run backed out, a gate's deadline; grouped by phase, on one time scale with the window's start
 * and end, the point of no return and the now-line; the critical path in bold. Zoomed to a phase it draws that phase's
 * steps only. A run with more steps than fit (a 10,000-step run) is drawn aggregated: one bar per phase, or per
 * bucket of consecutive steps in a zoomed phase, so the chart never holds more than `maxRows` rows.
 *
 * No style attributes (the page's Content-Security-Policy allows none): looks come from classes, whose rules are
 * {@link TIMELINE_CSS}. Every text is escaped. Pure.
 */
import { formatDuration } from '../runbook/duration.js';
import type { RunState } from '../run/state.js';
import type { RunReport } from '../timing/report.js';
import { showMs } from './durations.js';
import { escapeHtml as e } from './html.js';
import { criticalPath, phaseKindWord } from './run-view.js';

/** One step's bars, as offsets (ms) from the run's start. */
export interface TimelineBar {
  stepId: string;
  title: string;
  phaseId: string;
  status: string;
  plannedStartMs: number;
  plannedMs: number;
  actualStartMs: number | null;
  /** How long it took, or has run so far (`running`). */
  actualMs: number | null;
  running?: boolean;
  critical: boolean;
  /** Its undo, when it has one under way or done. */
  undo?: { startMs: number; ms: number; status: string };
  /** A gate: when it closes (its deadline), from the run's start. */
  deadlineMs?: number;
  gate?: boolean;
}

/** What the chart draws. */
export interface TimelineModel {
  bars: TimelineBar[];
  /** Phases in runbook order, with their titles when the runbook gives them. */
  phases: { id: string; kind?: string; title?: string }[];
  /** The run's start (ms since the epoch), when known: the page's script moves the now-line from it. */
  originMs?: number;
  nowMs?: number;
  window?: { startMs: number; endMs: number };
  pointOfNoReturnMs?: number;
}

/** How the chart is drawn. */
export interface TimelineOptions {
  /** Draw only this phase's steps. */
  phase?: string;
  /** More rows than this are aggregated. */
  maxRows?: number;
  /** A link for each phase's name (zoom), when the page has one. */
  phaseHref?: (phaseId: string) => string;
}

/** The most rows drawn before the chart aggregates. */
export const TIMELINE_MAX_ROWS = 120;

/** The timeline's CSS: the report inlines it, the status page serves it in its stylesheet. */
export const TIMELINE_CSS = `
svg.timeline { max-width: 100%; height: auto; font: 11px system-ui, sans-serif; }
svg.timeline text { fill: currentColor; }
svg.timeline .label { text-anchor: end; } svg.timeline .critical { font-weight: 700; }
svg.timeline .phase { font-weight: 600; } svg.timeline .band { fill: #8881; }
svg.timeline .axis { text-anchor: middle; opacity: .7; } svg.timeline .tick { stroke: #8884; }
svg.timeline .planned { fill: none; stroke: currentColor; stroke-opacity: .6; stroke-dasharray: 3 2; }
svg.timeline .planned.on-path { stroke-width: 2; stroke-dasharray: none; }
svg.timeline .s-succeeded { fill: #2e7d32; } svg.timeline .s-simulated { fill: #7cb342; } svg.timeline .s-failed { fill: #c62828; }
svg.timeline .s-skipped, svg.timeline .s-cancelled, svg.timeline .s-not-run { fill: #9e9e9e; }
svg.timeline .s-running, svg.timeline .s-waiting { fill: #1565c0; } svg.timeline .s-mixed { fill: #5c6bc0; }
svg.timeline .undo { fill: #ef6c00; } svg.timeline .deadline { stroke: #c62828; stroke-width: 2; }
svg.timeline .gate { fill: #6a1b9a; }
svg.timeline .now { stroke: #d81b60; stroke-width: 2; } svg.timeline .now-label { fill: #d81b60; font-weight: 700; text-anchor: middle; }
svg.timeline .window { stroke: #2e7d32; stroke-width: 1.5; stroke-dasharray: 6 3; }
svg.timeline .no-return { stroke: #c62828; stroke-width: 1.5; stroke-dasharray: 2 2; }
svg.timeline .marker { font-size: 10px; }
`;

const LABEL = 210;
const CHART = 660;
const ROW = 22;
const TOP = 42;

/** The chart. */
export function timelineSvg(model: TimelineModel, options: TimelineOptions = {}): string {
  const rows = layoutRows(model, options);
  const content = Math.max(
    1,
    ...model.bars.map((b) =>
      Math.max(b.plannedStartMs + b.plannedMs, (b.actualStartMs ?? 0) + (b.actualMs ?? 0), b.undo ? b.undo.startMs + b.undo.ms : 0),
    ),
    model.nowMs ?? 0,
  );
  // The window and the point of no return widen the scale when they are near; far off, they are named at the edge.
  const near = (ms: number | undefined) => ms !== undefined && ms <= content * 3;
  const scaleMs =
    Math.max(content, near(model.window?.endMs) ? model.window!.endMs : 0, near(model.pointOfNoReturnMs) ? model.pointOfNoReturnMs! : 0) *
    1.02;
  const x = (ms: number) => LABEL + (Math.max(0, Math.min(ms, scaleMs)) / scaleMs) * CHART;
  const height = TOP + rows.length * ROW + 8;
  const parts: string[] = [];
  const step = niceStep(scaleMs / 6);
  for (let t = 0; t <= scaleMs; t += step) {
    parts.push(
      `<line x1="${f(x(t))}" y1="${TOP - 6}" x2="${f(x(t))}" y2="${height - 4}" class="tick"/>`,
      `<text x="${f(x(t))}" y="${TOP - 10}" class="axis">${e(t === 0 ? '0' : formatDuration(t))}</text>`,
    );
  }
  rows.forEach((row, i) => parts.push(drawRow(row, TOP + i * ROW, x, options)));
  const marker = (ms: number | undefined, cls: string, label: string) => {
    if (ms === undefined) return;
    const beyond = ms > scaleMs;
    const at = beyond ? LABEL + CHART : x(ms);
    parts.push(
      `<line x1="${f(at)}" y1="${TOP - 4}" x2="${f(at)}" y2="${height - 4}" class="${cls}"><title>${e(`${label} at +${formatDuration(ms)}`)}</title></line>`,
      `<text x="${f(at)}" y="${TOP - 24}" class="marker" text-anchor="${beyond ? 'end' : 'middle'}">${e(beyond ? `${label} +${formatDuration(ms)} →` : label)}</text>`,
    );
  };
  if (model.window && model.window.startMs > 0) marker(model.window.startMs, 'window', 'window opens');
  marker(model.window?.endMs, 'window', 'window ends');
  marker(model.pointOfNoReturnMs, 'no-return', 'no return');
  if (model.nowMs !== undefined) {
    parts.push(
      `<line x1="${f(x(model.nowMs))}" y1="${TOP - 4}" x2="${f(x(model.nowMs))}" y2="${height - 4}" class="now"/>`,
      `<text x="${f(x(model.nowMs))}" y="${height}" class="now-label">now</text>`,
    );
  }
  const data =
    model.originMs !== undefined
      ? ` data-origin="${model.originMs}" data-scale="${f(scaleMs)}" data-left="${LABEL}" data-width="${CHART}"`
      : '';
  const zoomed = options.phase ? ` of phase ${options.phase}` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="group" aria-label="${e(`Timeline${zoomed}: planned and actual time of each step, by phase`)}" viewBox="0 0 ${LABEL + CHART + 24} ${height + 6}"${data}>${parts.join('')}</svg>`;
}

/** A row of the chart: a phase's heading, one step, or an aggregate of steps. */
type Row = { kind: 'phase'; id: string; text: string } | { kind: 'bar'; bar: TimelineBar; label: string; tooltip: string };

function layoutRows(model: TimelineModel, options: TimelineOptions): Row[] {
  const max = options.maxRows ?? TIMELINE_MAX_ROWS;
  const phases = options.phase ? model.phases.filter((p) => p.id === options.phase) : model.phases;
  const byPhase = new Map<string, TimelineBar[]>(phases.map((p) => [p.id, []]));
  for (const bar of model.bars) byPhase.get(bar.phaseId)?.push(bar);
  const total = [...byPhase.values()].reduce((s, list) => s + list.length, 0);
  const rows: Row[] = [];
  const heading = (p: TimelineModel['phases'][number]) =>
    `${p.id}${p.title ? ` — ${p.title}` : ''}${p.kind ? ` (${phaseKindWord(p.kind)})` : ''}`;
  if (total + phases.length <= max) {
    for (const p of phases) {
      rows.push({ kind: 'phase', id: p.id, text: heading(p) });
      for (const bar of byPhase.get(p.id)!) {
        rows.push({ kind: 'bar', bar, label: bar.stepId, tooltip: `${bar.stepId}: ${bar.title} — ${bar.status}` });
      }
    }
    return rows;
  }
  if (phases.length > 1) {
    // Too many steps: one bar per phase.
    for (const p of phases) {
      const list = byPhase.get(p.id)!;
      if (list.length > 0) rows.push({ kind: 'bar', ...aggregate(list, p.id, `${p.id} (${list.length} steps)`) });
    }
    return rows;
  }
  // One phase too large to draw step by step: buckets of consecutive steps.
  const list = byPhase.get(phases[0]!.id) ?? [];
  const size = Math.ceil(list.length / Math.max(1, max - 1));
  rows.push({ kind: 'phase', id: phases[0]!.id, text: `${heading(phases[0]!)}: ${list.length} steps, ${size} a row` });
  for (let k = 0; k < list.length; k += size) {
    const bucket = list.slice(k, k + size);
    rows.push({ kind: 'bar', ...aggregate(bucket, phases[0]!.id, `${bucket[0]!.stepId}…${bucket.at(-1)!.stepId}`) });
  }
  return rows;
}

/** Several steps as one bar: the span of their plans, of their actual times, and a status that says how they stand. */
function aggregate(list: readonly TimelineBar[], phaseId: string, label: string): { bar: TimelineBar; label: string; tooltip: string } {
  const counts = new Map<string, number>();
  for (const b of list) counts.set(b.status, (counts.get(b.status) ?? 0) + 1);
  const started = list.filter((b) => b.actualStartMs !== null);
  const plannedStartMs = Math.min(...list.map((b) => b.plannedStartMs));
  const actualStartMs = started.length > 0 ? Math.min(...started.map((b) => b.actualStartMs!)) : null;
  const actualEnd = started.length > 0 ? Math.max(...started.map((b) => b.actualStartMs! + (b.actualMs ?? 0))) : null;
  const status =
    counts.size === 1
      ? list[0]!.status
      : counts.has('failed')
        ? 'failed'
        : counts.has('running') || counts.has('waiting')
          ? 'running'
          : 'mixed';
  const bar: TimelineBar = {
    stepId: label,
    title: label,
    phaseId,
    status,
    plannedStartMs,
    plannedMs: Math.max(...list.map((b) => b.plannedStartMs + b.plannedMs)) - plannedStartMs,
    actualStartMs,
    actualMs: actualStartMs === null || actualEnd === null ? null : actualEnd - actualStartMs,
    running: list.some((b) => b.running),
    critical: list.some((b) => b.critical),
  };
  const tooltip = `${label}: ${[...counts].map(([s, c]) => `${c} ${s}`).join(', ')}`;
  return { bar, label, tooltip };
}

function drawRow(row: Row, y: number, x: (ms: number) => number, options: TimelineOptions): string {
  if (row.kind === 'phase') {
    const text = e(row.text.length > 90 ? `${row.text.slice(0, 89)}…` : row.text);
    const href = options.phaseHref?.(row.id);
    const label = `<text x="4" y="${y + 15}" class="phase">${text}</text>`;
    return `<rect x="0" y="${y + 1}" width="${LABEL + CHART + 24}" height="${ROW - 2}" class="band"/>${href ? `<a href="${e(href)}">${label}</a>` : label}`;
  }
  const { bar } = row;
  const label = row.label.length > 30 ? `${row.label.slice(0, 29)}…` : row.label;
  const parts = [
    `<g class="row"><title>${e(row.tooltip)}</title>`,
    `<text x="${LABEL - 8}" y="${y + 14}" class="label${bar.critical ? ' critical' : ''}">${e(label)}</text>`,
  ];
  if (bar.plannedMs > 0) {
    parts.push(
      `<rect x="${f(x(bar.plannedStartMs))}" y="${y + 2}" width="${f(Math.max(1, x(bar.plannedStartMs + bar.plannedMs) - x(bar.plannedStartMs)))}" height="7" class="planned${bar.critical ? ' on-path' : ''}"><title>${e(`${row.label} planned ${showMs(bar.plannedMs)}`)}</title></rect>`,
    );
  }
  if (bar.actualStartMs !== null) {
    const width = Math.max(1.5, x(bar.actualStartMs + (bar.actualMs ?? 0)) - x(bar.actualStartMs));
    const shape = bar.gate ? `<path d="M${f(x(bar.actualStartMs))} ${y + 10}l5 5l-5 5l-5 -5z" class="gate"/>` : '';
    parts.push(
      `${shape}<rect x="${f(x(bar.actualStartMs))}" y="${y + 10}" width="${f(width)}" height="9" class="actual s-${statusClass(bar.status)}"><title>${e(`${row.label} ${bar.status}${bar.actualMs !== null ? ` ${bar.running ? 'for' : 'in'} ${showMs(bar.actualMs)}` : ''}`)}</title></rect>`,
    );
  }
  if (bar.undo) {
    parts.push(
      `<rect x="${f(x(bar.undo.startMs))}" y="${y + 12}" width="${f(Math.max(1.5, x(bar.undo.startMs + bar.undo.ms) - x(bar.undo.startMs)))}" height="6" class="undo"><title>${e(`${row.label} undo ${bar.undo.status} in ${showMs(bar.undo.ms)}`)}</title></rect>`,
    );
  }
  if (bar.deadlineMs !== undefined) {
    parts.push(
      `<line x1="${f(x(bar.deadlineMs))}" y1="${y + 1}" x2="${f(x(bar.deadlineMs))}" y2="${y + ROW - 1}" class="deadline"><title>${e(`${row.label} closes at +${formatDuration(bar.deadlineMs)}`)}</title></line>`,
    );
  }
  parts.push('</g>');
  return parts.join('');
}

function statusClass(status: string): string {
  return status.replace(/[^a-z]+/g, '-');
}

function f(n: number): string {
  return n.toFixed(1);
}

/** A round tick interval near `ms`. */
function niceStep(ms: number): number {
  const candidates = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 21_600, 43_200, 86_400].map((s) => s * 1000);
  return candidates.find((c) => c >= ms) ?? Math.ceil(ms / 86_400_000) * 86_400_000;
}

// ---------------------------------------------------------------------------------------------------
// From what the report and the page have

/** The report's timeline: each step as it ran, its undo, the window from the run's start. */
export function timelineFromReport(r: RunReport): TimelineModel {
  const phases: TimelineModel['phases'] = [];
  for (const row of r.timeline) if (phases.at(-1)?.id !== row.phaseId) phases.push({ id: row.phaseId });
  return {
    bars: r.timeline.map((row) => ({
      stepId: row.stepId,
      title: row.title,
      phaseId: row.phaseId,
      status: row.status,
      plannedStartMs: row.plannedStartMs,
      plannedMs: row.plannedMs,
      actualStartMs: row.actualStartMs,
      actualMs: row.actualMs,
      critical: row.onCriticalPath,
      ...(row.undo ? { undo: row.undo } : {}),
      ...(row.deadlineMs !== undefined ? { deadlineMs: row.deadlineMs } : {}),
      ...(row.gate ? { gate: true } : {}),
    })),
    phases,
    ...(r.window ? { window: { startMs: 0, endMs: r.window.lengthMs } } : {}),
  };
}

/** The live run's timeline at `now`: the running steps grow to the now-line; the window as the run has it. */
export function timelineFromState(
  state: RunState,
  now: number,
  extra: { phaseTitles?: Record<string, string>; window?: { end: string; pointOfNoReturn: string } } = {},
): TimelineModel {
  const origin = Date.parse(state.startedAt);
  const at = (iso: string) => Date.parse(iso) - origin;
  const critical = criticalPath(state);
  const end = state.endedAt ? Date.parse(state.endedAt) : now;
  const phases: TimelineModel['phases'] = [];
  const bars: TimelineBar[] = [];
  for (const id of state.order) {
    const step = state.steps[id];
    if (!step) continue;
    if (phases.at(-1)?.id !== step.phaseId) {
      const title = extra.phaseTitles?.[step.phaseId];
      phases.push({ id: step.phaseId, kind: step.phaseKind, ...(title ? { title } : {}) });
    }
    const running = step.startedAt !== undefined && step.endedAt === undefined && !state.endedAt;
    const undo = step.backout?.startedAt
      ? {
          startMs: at(step.backout.startedAt),
          ms: (step.backout.endedAt ? Date.parse(step.backout.endedAt) : end) - Date.parse(step.backout.startedAt),
          status: step.backout.status,
        }
      : undefined;
    bars.push({
      stepId: step.id,
      title: step.title,
      phaseId: step.phaseId,
      status: step.status,
      plannedStartMs: step.plannedStartMs,
      plannedMs: step.plannedDurationMs,
      actualStartMs: step.startedAt ? at(step.startedAt) : null,
      actualMs: step.startedAt ? Math.max(0, (step.endedAt ? Date.parse(step.endedAt) : end) - Date.parse(step.startedAt)) : null,
      running,
      critical: critical.has(step.id),
      ...(undo ? { undo } : {}),
      ...(step.gate?.closesAt ? { deadlineMs: at(step.gate.closesAt) } : {}),
      ...(step.gate ? { gate: true } : {}),
    });
  }
  const window = extra.window ?? Object.values(state.steps).find((s) => s?.gate?.pointOfNoReturn)?.gate?.pointOfNoReturn;
  const windowEnd = window ? ('end' in window ? window.end : window.windowEnd) : undefined;
  const noReturn = window ? ('pointOfNoReturn' in window ? window.pointOfNoReturn : window.at) : undefined;
  return {
    bars,
    phases,
    originMs: origin,
    ...(state.endedAt ? {} : { nowMs: now - origin }),
    ...(windowEnd ? { window: { startMs: 0, endMs: at(windowEnd) } } : {}),
    ...(noReturn ? { pointOfNoReturnMs: at(noReturn) } : {}),
  };
}
