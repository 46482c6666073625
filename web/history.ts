/**
 * The runbook history page (`/runbooks/:name`): each recorded run's duration and outcome with its time per phase
 * (a stacked bar, drawn by the page's own SVG, no chart library), back-out durations, the forecast's P50/P90 as it
 * stood after each run, and the steps whose durations vary most. Pure: recorded runs in, HTML out.
 */
import { formatDuration } from '../runbook/duration.js';
import type { Runbook } from '../runbook/schema.js';
import { forecast } from '../timing/forecast.js';
import { backoutDurationMs, runDurationMs, type TimedRun } from '../timing/runs.js';
import { html, SafeHtml } from '../present/html.js';
import { runHref, status, time } from './html-bits.js';
import { compareForm, compareHref } from './compare-page.js';

/** Forecast points drawn at most (each is a simulation). */
const FORECAST_POINTS = 10;
/** Simulated nights per forecast point: enough for a trend, cheap enough for a page. */
const FORECAST_SIMULATIONS = 1_000;

/** How much one step's duration varied over the runs. */
export interface StepSpread {
  stepId: string;
  samples: number;
  minMs: number;
  medianMs: number;
  maxMs: number;
  /** Standard deviation over mean. */
  variation: number;
}

/** What the page shows. */
export interface RunbookHistory {
  name: string;
  phases: string[];
  runs: {
    id: string;
    status: string;
    mode: string;
    startedAt: string | null;
    durationMs: number | null;
    outcome: string | null;
    backoutMs: number | null;
    /** Phase id → from the phase's first start to its last end, ms. */
    phaseMs: Record<string, number>;
  }[];
  /** After each of the last runs (oldest first): the forecast the runs up to it gave. */
  forecasts: { afterRun: string; p50Ms: number; p90Ms: number }[];
  variable: StepSpread[];
}

/** Reads the history of a runbook from its recorded runs (newest first, as the store gives them). */
export function runbookHistory(runbook: Runbook, versionHash: string, runs: readonly TimedRun[]): RunbookHistory {
  const phases = runbook.phases.map((p) => p.id);
  const rows = runs.map((run) => {
    const phaseMs: Record<string, number> = {};
    for (const phase of phases) {
      const steps = run.steps.filter((s) => s.phaseId === phase && s.purpose === 'forward' && s.startedAt && s.endedAt);
      if (steps.length === 0) continue;
      const start = Math.min(...steps.map((s) => Date.parse(s.startedAt!)));
      const end = Math.max(...steps.map((s) => Date.parse(s.endedAt!)));
      phaseMs[phase] = end - start;
    }
    return {
      id: run.id,
      status: run.status,
      mode: run.mode,
      startedAt: run.startedAt,
      durationMs: runDurationMs(run),
      outcome: run.outcome,
      backoutMs: backoutDurationMs(run),
      phaseMs,
    };
  });
  const ended = runs.filter((r) => r.endedAt);
  const forecasts: RunbookHistory['forecasts'] = [];
  const points = Math.min(FORECAST_POINTS, ended.length);
  for (let k = points - 1; k >= 0; k -= 1) {
    const upTo = ended.slice(k);
    try {
      const f = forecast({ runbook, versionHash, runs: upTo, simulations: FORECAST_SIMULATIONS });
      forecasts.push({ afterRun: ended[k]!.id, p50Ms: f.p50Ms, p90Ms: f.p90Ms });
    } catch {
      // A run of another shape (an older version) that the forecast cannot read: no point for it.
    }
  }
  const samples = new Map<string, number[]>();
  for (const run of runs)
    for (const step of run.steps)
      if (step.purpose === 'forward' && step.status === 'succeeded' && step.durationMs !== null)
        samples.set(step.stepId, [...(samples.get(step.stepId) ?? []), step.durationMs]);
  const variable = [...samples.entries()]
    .filter(([, xs]) => xs.length >= 2)
    .map(([stepId, xs]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
      return {
        stepId,
        samples: xs.length,
        minMs: sorted[0]!,
        medianMs: sorted[Math.floor((sorted.length - 1) / 2)]!,
        maxMs: sorted.at(-1)!,
        variation: mean > 0 ? sd / mean : 0,
      };
    })
    .sort((a, b) => b.variation - a.variation)
    .slice(0, 10);
  return { name: runbook.name, phases, runs: rows, forecasts, variable };
}

