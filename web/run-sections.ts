/**
 * The parts of a run's page that change while it runs, each rendered on its own so the live page sends only the parts
 * that changed (web/run-channel.ts): the head (status, clock against plan and window, outcome), what waits for
 * people (pinned on top: who may act, deadlines), the live re-forecast, hypercare (incidents, MTTR, KPIs), the timeline, the steps by phase with owners,
 * planned and actual, checks and reconciliations, the decisions and the back-out. The first paint is the same HTML,
 * so the page reads the same without JavaScript. Pure; every value goes through the `html` tag.
 */
import { refusalOf, refusalWhy } from '../present/refusal-view.js';
import { describeSummary } from '../reconcile/format.js';
import { formatDuration } from '../runbook/duration.js';
import {
  actualMs,
  backoutProgress,
  BACKOUT_TRIGGER_WORDS,
  DECISION_VERB,
  phaseKindWord,
  plannedRunMs,
  plannedText,
  RESOLUTION_WORDS,
  runHeader,
  waitingItems,
  type RunContext,
} from '../present/run-view.js';
import { dutyNow } from '../present/duty-view.js';
import { forecastWords } from '../present/live-forecast.js';
import { timelineFromState, timelineSvg } from '../present/timeline-svg.js';
import type { LiveForecast } from '../timing/live-forecast.js';
import type { Decision, RunState, StepState } from '../run/state.js';
import { unmetRequirements } from '../run/transitions.js';
import { html, SafeHtml } from '../present/html.js';
import { between, runHref, status, time } from './html-bits.js';
import { hypercareSection } from './hypercare-section.js';

/** The parts of the run page that change, in page order; each is the content of `<section id="sec-ID">`. */
export const SECTION_IDS = ['head', 'waiting', 'forecast', 'hypercare', 'timeline', 'steps', 'decisions', 'backout'] as const;
export type SectionId = (typeof SECTION_IDS)[number];

/** What the parts are drawn from. */
export interface SectionInput {
  state: RunState;
  /** The clock (ms since the epoch): running steps grow to it. */
  now: number;
  /** The live re-forecast, while the run is in flight and its runbook has a model. */
  forecast?: LiveForecast;
  /** What the runbook adds: roles and their people, the lead, phase titles. */
  context?: RunContext;
  /** The timeline zoomed to this phase. */
  phase?: string;
}

/** Every changing part of the run page, as HTML strings keyed by section id. */
export function runSections(input: SectionInput): Record<SectionId, string> {
  const { state, now } = input;
  return {
    head: headSection(state, now, input.context).value,
    waiting: waitingSection(state, input.context, now).value,
    forecast: forecastSection(input.forecast, now).value,
    hypercare: hypercareSection(state, now, input.context?.driftRounds).value,
    timeline: timelineSection(input).value,
    steps: stepsTable(state, input.context).value,
    decisions: decisionLog(state.decisions).value,
    backout: (backoutSection(state) || html``).value,
  };
}

function headSection(state: RunState, now: number, context: RunContext = {}): SafeHtml {
  const head = runHeader(state, plannedRunMs(Object.values(state.steps)), now, context);
  return html`<h1>${state.runId} ${status(state.status)}</h1>
<p class="clock">${head.mode} · ${state.endedAt ? 'took' : 'running for'} ${head.elapsed} against ${head.planned} planned${head.overPlan && html` · <strong>${head.overPlan} over plan</strong>`}${head.window && html` · window ends ${time(head.window.end)} (${head.window.leftMs >= 0 ? `${head.window.left} left` : `${head.window.left.slice(1)} past it`})`}</p>
${state.outcome && html`<p class="outcome"><strong>Outcome:</strong> ${state.outcome}</p>`}`;
}

function waitingSection(state: RunState, context: RunContext = {}, now = Date.now()): SafeHtml {
  if (state.endedAt) return html``;
  const duty = dutyNow(context.rota, state, now);
  const onDuty = duty.length > 0 ? html`<p class="on-duty">On duty: ${duty.join(' · ')}</p>` : html``;
  const items = waitingItems(
    state.order.flatMap((id) => (state.steps[id] ? [state.steps[id]] : [])),
    context,
  );
  if (items.length === 0)
    return html`<h2 id="waiting">Waiting for people</h2>
${onDuty}<p class="muted">Nobody is being waited for.</p>`;
  return html`<h2 id="waiting">Waiting for people</h2>
${onDuty}<ul class="waiting">
${items.map(
  (item) =>
    html`<li><strong>${item.what}</strong><br>who may act: ${item.who}${item.onIt && html` · <strong class="on-it">${item.onIt}</strong>`}${item.since && html` · since ${time(item.since)}`}${item.closes && html` · <span class="deadline">closes ${time(item.closes.at)} as ${item.closes.then}</span>`}</li>
`,
)}</ul>`;
}

