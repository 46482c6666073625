/**
 * The one-page plan leaders ask for (`cutover plan RUNBOOK`): the phases (or the streams, when steps name one) as
 * lanes on a time axis from the window's start, every step a bar where the plan puts it, milestones and the go/no-go
 * as diamonds (retirement milestones marked), fixed starts, interface freezes, the change window, the window's end
 * and the point of no return, the dependencies that cross lanes; then the phases with their owners and the people in
 * each role. HTML that prints on one A3 landscape page whatever the number of steps (the chart scales to the page),
 * and the same facts as Markdown tables. Pure.
 */
import { durationMs, formatDuration } from '../runbook/duration.js';
import { plannedSchedule } from '../runbook/graph.js';
import { startRules } from '../runbook/fixed-starts.js';
import type { Phase, Runbook, Step } from '../runbook/schema.js';
import { plannedBackoutMs } from '../run/transitions.js';
import { escapeHtml as esc } from './html.js';

/** One step on the page. */
export interface PlanItem {
  step: Step;
  phase: Phase;
  lane: number;
  /** Row inside its lane: overlapping bars stack. */
  row: number;
  startMs: number;
  durationMs: number;
  mark: 'bar' | 'milestone' | 'retirement' | 'gate';
}

/** Everything the page shows, as offsets from the window's start. */
export interface PlanModel {
  runbook: Runbook;
  lanes: { name: string; rows: number }[];
  laneBy: 'stream' | 'phase';
  items: PlanItem[];
  /** Written dependencies (`depends_on`) between steps of different lanes: from the end of one to the start of the other. */
  crossings: { from: PlanItem; to: PlanItem }[];
  plannedMs: number;
  axisMs: number;
  windowMs?: number;
  pointOfNoReturnMs?: number;
  backoutMs: number;
  changeWindow?: { startMs: number; endMs: number };
  freezes: { startMs: number; endMs: number; reason?: string }[];
  phases: { phase: Phase; startMs: number; endMs: number; owners: string[] }[];
}

/** Lays the runbook out on its plan. */
export function planModel(runbook: Runbook): PlanModel {
  const schedule = plannedSchedule(runbook);
  const laneBy = runbook.phases.some((p) => p.steps.some((s) => s.stream !== undefined)) ? 'stream' : 'phase';
  const laneNames: string[] = [];
  const laneOf = (name: string) => (laneNames.includes(name) ? laneNames.indexOf(name) : laneNames.push(name) - 1);
  const rowEnds: number[][] = [];
  const items: PlanItem[] = [];
  const byId = new Map<string, PlanItem>();
  for (const phase of runbook.phases) {
    for (const step of phase.steps) {
      const planned = schedule.steps[step.id] ?? { startMs: 0, durationMs: 0 };
      const lane = laneOf(laneBy === 'stream' ? (step.stream ?? '(no stream)') : (phase.title ?? phase.id));
      const ends = (rowEnds[lane] ??= []);
      // The first row whose last bar has ended: bars in a lane never overlap.
      let row = ends.findIndex((end) => end <= planned.startMs);
      if (row < 0) row = ends.push(0) - 1;
      ends[row] = planned.startMs + Math.max(planned.durationMs, 1);
      const mark = step.gate ? 'gate' : step.milestone === 'retirement' ? 'retirement' : step.milestone ? 'milestone' : 'bar';
      const item: PlanItem = { step, phase, lane, row, startMs: planned.startMs, durationMs: planned.durationMs, mark };
      items.push(item);
      if (!byId.has(step.id)) byId.set(step.id, item);
    }
  }
  const crossings = items.flatMap((to) =>
    (to.step.depends_on ?? [])
      .map((id) => byId.get(id)!)
      .filter((from) => from && from.lane !== to.lane)
      .map((from) => ({ from, to })),
  );
  const windowMs = runbook.window ? durationMs(runbook.window.length) : undefined;
  const backoutMs = plannedBackoutMs(runbook);
  const windowStart = runbook.window?.start === undefined ? undefined : Date.parse(runbook.window.start);
  const changeWindow =
    runbook.change_window && windowStart !== undefined
      ? { startMs: Date.parse(runbook.change_window.start) - windowStart, endMs: Date.parse(runbook.change_window.end) - windowStart }
      : undefined;
  const freezes = [...startRules(runbook).freezes];
  const axisMs = Math.max(schedule.criticalPathMs, windowMs ?? 0, changeWindow?.endMs ?? 0, ...freezes.map((f) => f.endMs), 60_000);
  const phases = runbook.phases.map((phase) => {
    const own = items.filter((i) => i.phase === phase);
    return {
      phase,
      startMs: Math.min(...own.map((i) => i.startMs), Infinity),
      endMs: Math.max(...own.map((i) => i.startMs + i.durationMs), 0),
      owners: [...new Set(phase.steps.map((s) => s.owner))],
    };
  });
  return {
    runbook,
    lanes: laneNames.map((name, i) => ({ name, rows: rowEnds[i]!.length })),
    laneBy,
    items,
    crossings,
    plannedMs: schedule.criticalPathMs,
    axisMs,
    ...(windowMs !== undefined ? { windowMs, pointOfNoReturnMs: windowMs - backoutMs } : {}),
    backoutMs,
    ...(changeWindow ? { changeWindow } : {}),
    freezes,
    phases,
  };
}

