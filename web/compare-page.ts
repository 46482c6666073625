/**
 * Two runs of a runbook side by side (`/runbooks/:name/compare?a=RUN&b=RUN`), the page's form of `cutover compare`:
 * each step's plan and both runs' times with the difference, the phases the same way, the steps that got slower or
 * faster beyond a threshold, each run's total elapsed (so far, for a run in flight), added and removed steps and the
 * critical path. The facts are timing/compare.ts's; this module only picks the changed steps and draws. Pure.
 */
import type { RunComparison, RunWithRunbook, StepComparison } from '../timing/compare.js';
import { compareRuns } from '../timing/compare.js';
import { showDelta, showMs } from '../present/durations.js';
import { html, type SafeHtml } from '../present/html.js';
import { runHref, status, time } from './html-bits.js';

/** A step is slower or faster when its time moved by more than this share of run A's time, in percent (default). */
export const DEFAULT_THRESHOLD_PCT = 10;
/** The thresholds the form offers. */
export const THRESHOLD_CHOICES = [5, 10, 25, 50, 100] as const;
/**
 * A move under a second never counts, whatever the share: a step of 0.2 s that took 0.5 s moved by 150% and by nothing
 * anyone on the night would notice.
 */
export const THRESHOLD_FLOOR_MS = 1_000;

/** One run's whole time: its duration once it ended, the time since it started while it is in flight. */
export interface Elapsed {
  ms: number | null;
  inFlight: boolean;
}

/** What the comparison page draws. */
export interface ComparePage {
  runbook: string;
  comparison: RunComparison;
  thresholdPct: number;
  elapsed: { a: Elapsed; b: Elapsed; deltaMs: number | null };
  /** Slower in B than in A beyond the threshold, most slowed first. */
  slower: StepComparison[];
  /** Faster in B beyond the threshold, most sped up first. */
  faster: StepComparison[];
}

function elapsedOf(run: RunWithRunbook['run'], now: number): Elapsed {
  if (run.startedAt && run.endedAt) return { ms: Math.max(0, Date.parse(run.endedAt) - Date.parse(run.startedAt)), inFlight: false };
  if (run.startedAt && !run.endedAt) return { ms: Math.max(0, now - Date.parse(run.startedAt)), inFlight: true };
  return { ms: null, inFlight: false };
}

/** Whether a step's move from A to B is beyond the threshold: more than `thresholdPct` of A's time, and a second. */
export function beyondThreshold(step: Pick<StepComparison, 'aMs' | 'deltaMs'>, thresholdPct: number): boolean {
  if (step.aMs === null || step.deltaMs === null) return false;
  const moved = Math.abs(step.deltaMs);
  return moved >= THRESHOLD_FLOOR_MS && moved > (step.aMs * thresholdPct) / 100;
}

/** Compares run A with run B (of the same runbook) for the page, at `now` for a run in flight. */
export function comparePage(runbook: string, a: RunWithRunbook, b: RunWithRunbook, thresholdPct: number, now: number): ComparePage {
  const comparison = compareRuns(a, b, Number.MAX_SAFE_INTEGER);
  const moved = comparison.steps.filter((s) => beyondThreshold(s, thresholdPct));
  const elapsedA = elapsedOf(a.run, now);
  const elapsedB = elapsedOf(b.run, now);
  return {
    runbook,
    comparison,
    thresholdPct,
    elapsed: {
      a: elapsedA,
      b: elapsedB,
      deltaMs: elapsedA.ms === null || elapsedB.ms === null ? null : elapsedB.ms - elapsedA.ms,
    },
    slower: moved.filter((s) => s.deltaMs! > 0).sort((x, y) => y.deltaMs! - x.deltaMs! || x.stepId.localeCompare(y.stepId)),
    faster: moved.filter((s) => s.deltaMs! < 0).sort((x, y) => x.deltaMs! - y.deltaMs! || x.stepId.localeCompare(y.stepId)),
  };
}

/** A run as the form's choices show it. */
export interface RunChoice {
  id: string;
  mode: string;
  status: string;
  startedAt: string | null;
}

/** The address of the comparison of `a` with `b`. */
export function compareHref(runbook: string, a: string, b: string, thresholdPct = DEFAULT_THRESHOLD_PCT): string {
  const threshold = thresholdPct === DEFAULT_THRESHOLD_PCT ? '' : `&threshold=${thresholdPct}`;
  return `/runbooks/${encodeURIComponent(runbook)}/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}${threshold}`;
}