function forecastSection(forecast: LiveForecast | undefined, now: number): SafeHtml {
  if (!forecast) return html``;
  const words = forecastWords(forecast, now);
  return html`<h2 id="forecast">Forecast</h2>
<ul class="forecast tone-${words.tone}">
${[words.finish, words.window, words.backout, words.noReturn].filter(Boolean).map((line) => html`<li>${line}</li>`)}
</ul>`;
}

function timelineSection(input: SectionInput): SafeHtml {
  const { state } = input;
  const href = runHref(state.runId);
  const model = timelineFromState(state, input.now, input.context?.texts ? { phaseTitles: input.context.texts.phases } : {});
  const svg = timelineSvg(model, {
    ...(input.phase ? { phase: input.phase } : {}),
    phaseHref: (phase) => `${href}?phase=${encodeURIComponent(phase)}#timeline`,
  });
  return html`<h2 id="timeline">Timeline</h2>
${input.phase && html`<p>Phase <code>${input.phase}</code> only · <a href="${href}#timeline">whole run</a></p>`}
<div class="scroll" tabindex="0">${new SafeHtml(svg)}</div>`;
}

function stepsTable(state: RunState, context: RunContext = {}): SafeHtml {
  // Group by phase in runbook order; `order` lists phases' steps contiguously.
  const phases: Array<{ id: string; kind: string; steps: StepState[] }> = [];
  for (const id of state.order) {
    const step = state.steps[id];
    if (!step) continue;
    const last = phases[phases.length - 1];
    if (last && last.id === step.phaseId) last.steps.push(step);
    else phases.push({ id: step.phaseId, kind: step.phaseKind, steps: [step] });
  }
  return html`<h2 id="steps">Steps</h2>
<div class="scroll" tabindex="0"><table aria-labelledby="steps">
<thead><tr><th scope="col">Step</th><th scope="col">Title</th><th scope="col">Owner</th><th scope="col">Status</th><th scope="col">Planned</th><th scope="col">Actual</th><th scope="col">Note</th></tr></thead>
${phases.map(
  (phase) => html`<tbody>
<tr><th scope="rowgroup" colspan="7">${phase.id} <span class="muted">(${phaseKindWord(phase.kind)})</span>${context.texts?.phases[phase.id] && html` ${context.texts.phases[phase.id]}`}</th></tr>
${phase.steps.map(
  (
    step,
  ) => html`<tr><th scope="row"><code>${step.id}</code></th><td>${step.title}</td><td>${step.owner}</td><td>${status(step.status)}</td><td class="num">${plannedText(step)}</td><td class="num">${actual(step, state)}</td><td>${stepNote(step, state.runId)}</td></tr>
`,
)}</tbody>
`,
)}</table></div>`;
}

function actual(step: StepState, state: RunState): string {
  if (step.startedAt && step.endedAt) return formatDuration(actualMs(step, 0)!);
  // "in progress" rather than "running": a gate or manual step that started is waiting for people. A started
  // step of an ended run never finished, and saying it is in progress would be a lie.
  if (step.startedAt) return state.endedAt ? 'unfinished' : 'in progress';
  return '';
}

/** Why a step is where it is, in a few words: gate votes, who it waits for, the error, what a comparison found. */
function stepNote(step: StepState, runId: string): SafeHtml {
  const parts: SafeHtml[] = [];
  const gate = step.gate;
  if (gate) {
    if (gate.question) parts.push(html`<q>${gate.question}</q>`);
    for (const vote of gate.votes) {
      parts.push(
        html`${vote.by} (${vote.role}) ${vote.decision === 'approve' ? 'approved' : 'rejected'}${vote.reason && html`: “${vote.reason}”`}${vote.automatic && ' [automatic]'}`,
      );
    }
    if (gate.status === 'open' || step.status === 'waiting') {
      parts.push(
        html`waiting for ${gate.awaiting.length > 0 ? gate.awaiting.join(', ') : 'a vote'}${gate.rule === 'any' ? ' (any one)' : ''}${unmetRequirements(gate).map((r) => `, and ${r}`)}`,
      );
    }
  }
  if (step.resolution) {
    parts.push(
      html`${RESOLUTION_WORDS[step.resolution.kind]}${step.resolution.scope === 'backout' ? ' (back-out)' : ''}: ${step.resolution.error} — waiting for the lead to resolve`,
    );
  } else if (step.error) {
    parts.push(html`${step.error}`);
  }
  if (step.status === 'waiting' && step.waitingFor === 'manual') parts.push(html`waiting for ${step.owner} to mark it done`);
  for (const check of step.checks.filter((c) => !c.passed)) {
    parts.push(html`check “${check.name}” failed: ${check.detail}`);
  }
  if (step.attempts > 1) parts.push(html`${step.attempts} attempts`);
  if (step.completedBy) parts.push(html`done by ${step.completedBy}`);
  parts.push(...reconciliations(step, runId));
  return html`${parts.map((part, i) => html`${i > 0 && html`<br>`}${part}`)}`;
}