/** An offset as the clock time on the night (UTC), or `+1h30m` without a window start. */
export function planClock(runbook: Runbook, offsetMs: number): string {
  if (runbook.window?.start === undefined) return `+${formatDuration(Math.max(0, offsetMs))}`;
  return new Date(Date.parse(runbook.window.start) + offsetMs).toISOString().slice(0, 16).replace('T', ' ') + 'Z';
}

const WIDTH = 1560;
const LABEL = 170;
const ROW = 14;
const TOP = 48;

/** The chart: lanes, bars, diamonds, windows, freezes, the point of no return and the crossings. */
export function planSvg(model: PlanModel): string {
  const { runbook } = model;
  const x = (ms: number) => LABEL + ((WIDTH - LABEL - 10) * ms) / model.axisMs;
  const laneTop: number[] = [];
  let y = TOP;
  for (const lane of model.lanes) {
    laneTop.push(y);
    y += lane.rows * ROW + 6;
  }
  const height = y + 12;
  const yOf = (item: PlanItem) => laneTop[item.lane]! + item.row * ROW + 3;
  const parts: string[] = [];
  const band = (from: number, to: number, cls: string, title: string) =>
    `<rect class="${cls}" x="${x(from)}" y="${TOP - 6}" width="${Math.max(1, x(to) - x(from))}" height="${height - TOP}"><title>${esc(title)}</title></rect>`;
  if (model.changeWindow)
    parts.push(
      band(
        model.changeWindow.startMs,
        model.changeWindow.endMs,
        'change',
        `change window ${planClock(runbook, model.changeWindow.startMs)} to ${planClock(runbook, model.changeWindow.endMs)}`,
      ),
    );
  for (const f of model.freezes)
    parts.push(
      band(
        f.startMs,
        f.endMs,
        'freeze',
        `interface freeze ${planClock(runbook, f.startMs)} to ${planClock(runbook, f.endMs)}${f.reason ? `: ${f.reason}` : ''}`,
      ),
    );
  // The time axis: a tick per hour (or per 15 minutes on a short night), labelled with the clock.
  const step = model.axisMs > 12 * 3.6e6 ? 2 * 3.6e6 : model.axisMs > 3 * 3.6e6 ? 3.6e6 : 9e5;
  for (let t = 0; t <= model.axisMs; t += step)
    parts.push(
      `<line class="tick" x1="${x(t)}" y1="${TOP - 8}" x2="${x(t)}" y2="${height}"/><text class="axis" x="${x(t)}" y="${TOP - 12}">${esc(planClock(runbook, t).slice(-6))}</text>`,
    );
  model.lanes.forEach((lane, i) => {
    parts.push(`<rect class="lane${i % 2}" x="0" y="${laneTop[i]}" width="${WIDTH}" height="${lane.rows * ROW + 4}"/>`);
    parts.push(`<text class="lane-name" x="4" y="${laneTop[i]! + 11}">${esc(lane.name)}</text>`);
  });
  for (const { from, to } of model.crossings)
    parts.push(
      `<line class="dep" x1="${x(from.startMs + from.durationMs)}" y1="${yOf(from) + 4}" x2="${x(to.startMs)}" y2="${yOf(to) + 4}"/>`,
    );
  for (const item of model.items) {
    const title = `${item.step.id}: ${item.step.title} (${item.step.owner}; ${planClock(runbook, item.startMs)}, ${formatDuration(item.durationMs)})`;
    const cx = x(item.startMs);
    const cy = yOf(item) + 4;
    if (item.mark === 'bar') {
      const w = Math.max(2, x(item.startMs + item.durationMs) - cx);
      parts.push(`<rect class="bar" x="${cx}" y="${cy - 4}" width="${w}" height="9"><title>${esc(title)}</title></rect>`);
      if (w > item.step.title.length * 4 + 6)
        parts.push(`<text class="bar-label" x="${cx + 2}" y="${cy + 3}">${esc(item.step.title)}</text>`);
    } else {
      parts.push(`<path class="${item.mark}" d="M${cx} ${cy - 6}l6 6l-6 6l-6-6z"><title>${esc(title)}</title></path>`);
      const label =
        item.mark === 'gate'
          ? `GO/NO-GO: ${item.step.title}`
          : item.mark === 'retirement'
            ? `retired: ${item.step.title}`
            : item.step.title;
      parts.push(`<text class="mark-label" x="${cx + 8}" y="${cy + 3}">${esc(label)}</text>`);
    }
    if (item.step.not_before !== undefined)
      parts.push(
        `<path class="fixed" d="M${cx} ${cy - 7}l-3 -4h6z"><title>${esc(`fixed start: ${item.step.id} not before ${planClock(runbook, item.startMs)}`)}</title></path>`,
      );
  }
  // The point of no return is labelled above the axis and the window's end below the lanes, so the two never overlap.
  const marker = (ms: number, cls: string, label: string, labelY: number) =>
    `<line class="${cls}" x1="${x(ms)}" y1="${TOP - 6}" x2="${x(ms)}" y2="${height}"/><text class="${cls}-label" x="${x(ms) - 3}" y="${labelY}">${esc(label)}</text>`;
  if (model.pointOfNoReturnMs !== undefined && model.pointOfNoReturnMs > 0)
    parts.push(marker(model.pointOfNoReturnMs, 'ponr', `point of no return ${planClock(runbook, model.pointOfNoReturnMs)}`, TOP - 26));
  if (model.windowMs !== undefined)
    parts.push(marker(model.windowMs, 'window-end', `window ends ${planClock(runbook, model.windowMs)}`, height - 2));
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${esc(`plan of ${runbook.name}`)}">${parts.join('')}</svg>`;
}