/**
 * The form that picks two runs: two lists and a threshold, sent as a plain GET so it works without JavaScript.
 * Without a choice, A is the run before the newest and B the newest.
 */
export function compareForm(
  runbook: string,
  runs: readonly RunChoice[],
  chosen: { a?: string; b?: string; thresholdPct?: number } = {},
): SafeHtml {
  if (runs.length < 2) return html`<p>Two recorded runs are needed to compare; there ${runs.length === 1 ? 'is one' : 'are none'} yet.</p>`;
  const a = chosen.a ?? runs[1]!.id;
  const b = chosen.b ?? runs[0]!.id;
  const threshold = chosen.thresholdPct ?? DEFAULT_THRESHOLD_PCT;
  const options = (selected: string) =>
    runs.map(
      (r) =>
        html`<option value="${r.id}"${r.id === selected ? html` selected` : ''}>${r.id} · ${r.mode} · ${r.status.replace('_', ' ')}${r.startedAt ? ` · ${r.startedAt.slice(0, 16).replace('T', ' ')}` : ''}</option>`,
    );
  const thresholds = [...new Set([...THRESHOLD_CHOICES, threshold])].sort((x, y) => x - y);
  return html`<form class="compare" method="get" action="/runbooks/${encodeURIComponent(runbook)}/compare">
<p><label for="cmp-a">Run A</label> <select id="cmp-a" name="a">${options(a)}</select></p>
<p><label for="cmp-b">Run B</label> <select id="cmp-b" name="b">${options(b)}</select></p>
<p><label for="cmp-threshold">Slower or faster by more than</label> <select id="cmp-threshold" name="threshold">${thresholds.map(
    (t) => html`<option value="${t}"${t === threshold ? html` selected` : ''}>${t}%</option>`,
  )}</select></p>
<p><button type="submit">Compare</button></p>
</form>`;
}

const deltaCell = (ms: number | null) =>
  html`<td class="num${ms !== null && ms > 0 ? ' later' : ms !== null && ms < 0 ? ' sooner' : ''}">${showDelta(ms)}</td>`;

function runHead(label: string, run: RunComparison['a'], elapsed: Elapsed): SafeHtml {
  return html`<tr><th scope="row">${label}</th><td><a href="${runHref(run.runId)}">${run.runId}</a></td><td>${run.mode}</td><td>${status(run.status)}</td><td>${time(run.startedAt)}</td><td class="num">${showMs(elapsed.ms)}${elapsed.inFlight ? ' so far' : ''}</td><td class="num">${run.backedOut ? showMs(run.backoutMs) : 'no'}</td></tr>`;
}

function movedTable(id: string, caption: string, steps: readonly StepComparison[]): SafeHtml {
  return html`<div class="scroll" tabindex="0"><table id="${id}">
<caption>${caption}</caption>
<thead><tr><th scope="col">Step</th><th scope="col">Phase</th><th scope="col">A</th><th scope="col">B</th><th scope="col">B − A</th></tr></thead>
<tbody>${steps.map(
    (s) =>
      html`<tr><th scope="row"><code>${s.stepId}</code></th><td>${s.phaseId}</td><td class="num">${showMs(s.aMs)}</td><td class="num">${showMs(s.bMs)}</td>${deltaCell(s.deltaMs)}</tr>`,
  )}</tbody></table></div>`;
}