/** What a step's reconcile action and checks found, and links to the differing rows (CSV for a spreadsheet, JSON). */
function reconciliations(step: StepState, runId: string): SafeHtml[] {
  const found = [
    ...(step.reconcile ? [{ what: 'compared', summary: step.reconcile }] : []),
    ...step.checks.flatMap((c) => (c.reconcile ? [{ what: html`check “${c.name}” compared`, summary: c.reconcile }] : [])),
  ];
  if (found.length === 0) return [];
  const base = `/runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(step.id)}/reconcile`;
  return [
    ...found.map(({ what, summary }) => html`${what}: ${describeSummary(summary)}`),
    html`differing rows: <a href="${base}.csv">CSV</a> · <a href="${base}.json">JSON</a>`,
  ];
}

function decisionLog(decisions: readonly Decision[]): SafeHtml {
  if (decisions.length === 0)
    return html`<h2 id="decisions">Decisions</h2>
<p>No decisions recorded yet.</p>`;
  return html`<h2 id="decisions">Decisions</h2>
<div class="scroll" tabindex="0"><table aria-labelledby="decisions">
<thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Role</th><th scope="col">What</th><th scope="col">Reason</th><th scope="col">Automatic</th></tr></thead>
<tbody>
${decisions.map((d) => {
  // A refused request's entry holds the kind of request where a role would be: say what was asked instead.
  const refusal = refusalOf(d);
  return html`<tr><td>${time(d.at)}</td><th scope="row">${d.by}</th><td>${refusal ? '' : d.role}</td><td>${refusal ? `refused ${refusal.request}` : (DECISION_VERB[d.kind] ?? d.kind)}${d.target && html` <code>${d.target}</code>`}</td><td>${refusal ? refusalWhy(refusal) : (d.reason ?? '')}</td><td>${d.automatic ? 'yes' : 'no'}</td></tr>
`;
})}</tbody>
</table></div>`;
}

function backoutSection(state: RunState): SafeHtml | false {
  const backout = state.backout;
  if (backout.status === 'not_requested') return false;
  const progress = backoutProgress(state, Object.values(state.steps));
  // Back-out undoes completed steps in reverse order; list them the way they are undone.
  const undone = [...state.order].reverse().flatMap((id) => {
    const step = state.steps[id];
    return step?.backout ? [{ step, backout: step.backout }] : [];
  });
  return html`<h2 id="backout">Back-out</h2>
<dl class="summary">
<dt>Status</dt><dd>${status(backout.status)}</dd>
${backout.trigger && html`<dt>Why</dt><dd>${BACKOUT_TRIGGER_WORDS[backout.trigger]}${backout.reason && html`: ${backout.reason}`}</dd>`}
${backout.requestedBy && html`<dt>Requested by</dt><dd>${backout.requestedBy}${backout.requestedAt && html` at ${time(backout.requestedAt)}`}</dd>`}
${backout.startedAt && html`<dt>Started</dt><dd>${time(backout.startedAt)}</dd>`}
${backout.endedAt && html`<dt>Ended</dt><dd>${time(backout.endedAt)} <span class="muted">(took ${between(backout.startedAt, backout.endedAt)})</span></dd>`}
${progress && progress.toUndo > 0 && html`<dt>Progress</dt><dd>${progress.undone} of ${progress.toUndo} steps undone${progress.running.length > 0 && html`; undoing ${progress.running.join(', ')}`}${progress.waiting.length > 0 && html`; waiting on ${progress.waiting.join(', ')}`}</dd>`}
</dl>
${
  undone.length > 0 &&
  html`<div class="scroll" tabindex="0"><table aria-labelledby="backout">
<thead><tr><th scope="col">Step</th><th scope="col">Back-out status</th><th scope="col">Attempts</th><th scope="col">Took</th><th scope="col">Error</th></tr></thead>
<tbody>
${undone.map(
  ({
    step,
    backout: b,
  }) => html`<tr><th scope="row"><code>${step.id}</code></th><td>${status(b.status)}</td><td class="num">${b.attempts}</td><td class="num">${between(b.startedAt, b.endedAt)}</td><td>${b.error ?? ''}</td></tr>
`,
)}</tbody>
</table></div>`
}`;
}