const STYLE = `@page { size: A3 landscape; margin: 10mm; }
* { box-sizing: border-box; }
body { font: 9pt system-ui, sans-serif; margin: 0; color: #1b1f24; }
h1 { font-size: 15pt; margin: 0 0 2mm; }
.facts { margin: 0 0 3mm; }
.facts span { margin-right: 6mm; }
.after { margin-top: 3mm; }
.chart svg { width: 100%; height: auto; max-height: 185mm; display: block; }
.chart svg text { font-size: 9px; }
.lane0 { fill: #f4f6f8; } .lane1 { fill: #ffffff; }
.lane-name { font-weight: 600; }
.bar { fill: #3b6ea8; stroke: #fff; stroke-width: 0.8; } .bar-label { fill: #fff; font-size: 7px !important; }
.milestone { fill: #1b1f24; } .retirement { fill: #8a4f00; } .gate { fill: #b3261e; }
.mark-label { font-size: 8px !important; }
.fixed { fill: #6b3fa0; }
.dep { stroke: #8c959f; stroke-width: 0.6; }
.tick { stroke: #d0d7de; stroke-width: 0.5; } .axis { fill: #57606a; }
.change { fill: #e6f4ea; } .freeze { fill: #fde2e1; }
.ponr { stroke: #b3261e; stroke-dasharray: 4 3; } .ponr-label { fill: #b3261e; text-anchor: end; }
.window-end { stroke: #1b1f24; } .window-end-label { text-anchor: end; }
table { border-collapse: collapse; margin-top: 3mm; width: 100%; font-size: 8pt; }
th, td { border-bottom: 1px solid #d0d7de; padding: 1mm 2mm; text-align: left; vertical-align: top; }
.keys span { margin-right: 5mm; }`;