/** The comparison page's body, the form on top to pick again. */
export function renderCompareBody(p: ComparePage, runs: readonly RunChoice[]): SafeHtml {
  const c = p.comparison;
  const moved = new Map<string, 'slower' | 'faster'>([
    ...p.slower.map((s) => [s.stepId, 'slower'] as const),
    ...p.faster.map((s) => [s.stepId, 'faster'] as const),
  ]);
  const total = p.elapsed.deltaMs;
  const soFar = p.elapsed.a.inFlight || p.elapsed.b.inFlight;
  const stepRows = c.steps.map((s, i) => {
    const group = i === 0 || c.steps[i - 1]!.phaseId !== s.phaseId ? html`<tr><th scope="rowgroup" colspan="6">${s.phaseId}</th></tr>` : '';
    const note = s.presence !== 'both' ? `${s.presence} in B` : (moved.get(s.stepId) ?? '');
    return html`${group}<tr${note ? html` class="moved-${note.split(' ')[0]!}"` : ''}><th scope="row"><code>${s.stepId}</code> <span class="muted">${s.title}</span></th><td class="num">${showMs(s.plannedMs)}</td><td class="num">${showMs(s.aMs)}</td><td class="num">${showMs(s.bMs)}</td>${deltaCell(s.deltaMs)}<td>${note}</td></tr>
`;
  });
  const path = (ids: readonly string[]) => (ids.length === 0 ? '—' : ids.join(' → '));
  return html`<h1>${c.a.runId} against ${c.b.runId}</h1>
<p><a href="/runbooks/${encodeURIComponent(p.runbook)}">History of ${p.runbook}</a></p>
${compareForm(p.runbook, runs, { a: c.a.runId, b: c.b.runId, thresholdPct: p.thresholdPct })}
<div class="scroll" tabindex="0"><table id="cmp-runs">
<caption>The two runs</caption>
<thead><tr><th scope="col">Side</th><th scope="col">Run</th><th scope="col">Mode</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Elapsed</th><th scope="col">Back-out</th></tr></thead>
<tbody>${runHead('A', c.a, p.elapsed.a)}${runHead('B', c.b, p.elapsed.b)}</tbody></table></div>
<p id="cmp-total">${
    total === null
      ? 'The total cannot be compared: a run has not started.'
      : html`B ${soFar ? 'has taken' : 'took'} <strong>${showDelta(total)}</strong> against A (${showMs(p.elapsed.b.ms)} against ${showMs(p.elapsed.a.ms)}${soFar ? ', a run still in flight counted until now' : ''}).`
  }${c.sameVersion ? '' : ' The runbook changed between them.'}</p>
<h2 id="cmp-moved">Slower or faster by more than ${p.thresholdPct}%</h2>
${
  p.slower.length + p.faster.length === 0
    ? html`<p>No step moved by more than ${p.thresholdPct}% of its time in A (and a second).</p>`
    : html`${p.slower.length > 0 && movedTable('cmp-slower', `Slower in B (${p.slower.length})`, p.slower)}${p.faster.length > 0 && movedTable('cmp-faster', `Faster in B (${p.faster.length})`, p.faster)}`
}
<h2 id="cmp-phases-h">Per phase</h2>
<div class="scroll" tabindex="0"><table id="cmp-phases" aria-labelledby="cmp-phases-h">
<thead><tr><th scope="col">Phase</th><th scope="col">Planned</th><th scope="col">A</th><th scope="col">B</th><th scope="col">B − A</th><th scope="col">Note</th></tr></thead>
<tbody>${c.phases.map(
    (ph) =>
      html`<tr><th scope="row">${ph.phaseId}</th><td class="num">${showMs(ph.plannedMs)}</td><td class="num">${showMs(ph.aMs)}</td><td class="num">${showMs(ph.bMs)}</td>${deltaCell(ph.deltaMs)}<td>${ph.presence === 'both' ? '' : `${ph.presence} in B`}</td></tr>`,
  )}</tbody></table></div>
<h2 id="cmp-steps-h">Per step</h2>
<div class="scroll" tabindex="0"><table id="cmp-steps" aria-labelledby="cmp-steps-h">
<thead><tr><th scope="col">Step</th><th scope="col">Planned</th><th scope="col">A</th><th scope="col">B</th><th scope="col">B − A</th><th scope="col">Note</th></tr></thead>
<tbody>
${stepRows}</tbody></table></div>
<h2 id="cmp-path">Critical path</h2>
<p>A: ${path(c.criticalPath.a)}</p>
<p>B: ${path(c.criticalPath.b)}</p>
${c.criticalPath.joined.length + c.criticalPath.left.length === 0 ? html`<p>Unchanged.</p>` : ''}${c.criticalPath.joined.length > 0 && html`<p>Joined it in B: ${c.criticalPath.joined.join(', ')}</p>`}${c.criticalPath.left.length > 0 && html`<p>Left it in B: ${c.criticalPath.left.join(', ')}</p>`}
${c.added.length > 0 && html`<p>Added in B: ${c.added.join(', ')}</p>`}${c.removed.length > 0 && html`<p>Removed in B: ${c.removed.join(', ')}</p>`}`;
}
