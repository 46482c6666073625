/**
 * The status page's HTML, rendered on the server: the list of runs and the page of one run.
 *
 * Pure functions from plain data to a string: no Express, no store, no Temporal, so a page can be checked
 * without a server. Every interpolated value goes through the `html` tag, which escapes it unless it is
 * already markup this module built: runbook titles, reasons and error messages come from people and from
 * shell output, and a status page that ran their `<script>` would hand the stakeholders' browsers to
 * whoever wrote a runbook. Escaping by default, rather than at each call site, is what keeps that true as
 * the pages grow.
 *
 * No client JavaScript and no external assets (fonts, CSS, images): the page must load on a locked-down
 * cutover-night network and under a `default-src 'none'` Content-Security-Policy.
 */
import { describeSummary } from '../reconcile/format.js';
import { formatDuration } from '../runbook/duration.js';
import {
  actualMs,
  BACKOUT_TRIGGER_WORDS,
  DECISION_VERB,
  phaseKindWord,
  plannedText,
  RESOLUTION_WORDS,
  statusWord,
} from '../present/run-view.js';
import type { Decision, RunState, StepState } from '../run/state.js';
import { unmetRequirements } from '../run/transitions.js';
import type { RunDetail, RunRecord } from '../prisma/records.js';
import { html, SafeHtml } from '../present/html.js';

// ---------------------------------------------------------------------------------------------------
// Layout

const STYLE = `
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.4; }
  body { margin: 0 auto; max-width: 78rem; padding: 1rem 1.5rem 3rem; }
  nav { font-size: .9rem; margin-bottom: .5rem; }
  h1 { font-size: 1.5rem; margin: .25rem 0 .75rem; }
  h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; }
  caption { text-align: left; font-weight: 600; padding: .25rem 0; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #8884; vertical-align: top; }
  thead th { border-bottom: 2px solid #8888; white-space: nowrap; }
  tbody th[scope=rowgroup] { background: #8881; padding-top: .6rem; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
  dl.summary dt { font-weight: 600; }
  dl.summary dd { margin: 0; }
  code { font-size: .95em; }
  .status { font-weight: 600; white-space: nowrap; }
  .status-succeeded, .status-completed, .status-simulated, .status-approved { color: #1a7f37; }
  .status-failed, .status-backed_out, .status-rejected { color: #cf222e; }
  .status-waiting, .status-backing_out, .status-running { color: #9a6700; }
  .note { color: #8a6d00; border-left: 3px solid currentColor; padding: .25rem .75rem; }
  .muted { opacity: .75; }
`;

function page(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — cutover</title>
<style>${new SafeHtml(STYLE)}</style>
</head>
<body>
<nav aria-label="Site"><a href="/">All runs</a></nav>
<main>
${body}
</main>
</body>
</html>
`.value;
}

// ---------------------------------------------------------------------------------------------------
// Small formatters

/** `2026-12-05T22:00:00.000Z` as `2026-12-05 22:00:00 UTC`, in a `<time>` element machines can read. */
function time(iso: string | null | undefined): SafeHtml | '' {
  if (!iso) return '';
  const shown = Number.isNaN(Date.parse(iso)) ? iso : `${iso.slice(0, 19).replace('T', ' ')} UTC`;
  return html`<time datetime="${iso}">${shown}</time>`;
}

/** How long between two ISO times, or '' when either is missing. */
function between(start: string | null | undefined, end: string | null | undefined): string {
  if (!start || !end) return '';
  return formatDuration(Math.max(0, Date.parse(end) - Date.parse(start)));
}

/** A status as words (`backed_out` → `backed out`), marked with a class for colour; the word carries the meaning. */
function status(value: string): SafeHtml {
  return html`<span class="status status-${value}">${statusWord(value)}</span>`;
}

function runHref(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}

const TERMINAL = new Set(['completed', 'backed_out', 'failed']);

// ---------------------------------------------------------------------------------------------------
// The list of runs

/** What `renderRunList` shows above the table. */
export interface RunListOptions {
  /** The runbook the list is filtered to, when it is. */
  runbook?: string;
}

/** The page of recorded runs, newest first (the order `runs` comes in), or a sentence when there are none. */
export function renderRunList(runs: readonly RunRecord[], options: RunListOptions = {}): string {
  const title = options.runbook ? `Runs of ${options.runbook}` : 'Runs';
  const body =
    runs.length === 0
      ? html`<h1>${title}</h1>
<p>${options.runbook ? html`No runs of <code>${options.runbook}</code> are recorded yet.` : 'No runs are recorded yet.'} Start one with <code>cutover rehearse FILE</code>.</p>`
      : html`<h1>${title}</h1>
<table>
<caption>Recorded runs, newest first</caption>
<thead><tr><th scope="col">Run</th><th scope="col">Runbook</th><th scope="col">Mode</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Duration</th><th scope="col">Outcome</th></tr></thead>
<tbody>
${runs.map(
  (
    run,
  ) => html`<tr><th scope="row"><a href="${runHref(run.id)}">${run.id}</a></th><td>${run.runbookName} <span class="muted">v${run.runbookVersion}</span></td><td>${run.mode}</td><td>${status(run.status)}</td><td>${time(run.startedAt ?? run.createdAt)}</td><td class="num">${duration(run)}</td><td>${run.outcome ?? ''}</td></tr>
`,
)}</tbody>
</table>`;
  return page(title, body);
}

function duration(run: RunRecord): string {
  if (run.startedAt && run.endedAt) return between(run.startedAt, run.endedAt);
  return TERMINAL.has(run.status) || run.status === 'pending' ? '' : 'in progress';
}

// ---------------------------------------------------------------------------------------------------
// One run

/** Everything the page of one run draws. */
export interface RunView {
  runId: string;
  /** Where `state` came from: Temporal (live) or the record store (the last snapshot it recorded). */
  source: 'temporal' | 'store';
  /** The run's state; `null` for a run that was reserved but has not recorded any state yet. */
  state: RunState | null;
  /** What the record store holds about the run, when it knows it. */
  record: RunDetail | null;
  /** Said above the run when the state may be stale. */
  note?: string;
}

/** The read-only page of one run: header, steps by phase, decision log, back-out. */
export function renderRunPage(view: RunView): string {
  const { state, record } = view;
  const header = state ?? record;
  // One of the two is always set (the app answers 404 otherwise); the fallback keeps the types honest.
  if (!header) return renderNotFound(`there is no run \`${view.runId}\``);
  const runStatus = state?.status ?? record!.status;
  const endedAt = state ? state.endedAt : record!.endedAt;
  const outcome = state?.outcome ?? record?.outcome ?? null;
  const body = html`<h1>${view.runId} ${status(runStatus)}</h1>
${view.note && html`<p class="note" role="status">${view.note}</p>`}
<dl class="summary">
<dt>Mode</dt><dd>${header.mode}</dd>
<dt>Status</dt><dd>${status(runStatus)} <span class="muted">(${view.source === 'temporal' ? 'live from Temporal' : 'from the record store'})</span></dd>
<dt>Runbook</dt><dd>${header.runbookName} v${header.runbookVersion} <span class="muted">(<code>${header.versionHash}</code>)</span></dd>
<dt>Started by</dt><dd>${header.startedBy}</dd>
<dt>Started</dt><dd>${time(header.startedAt) || 'not yet'}</dd>
${endedAt && html`<dt>Ended</dt><dd>${time(endedAt)} <span class="muted">(took ${between(header.startedAt, endedAt)})</span></dd>`}
${outcome && html`<dt>Outcome</dt><dd>${outcome}</dd>`}
</dl>
${state ? [stepsTable(state), decisionLog(state.decisions), backoutSection(state)] : html`<p>The run has not recorded its steps yet.</p>`}`;
  return page(view.runId, body);
}

