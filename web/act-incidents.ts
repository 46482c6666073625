/**
 * Hypercare incidents on the acting view (issue 22): in a run that went live and is in hypercare, a person who holds a
 * role there sees its open incidents (oldest first, with severity, owner, age and target state), updates them (ETA, a
 * note, the owner), resolves those their role owns (or all, as the lead), and opens new ones. Each is the request
 * `cutover incident open|update|resolve` sends, signed on the device with their passkey (web/people-assets.ts). Pure.
 */
import { hypercareView, type OpenIncidentRow } from '../present/hypercare-view.js';
import { html, type SafeHtml } from '../present/html.js';
import { formatDuration } from '../runbook/duration.js';
import type { Runbook } from '../runbook/schema.js';
import { peopleIn, rolesOf } from '../run/transitions.js';
import type { RunForPerson } from './act-live.js';
import { runHref, time } from './html-bits.js';

/** An open incident as the acting view shows it. */
export interface OpenIncidentCard extends OpenIncidentRow {
  /** The person may resolve it: they hold its owner role, or lead the run. */
  mayResolve: boolean;
  /** When it was opened (the page keeps its age current from it). */
  openedAt: string;
  lastNote?: { by: string; text: string };
}

/** A run in hypercare in which the person holds a role. */
export interface CareRun {
  runId: string;
  runbookName: string;
  /** The runbook's roles: who may own an incident. */
  roles: string[];
  incidents: OpenIncidentCard[];
}

/** The runs in hypercare `person` holds a role in, with their open incidents at `now`. */
export function careRunsFor(person: string, runs: readonly RunForPerson[], now: number): CareRun[] {
  const care: CareRun[] = [];
  for (const { record, state, runbook } of runs) {
    const hypercare = state.hypercare;
    if (!hypercare || hypercare.status !== 'open' || rolesOf(runbook, person).length === 0) continue;
    const leads = peopleIn(runbook, runbook.lead).includes(person);
    const byId = new Map(hypercare.incidents.map((i) => [i.id, i]));
    care.push({
      runId: record.id,
      runbookName: record.runbookName,
      roles: Object.keys(runbook.roles),
      incidents: hypercareView(hypercare, now).open.map((row) => {
        const incident = byId.get(row.id)!;
        const note = incident.notes[incident.notes.length - 1];
        return {
          ...row,
          mayResolve: leads || mayOwn(runbook, row.owner, person),
          openedAt: incident.openedAt,
          ...(note ? { lastNote: { by: note.by, text: note.text } } : {}),
        };
      }),
    });
  }
  return care;
}

const mayOwn = (runbook: Runbook, role: string, person: string) => peopleIn(runbook, role).includes(person);

const TARGET_WORDS = { breached: 'breached its target', approaching: 'approaching its target', within: 'within target', 'no target': '' };

const options = (values: readonly string[], chosen = '') =>
  values.map((v) => html`<option value="${v}"${v === chosen ? html` selected` : ''}>${v}</option>`);

/** The age of an incident: the page's script keeps it current from `data-since` (it is left out of the card's version). */
export function ageSpan(since: string, ms: number): SafeHtml {
  return html`<span class="age" data-since="${since}">${ms < 1000 ? '0s' : formatDuration(ms)}</span>`;
}

function incidentCard(run: CareRun, i: OpenIncidentCard): SafeHtml {
  const target = TARGET_WORDS[i.target];
  return html`<form class="act-request incident" data-run="${run.runId}" data-kind="incident" data-incident="${i.id}">
<h2><span class="sev sev${i.severity}">sev${i.severity}</span> ${i.title}</h2>
<p class="muted">Incident <code>${i.id}</code> of <a href="${runHref(run.runId)}">${run.runId}</a> (${run.runbookName})</p>
<p class="facts">Owner <strong>${i.owner}</strong> · open for ${ageSpan(i.openedAt, i.ageMs)}${target && html` · <span class="target-${i.target.replace(' ', '-')}">${target}</span>`}${i.eta && html` · ETA ${time(i.eta)}`}${i.external && html` · ${i.external}`}</p>
${i.lastNote && html`<p class="last-note">Last note (${i.lastNote.by}): ${i.lastNote.text}</p>`}
<label>ETA (your local time) <input type="datetime-local" name="eta"></label>
<label>Owner <select name="owner"><option value="">keep ${i.owner}</option>${options(run.roles.filter((r) => r !== i.owner))}</select></label>
<label>Note <textarea name="reason" rows="2" maxlength="4000" placeholder="what happened since (optional to resolve)"></textarea></label>
<p class="buttons"><button type="submit" name="decision" value="update" class="big">Update</button>
${i.mayResolve ? html`<button type="submit" name="decision" value="resolve" class="big go">Resolve</button>` : ''}</p>
<output class="recorded" aria-live="polite"></output>
</form>`;
}

function openIncidentCard(run: CareRun): SafeHtml {
  return html`<form class="act-request" data-run="${run.runId}" data-kind="incident-open">
<h2>Open an incident</h2>
<p class="muted">Hypercare of <a href="${runHref(run.runId)}">${run.runId}</a> (${run.runbookName})</p>
<label>Severity <select name="severity"><option value="1">sev1 (worst)</option><option value="2">sev2</option><option value="3" selected>sev3</option><option value="4">sev4</option></select></label>
<label>Title <input name="title" maxlength="4000" autocomplete="off"></label>
<label>Owner <select name="owner">${options(run.roles)}</select></label>
<label>Step id (optional) <input name="step" maxlength="200" autocomplete="off"></label>
<label>External id (optional) <input name="external" maxlength="200" autocomplete="off"></label>
<p class="buttons"><button type="submit" name="decision" value="open" class="big no">Open incident</button></p>
<output class="recorded" aria-live="polite"></output>
</form>`;
}

/** The incident cards of one run: its open incidents oldest first, then the card that opens a new one. */
export function careCards(run: CareRun): { key: string; body: SafeHtml }[] {
  return [
    ...run.incidents.map((i) => ({ key: `incident:${run.runId}:${i.id}`, body: incidentCard(run, i) })),
    { key: `incident-open:${run.runId}`, body: openIncidentCard(run) },
  ];
}