/**
 * What the plan says of the time after go-live: how hypercare ends (its exit gate's approvers and machine criteria), and
 * the legacy retirement milestones with their dates and owners, earliest first. Empty without `hypercare:`.
 */
export function afterGoLive(runbook: Runbook): { exit?: string; retirement: { date: string; title: string; id: string; owner: string }[] } {
  const hc = runbook.hypercare;
  if (!hc) return { retirement: [] };
  const exit = hc.exit;
  const criteria = exit && [
    ...(exit.no_open.length > 0 ? [`no open ${exit.no_open.map((s) => `sev${s}`).join('/')}`] : []),
    `MTTR within target over ${exit.mttr_days} days`,
    ...(hc.kpis.length > 0 ? [`${hc.kpis.length === 1 ? 'its KPI' : `all ${hc.kpis.length} KPIs`} fresh`] : []),
    ...(exit.earliest ? [`no earlier than ${exit.earliest} after go-live`] : []),
  ];
  return {
    ...(exit && criteria
      ? { exit: `hypercare until ${exit.approvers.join(exit.rule === 'any' ? ' or ' : ' and ')} approve its exit: ${criteria.join(', ')}` }
      : {}),
    retirement: [...hc.retirement].sort((a, b) => a.date.localeCompare(b.date)),
  };
}