function stepsTable(state: RunState): SafeHtml {
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
<table aria-labelledby="steps">
<thead><tr><th scope="col">Step</th><th scope="col">Title</th><th scope="col">Owner</th><th scope="col">Status</th><th scope="col">Planned</th><th scope="col">Actual</th><th scope="col">Note</th></tr></thead>
${phases.map(
  (phase) => html`<tbody>
<tr><th scope="rowgroup" colspan="7">${phase.id} <span class="muted">(${phaseKindWord(phase.kind)})</span></th></tr>
${phase.steps.map(
  (
    step,
  ) => html`<tr><th scope="row"><code>${step.id}</code></th><td>${step.title}</td><td>${step.owner}</td><td>${status(step.status)}</td><td class="num">${plannedText(step)}</td><td class="num">${actual(step, state)}</td><td>${stepNote(step, state.runId)}</td></tr>
`,
)}</tbody>
`,
)}</table>`;
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
<table aria-labelledby="decisions">
<thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Role</th><th scope="col">What</th><th scope="col">Reason</th><th scope="col">Automatic</th></tr></thead>
<tbody>
${decisions.map(
  (
    d,
  ) => html`<tr><td>${time(d.at)}</td><th scope="row">${d.by}</th><td>${d.role}</td><td>${DECISION_VERB[d.kind] ?? d.kind}${d.target && html` <code>${d.target}</code>`}</td><td>${d.reason ?? ''}</td><td>${d.automatic ? 'yes' : 'no'}</td></tr>
`,
)}</tbody>
</table>`;
}

function backoutSection(state: RunState): SafeHtml | false {
  const backout = state.backout;
  if (backout.status === 'not_requested') return false;
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
</dl>
${
  undone.length > 0 &&
  html`<table aria-labelledby="backout">
<thead><tr><th scope="col">Step</th><th scope="col">Back-out status</th><th scope="col">Attempts</th><th scope="col">Took</th><th scope="col">Error</th></tr></thead>
<tbody>
${undone.map(
  ({
    step,
    backout: b,
  }) => html`<tr><th scope="row"><code>${step.id}</code></th><td>${status(b.status)}</td><td class="num">${b.attempts}</td><td class="num">${between(b.startedAt, b.endedAt)}</td><td>${b.error ?? ''}</td></tr>
`,
)}</tbody>
</table>`
}`;
}

// ---------------------------------------------------------------------------------------------------
// Errors

/** The 404 page: the sentence, and the way back. */
export function renderNotFound(sentence: string): string {
  return page(
    'Not found',
    html`<h1>Not found</h1>
<p>${capitalise(sentence)}.</p>
<p><a href="/">See all runs</a>.</p>`,
  );
}

/** The page for a request that went wrong: a sentence, never details (they go to the server's log). */
export function renderErrorPage(title: string, sentence: string): string {
  return page(
    title,
    html`<h1>${title}</h1>
<p>${sentence}</p>
<p><a href="/">See all runs</a>.</p>`,
  );
}

function capitalise(sentence: string): string {
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}

/**
 * The 401 page: what the page needs and how to give it. It names no run and echoes nothing from the request,
 * the token least of all.
 */
export function renderTokenRequired(sentence: string): string {
  return page(
    'Token required',
    html`<h1>This page needs its token</h1>
<p>${sentence}</p>`,
  );
}
