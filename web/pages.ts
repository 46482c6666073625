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
import type { RunContext } from '../present/run-view.js';
import type { RunDetail, RunRecord } from '../prisma/records.js';
import type { RunState } from '../run/state.js';
import { html, SafeHtml } from '../present/html.js';
import { between, runHref, status, time } from './html-bits.js';
import { runSections, SECTION_IDS } from './run-sections.js';

// ---------------------------------------------------------------------------------------------------
// Layout

/** A whole page around `body`: head, stylesheet, the site's links. */
export function page(title: string, body: SafeHtml, options: { script?: string; bodyClass?: string } = {}): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — cutover</title>
<link rel="stylesheet" href="/assets/page.css">
${options.script && html`<script src="/assets/${options.script}" defer></script>`}
</head>
<body${options.bodyClass ? html` class="${options.bodyClass}"` : ''}>
<nav aria-label="Site"><a href="/">All runs</a> · <a href="/board">Wallboard</a></nav>
<main>
${body}
</main>
</body>
</html>
`.value;
}

// ---------------------------------------------------------------------------------------------------
// Small formatters

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
  /** The changing parts as the run's live channel last drew them; drawn here at `now` when absent. */
  sections?: Record<string, string>;
  /** Roles, the lead and phase titles from the runbook. */
  context?: RunContext;
  /** The timeline zoomed to this phase. */
  phase?: string;
  /** Where the page's events come from, while the run is in flight. */
  events?: string;
  /** Notification messages that did not reach people, one sentence each (present/delivery-view.ts, without reasons). */
  failedDeliveries?: string[];
}

/**
 * The page of one run: what waits for people pinned on top, the forecast, the timeline, the steps by phase, the
 * decision log, the back-out. With `events` the page's script keeps it current; without JavaScript it reads the same.
 */
export function renderRunPage(view: RunView, now = Date.now()): string {
  const { state, record } = view;
  const header = state ?? record;
  // One of the two is always set (the app answers 404 otherwise); the fallback keeps the types honest.
  if (!header) return renderNotFound(`there is no run \`${view.runId}\``);
  const runStatus = state?.status ?? record!.status;
  const endedAt = state ? state.endedAt : record!.endedAt;
  const outcome = state?.outcome ?? record?.outcome ?? null;
  const summary = html`<dl class="summary">
<dt>Mode</dt><dd>${header.mode}</dd>
<dt>Status</dt><dd>${status(runStatus)} <span class="muted">(${view.source === 'temporal' ? 'live from Temporal' : 'from the record store'})</span></dd>
<dt>Runbook</dt><dd><a href="/runbooks/${encodeURIComponent(header.runbookName)}">${header.runbookName}</a> v${header.runbookVersion} <span class="muted">(<code>${header.versionHash}</code>)</span></dd>
<dt>Started by</dt><dd>${header.startedBy}</dd>
<dt>Started</dt><dd>${time(header.startedAt) || 'not yet'}</dd>
${endedAt && html`<dt>Ended</dt><dd>${time(endedAt)} <span class="muted">(took ${between(header.startedAt, endedAt)})</span></dd>`}
${outcome && html`<dt>Outcome</dt><dd>${outcome}</dd>`}
</dl>`;
  const note = view.note && html`<p class="note" role="status">${view.note}</p>`;
  if (!state) {
    return page(
      view.runId,
      html`<h1>${view.runId} ${status(runStatus)}</h1>
${note}
${summary}
<p>The run has not recorded its steps yet.</p>`,
    );
  }
  const sections =
    view.sections ??
    runSections({ state, now, ...(view.context ? { context: view.context } : {}), ...(view.phase ? { phase: view.phase } : {}) });
  const part = (id: (typeof SECTION_IDS)[number]) =>
    html`<section id="sec-${id}" data-section="${id}">${new SafeHtml(sections[id] ?? '')}</section>`;
  const live =
    view.events &&
    html`<div id="live" data-live="${view.events}"><p id="live-status" class="live-status" role="status">This page updates itself with JavaScript; without it, reload for the latest.</p></div>`;
  const failed =
    view.failedDeliveries?.length &&
    html`<section id="notifications"><h2>Messages that did not reach people</h2>
<ul>${view.failedDeliveries.map((line) => html`<li>${line}</li>`)}</ul>
<p class="muted">Why each failed: <code>cutover events ${view.runId}</code>.</p></section>`;
  const body = html`${part('head')}
${live}
${note}
${failed || ''}
${part('waiting')}
${part('forecast')}
${summary}
${SECTION_IDS.slice(3).map((id) => part(id))}`;
  return page(view.runId, body, view.events ? { script: 'live.js' } : {});
}

// ---------------------------------------------------------------------------------------------------
// Errors

/** A way back from an error page besides the list of runs. */
export interface BackLink {
  href: string;
  label: string;
}

function ways(back: BackLink | undefined): SafeHtml {
  return html`<p>${back && html`Back to <a href="${back.href}">${back.label}</a>, or s`}${back ? '' : 'S'}ee <a href="/">all runs</a>.</p>`;
}

/** The 404 page: the sentence, and the way back. */
export function renderNotFound(sentence: string, back?: BackLink): string {
  return page(
    'Not found',
    html`<h1>Not found</h1>
<p>${capitalised(sentence)}.</p>
${ways(back)}`,
  );
}

/** The page for a request that went wrong: a sentence, never details (they go to the server's log). */
export function renderErrorPage(title: string, sentence: string, back?: BackLink): string {
  return page(
    title,
    html`<h1>${title}</h1>
<p>${sentence}</p>
${ways(back)}`,
  );
}

/** The sentence with a capital first letter. */
export function capitalised(sentence: string): string {
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