/** The stacked bars: one row per run, a segment per phase (classes `ph-N` colour them), on one scale. */
function phaseChart(h: RunbookHistory): string {
  const longest = Math.max(1, ...h.runs.map((r) => Object.values(r.phaseMs).reduce((a, b) => a + b, 0)));
  const LABEL = 150;
  const WIDTH = 520;
  const ROW = 20;
  const parts: string[] = [];
  h.runs.forEach((run, i) => {
    const y = 24 + i * ROW;
    parts.push(`<text x="${LABEL - 6}" y="${y + 13}" class="label">${escapeText(run.id)}</text>`);
    let x = LABEL;
    h.phases.forEach((phase, p) => {
      const ms = run.phaseMs[phase];
      if (!ms) return;
      const w = (ms / longest) * WIDTH;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y + 2}" width="${Math.max(0.5, w).toFixed(1)}" height="${ROW - 6}" class="ph-${p % 8}"><title>${escapeText(`${run.id} · ${phase}: ${formatDuration(ms)}`)}</title></rect>`,
      );
      x += w;
    });
  });
  const legend = h.phases
    .map(
      (phase, p) =>
        `<rect x="${LABEL + p * 95}" y="4" width="10" height="10" class="ph-${p % 8}"/><text x="${LABEL + p * 95 + 14}" y="13">${escapeText(phase)}</text>`,
    )
    .join('');
  const height = 30 + h.runs.length * ROW;
  return `<svg class="history" viewBox="0 0 ${LABEL + WIDTH + 10} ${height}" width="${LABEL + WIDTH + 10}" height="${height}" role="img" aria-label="Duration per phase of each run">${legend}${parts.join('')}</svg>`;
}

function escapeText(text: string): string {
  return html`${text}`.value;
}

/** The page. */
export function renderHistoryBody(h: RunbookHistory): SafeHtml {
  const ms = (x: number | null) => (x === null ? '' : formatDuration(x));
  return html`<h1>History of ${h.name}</h1>
<p><a href="/?runbook=${encodeURIComponent(h.name)}">Every run of it</a></p>
<h2 id="runs">Runs</h2>
${
  h.runs.length === 0
    ? html`<p>No runs of it are recorded yet.</p>`
    : html`<div class="scroll" tabindex="0"><table aria-labelledby="runs">
<thead><tr><th scope="col">Run</th><th scope="col">Mode</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Duration</th><th scope="col">Back-out</th><th scope="col">Outcome</th><th scope="col">Compare</th></tr></thead>
<tbody>
${h.runs.map(
  (r, i) =>
    html`<tr><th scope="row"><a href="${runHref(r.id)}">${r.id}</a></th><td>${r.mode}</td><td>${status(r.status)}</td><td>${time(r.startedAt)}</td><td class="num">${ms(r.durationMs)}</td><td class="num">${ms(r.backoutMs)}</td><td>${r.outcome ?? ''}</td><td>${
      h.runs[i + 1] && html`<a href="${compareHref(h.name, h.runs[i + 1]!.id, r.id)}">against ${h.runs[i + 1]!.id}</a>`
    }</td></tr>
`,
)}</tbody></table></div>
<h2 id="compare">Compare two runs</h2>
${compareForm(h.name, h.runs)}
<h2 id="phases">Duration per phase</h2>
<div class="scroll" tabindex="0">${new SafeHtml(phaseChart(h))}</div>`
}
<h2 id="forecasts">Forecast over time</h2>
${
  h.forecasts.length === 0
    ? html`<p>No ended run to forecast from yet.</p>`
    : html`<div class="scroll" tabindex="0"><table aria-labelledby="forecasts">
<thead><tr><th scope="col">After run</th><th scope="col">P50</th><th scope="col">P90</th></tr></thead>
<tbody>${h.forecasts.map((f) => html`<tr><th scope="row">${f.afterRun}</th><td class="num">${formatDuration(f.p50Ms)}</td><td class="num">${formatDuration(f.p90Ms)}</td></tr>`)}</tbody></table></div>`
}
<h2 id="variable">Steps that vary most</h2>
${
  h.variable.length === 0
    ? html`<p>No step has been measured twice yet.</p>`
    : html`<div class="scroll" tabindex="0"><table aria-labelledby="variable">
<thead><tr><th scope="col">Step</th><th scope="col">Runs</th><th scope="col">Shortest</th><th scope="col">Median</th><th scope="col">Longest</th><th scope="col">Variation</th></tr></thead>
<tbody>${h.variable.map(
        (s) =>
          html`<tr><th scope="row"><code>${s.stepId}</code></th><td class="num">${s.samples}</td><td class="num">${formatDuration(s.minMs)}</td><td class="num">${formatDuration(s.medianMs)}</td><td class="num">${formatDuration(s.maxMs)}</td><td class="num">${Math.round(s.variation * 100)}%</td></tr>`,
      )}</tbody></table></div>`
}`;
}