/** The page as HTML, printable on one A3 landscape page. */
export function planHtml(runbook: Runbook): string {
  const model = planModel(runbook);
  const clock = (ms: number) => planClock(runbook, ms);
  const facts = [
    runbook.window ? `window ${clock(0)}, ${runbook.window.length}` : 'no window: times from the start',
    `planned ${formatDuration(model.plannedMs)}`,
    ...(model.pointOfNoReturnMs !== undefined
      ? [`point of no return ${clock(model.pointOfNoReturnMs)} (back-out ${formatDuration(model.backoutMs)})`]
      : []),
    ...(model.changeWindow ? [`change window ${clock(model.changeWindow.startMs)} to ${clock(model.changeWindow.endMs)}`] : []),
    ...model.freezes.map((f) => `interface freeze ${clock(f.startMs)} to ${clock(f.endMs)}${f.reason ? ` (${f.reason})` : ''}`),
    `lead ${runbook.lead}`,
  ];
  const rows = model.phases
    .map(
      ({ phase, startMs, endMs, owners }) =>
        `<tr><td>${esc(phase.title ?? phase.id)}</td><td>${esc(phase.kind)}</td><td>${phase.steps.length}</td><td>${startMs === Infinity ? '' : `${esc(clock(startMs))} to ${esc(clock(endMs))}`}</td><td>${owners.map((o) => `${esc(o)} (${esc((runbook.roles[o] ?? []).join(', '))})`).join('; ')}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(`${runbook.name} v${runbook.version}: the plan`)}</title><style>${STYLE}</style></head>
<body>
<h1>${esc(runbook.name)} v${esc(runbook.version)}${runbook.description ? ` · ${esc(runbook.description)}` : ''}</h1>
<p class="facts">${facts.map((f) => `<span>${esc(f)}</span>`).join('')}</p>
<div class="chart">${planSvg(model)}</div>
<p class="keys"><span>lanes: ${model.laneBy === 'stream' ? 'streams' : 'phases'}</span><span>◆ red: go/no-go</span><span>◆ brown: legacy retirement</span><span>◆ black: milestone</span><span>▼ fixed start</span><span>green: change window</span><span>pink: interface freeze</span><span>grey lines: dependencies between lanes</span></p>
<table><thead><tr><th>phase</th><th>kind</th><th>steps</th><th>planned</th><th>owners (people)</th></tr></thead><tbody>${rows}</tbody></table>
${afterHtml(runbook)}</body></html>
`;
}

/** After go-live as one line of facts: the hypercare exit, then each retirement milestone. */
function afterHtml(runbook: Runbook): string {
  const after = afterGoLive(runbook);
  if (!after.exit && after.retirement.length === 0) return '';
  const facts = [
    ...(after.exit ? [after.exit] : []),
    ...after.retirement.map((m) => `${m.date} legacy retirement: ${m.title} (${m.owner})`),
  ];
  return `<p class="facts after"><strong>After go-live</strong> ${facts.map((f) => `<span>${esc(f)}</span>`).join('')}</p>\n`;
}

/** The same facts as Markdown: the window, the phases, the milestones and gates, the dependencies between lanes. */
export function planMarkdown(runbook: Runbook): string {
  const model = planModel(runbook);
  const clock = (ms: number) => planClock(runbook, ms);
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [`# ${cell(runbook.name)} v${cell(runbook.version)}: the plan`, ''];
  if (runbook.window) lines.push(`- window: ${clock(0)}, ${runbook.window.length} (ends ${clock(model.windowMs!)})`);
  lines.push(`- planned: ${formatDuration(model.plannedMs)}`);
  if (model.pointOfNoReturnMs !== undefined)
    lines.push(`- point of no return: ${clock(model.pointOfNoReturnMs)} (the planned back-out takes ${formatDuration(model.backoutMs)})`);
  if (model.changeWindow) lines.push(`- change window: ${clock(model.changeWindow.startMs)} to ${clock(model.changeWindow.endMs)}`);
  for (const f of model.freezes)
    lines.push(`- interface freeze: ${clock(f.startMs)} to ${clock(f.endMs)}${f.reason ? ` (${cell(f.reason)})` : ''}`);
  lines.push('', '| phase | kind | steps | planned | owners (people) |', '| --- | --- | --- | --- | --- |');
  for (const { phase, startMs, endMs, owners } of model.phases)
    lines.push(
      `| ${cell(phase.title ?? phase.id)} | ${phase.kind} | ${phase.steps.length} | ${startMs === Infinity ? '' : `${clock(startMs)} to ${clock(endMs)}`} | ${owners.map((o) => `${o} (${(runbook.roles[o] ?? []).join(', ')})`).join('; ')} |`,
    );
  const marks = model.items.filter((i) => i.mark !== 'bar' || i.step.not_before !== undefined);
  if (marks.length > 0) {
    lines.push('', '| when | milestone, gate or fixed start | owner |', '| --- | --- | --- |');
    for (const i of marks) {
      const what =
        i.mark === 'gate'
          ? 'go/no-go'
          : i.mark === 'retirement'
            ? 'legacy retirement'
            : i.mark === 'milestone'
              ? 'milestone'
              : 'fixed start';
      lines.push(`| ${clock(i.startMs)} | ${what}: ${cell(i.step.title)} (\`${i.step.id}\`) | ${i.step.owner} |`);
    }
  }
  const after = afterGoLive(runbook);
  if (after.exit) lines.push('', `After go-live: ${cell(after.exit)}.`);
  if (after.retirement.length > 0) {
    lines.push('', '| date | legacy retirement | owner |', '| --- | --- | --- |');
    for (const m of after.retirement) lines.push(`| ${m.date} | ${cell(m.title)} (\`${m.id}\`) | ${m.owner} |`);
  }
  if (model.crossings.length > 0) {
    lines.push('', `| dependency between ${model.laneBy === 'stream' ? 'streams' : 'phases'} | |`, '| --- | --- |');
    for (const { from, to } of model.crossings)
      lines.push(
        `| \`${from.step.id}\` (${cell(model.lanes[from.lane]!.name)}) | before \`${to.step.id}\` (${cell(model.lanes[to.lane]!.name)}) |`,
      );
  }
  return lines.join('\n') + '\n';
}
