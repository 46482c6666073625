/**
 * The hypercare part of a run's page, once the run went live and is in hypercare: the exit gate and what keeps it
 * shut, the open incidents oldest first with their owner, age and target state (and how many each owner has), MTTR
 * per severity against its target, the parallel run (each reconciliation's last round, and its rounds at 0 in a row
 * against the exit's `drift_rounds`), and the KPI pack (owner, last refresh, SLA state). Drawn from the same view as
 * `cutover status` and `cutover incident list` (present/hypercare-view.ts). Pure; every value goes through `html`.
 */
import { differing } from '../run/hypercare-drift.js';
import { driftSentence, hypercareView, type DriftRow } from '../present/hypercare-view.js';
import { html, type SafeHtml } from '../present/html.js';
import { formatDuration } from '../runbook/duration.js';
import type { RunState } from '../run/state.js';
import { status, time } from './html-bits.js';

const TARGET_WORDS = { breached: 'breached', approaching: 'approaching', within: 'within target', 'no target': 'no target' } as const;

/** The last round of a parallel run, in a cell: no drift, how many rows differed, or why it could not compare. */
function lastRound(row: DriftRow): SafeHtml | string {
  if (!row.latest) return 'not compared yet';
  const n = differing(row.latest);
  const what =
    n === undefined ? `could not compare: ${row.latest.error}` : n === 0 ? 'no drift' : `${n} ${n === 1 ? 'row differs' : 'rows differ'}`;
  return html`round ${row.latest.round}: ${n === 0 ? what : html`<strong>${what}</strong>`} <span class="muted">(${time(row.latest.at)})</span>`;
}

/** The parallel run: each reconciliation's last round, and its rounds at 0 in a row against the exit criterion. */
function driftTable(rows: readonly DriftRow[]): SafeHtml | '' {
  if (rows.length === 0) return '';
  return html`<h3 id="drift">Parallel run</h3>
<div class="scroll" tabindex="0"><table aria-labelledby="drift" class="drift">
<thead><tr><th scope="col">Reconciliation</th><th scope="col">Owner</th><th scope="col">Last round</th><th scope="col">At 0 in a row</th><th scope="col">Exit needs</th><th scope="col">Rounds</th><th scope="col">With drift</th></tr></thead>
<tbody>
${rows.map(
  (row) =>
    html`<tr title="${driftSentence(row)}"><th scope="row">${row.title ?? row.id}</th><td>${row.owner ?? 'no owner'}</td><td>${lastRound(row)}</td><td class="num">${row.atZero}</td><td class="num">${row.needed === undefined ? '—' : html`${row.needed}${row.atZero >= row.needed ? ' (met)' : ''}`}</td><td class="num">${row.rounds}</td><td class="num">${row.driftRounds}</td></tr>
`,
)}</tbody>
</table></div>`;
}

/** The section's HTML, or nothing for a run that is not in hypercare. `driftRounds`: the exit's, from the runbook. */
export function hypercareSection(state: RunState, now: number, driftRounds?: number): SafeHtml {
  if (!state.hypercare) return html``;
  const view = hypercareView(state.hypercare, now, driftRounds === undefined ? {} : { driftRounds });
  const owners = Object.entries(view.byOwner).map(([owner, n]) => `${owner} ${n}`);
  const mttr = view.mttr.filter((m) => m.resolved > 0 || m.open > 0 || m.targetMs !== undefined);
  const exit = view.exit;
  return html`<h2 id="hypercare">Hypercare</h2>
<p>${view.status === 'exited' ? 'Exited' : 'In hypercare'} since ${time(view.startedAt)} <span class="muted">(${formatDuration(Math.max(0, now - Date.parse(view.startedAt)))})</span>.
Exit gate <code>hypercare-exit</code>: ${status(exit.status)}${exit.status === 'open' && html`, waiting for ${exit.awaiting.join(', ') || 'any approver'}`}</p>
${exit.status === 'pending' && exit.unmet.length > 0 && html`<ul class="unmet">${exit.unmet.map((why) => html`<li>${why}</li>`)}</ul>`}
<h3 id="incidents">Open incidents</h3>
${
  view.open.length === 0
    ? html`<p class="muted">No open incidents.</p>`
    : html`<p>${view.open.length} open: ${owners.join(', ')}. Oldest first.</p>
<div class="scroll" tabindex="0"><table aria-labelledby="incidents" class="incidents">
<thead><tr><th scope="col">Incident</th><th scope="col">Severity</th><th scope="col">Title</th><th scope="col">Owner</th><th scope="col">Age</th><th scope="col">Target</th><th scope="col">ETA</th></tr></thead>
<tbody>
${view.open.map(
  (row) =>
    html`<tr><th scope="row"><code>${row.id}</code></th><td>sev${row.severity}</td><td>${row.title}${row.external && html` <span class="muted">(${row.external})</span>`}</td><td>${row.owner}</td><td class="num">${formatDuration(row.ageMs)}</td><td class="target-${row.target.replace(' ', '-')}">${TARGET_WORDS[row.target]}</td><td>${time(row.eta)}</td></tr>
`,
)}</tbody>
</table></div>`
}
${
  mttr.length > 0 &&
  html`<h3 id="mttr">MTTR per severity</h3>
<div class="scroll" tabindex="0"><table aria-labelledby="mttr" class="mttr">
<thead><tr><th scope="col">Severity</th><th scope="col">Resolved</th><th scope="col">Open</th><th scope="col">MTTR</th><th scope="col">Target</th><th scope="col">Against target</th><th scope="col">Breaches</th></tr></thead>
<tbody>
${mttr.map((m) => {
  const verdict = m.mttrMs === undefined || m.targetMs === undefined ? '—' : m.mttrMs <= m.targetMs ? 'within target' : 'over target';
  return html`<tr><th scope="row">sev${m.severity}</th><td class="num">${m.resolved}</td><td class="num">${m.open}</td><td class="num">${m.mttrMs === undefined ? '—' : formatDuration(m.mttrMs)}</td><td class="num">${m.targetMs === undefined ? '—' : formatDuration(m.targetMs)}</td><td>${verdict}</td><td class="num">${m.breaches}</td></tr>
`;
})}</tbody>
</table></div>`
}
${driftTable(view.drift)}
${
  view.kpis.length > 0 &&
  html`<h3 id="kpis">KPI pack</h3>
<div class="scroll" tabindex="0"><table aria-labelledby="kpis" class="kpis">
<thead><tr><th scope="col">KPI</th><th scope="col">Owner</th><th scope="col">Last refresh</th><th scope="col">SLA</th><th scope="col">State</th><th scope="col">Checked</th></tr></thead>
<tbody>
${view.kpis.map(
  (kpi) =>
    html`<tr><th scope="row">${kpi.title ?? kpi.id}</th><td>${kpi.owner ?? 'no owner'}</td><td>${time(kpi.lastDataAt) || '—'}</td><td>${kpi.sla ?? ''}</td><td>${kpi.fresh === undefined ? 'not checked yet' : kpi.fresh ? 'fresh' : html`<strong>stale</strong>${kpi.incident && html` (${kpi.incident})`}`}</td><td>${time(kpi.checkedAt)}${kpi.rounds > 0 && html` <span class="muted">(${kpi.rounds} checks, ${kpi.staleRounds} stale)</span>`}</td></tr>
`,
)}</tbody>
</table></div>`
}`;
}
