/**
 * The pages of the acting part (issue 19), phone first: enrolment, sign-in, and the acting view (a person's open gates
 * with the evidence and its digest, their manual steps, approve / reject with a reason, done; for the lead, failed
 * steps to resolve and runs to back out). No inline script or
 * style: the scripts are files (the WebAuthn browser library from node_modules, and web/people-assets.ts), and
 * what they need is in data attributes.
 */
import { createHash } from 'node:crypto';
import { html, SafeHtml } from '../present/html.js';
import { formatDuration } from '../runbook/duration.js';
import { summarizeEvidence } from '../run/evidence.js';
import type { GateState, PendingResolution, StepState } from '../run/state.js';
import type { WaitingItem } from '../present/run-view.js';
import { careCards, type CareRun } from './act-incidents.js';
import { runHref } from './html-bits.js';
import { HYPERCARE_EXIT_ID } from '../run/hypercare.js';

/** A page of the acting part: the stylesheet, the WebAuthn library and the page's script. */
function actPage(title: string, body: SafeHtml, data: Record<string, string> = {}): string {
  const attributes = Object.entries(data).map(([k, v]) => html` data-${k}="${v}"`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — cutover</title>
<link rel="stylesheet" href="/assets/page.css">
<script src="/assets/webauthn-browser.js" defer></script>
<script src="/assets/act.js" defer></script>
</head>
<body class="act"${attributes}>
<main>
${body}
<p id="act-status" role="status" aria-live="polite"></p>
</main>
</body>
</html>
`.value;
}

/** The enrolment page of `person`'s link. */
export function renderEnrolPage(person: string): string {
  return actPage(
    `Enrol ${person}`,
    html`<h1>Make your passkey, ${person}</h1>
<p>Your phone or laptop makes a passkey for this page; from then on you sign in and sign your votes with it. The cutover lead needs the line it shows afterwards for the runbook.</p>
<p><button type="button" id="enrol" class="big">Make my passkey</button></p>
<pre id="runbook-line" hidden></pre>
<p id="to-act" hidden><a href="/act">Go to what you can do now</a></p>`,
    { page: 'enrol' },
  );
}

/** The sign-in page. */
export function renderSignInPage(): string {
  return actPage(
    'Sign in',
    html`<h1>Sign in to cutover</h1>
<p>Sign in with the passkey you made from your enrolment link.</p>
<p><button type="button" id="sign-in" class="big">Sign in with my passkey</button></p>`,
    { page: 'sign-in' },
  );
}

/** A refusal as a page: one sentence. */
export function renderRefusedPage(title: string, sentence: string): string {
  return actPage(title, html`<h1>${title}</h1><p class="note">${sentence}</p>`, { page: 'refused' });
}

/** Who is on a wait, and whether the person may say they are (issue 20: `cutover ack`). */
export interface AckState {
  /** `on it: ana since 03:12 UTC`, when someone acknowledged the wait. */
  onIt?: string;
  /** The person may acknowledge it now (they have not yet). */
  mayAck: boolean;
}

/** A gate a person may vote on now. */
export interface OpenGate extends AckState {
  runId: string;
  runbookName: string;
  /** The gate's step, or `hypercare-exit` for the hypercare exit gate (which has none). */
  gateId: string;
  /** What the card asks when the gate has no question of its own. */
  title: string;
  gate: GateState;
}

/** A manual step a person may mark done now. */
export interface OpenManualStep extends AckState {
  runId: string;
  runbookName: string;
  step: StepState;
}

/** A failed step (or its undo) waiting for the lead: retry, done by hand, or (going forward) back out. */
export interface OpenFailure {
  runId: string;
  runbookName: string;
  step: StepState;
  resolution: PendingResolution;
  /** The run still goes forward, so the lead may back it out instead. */
  canBackOut: boolean;
}

/** A run the person leads, which they may back out. */
export interface LeadRun {
  runId: string;
  runbookName: string;
}

/** What waits for people in a run the person leads, with who is on each (the lead's view of who is on what). */
export interface LeadWaits {
  runId: string;
  runbookName: string;
  items: WaitingItem[];
}

/** Everything a person may do now. */
export interface OpenForPerson {
  gates: OpenGate[];
  manual: OpenManualStep[];
  failures: OpenFailure[];
  lead: LeadRun[];
  /** For the lead: what waits for people in their runs, and who is on it. */
  waits: LeadWaits[];
  /** The runs in hypercare they hold a role in: open incidents to update or resolve, and new ones to open. */
  care: CareRun[];
}

/** One card of the acting view: its key (what it is about) and its markup (`data-version` tells a changed card). */
export interface ActCard {
  key: string;
  html: string;
}

/** What a signed-in person needs to sign in the browser: who they are and their passkey. */
export interface Signer {
  person: string;
  passkey: string;
  credentialId: string;
  rpId: string;
  csrf: string;
}

const where = (what: string, id: string, runId: string, runbookName: string) =>
  html`<p class="muted">${what} <code>${id}</code> of <a href="${runHref(runId)}">${runId}</a> (${runbookName})</p>`;

function votesLine(gate: GateState): SafeHtml | '' {
  if (gate.votes.length === 0) return '';
  const votes = gate.votes.map((v) => `${v.by} (${v.role}) ${v.decision === 'approve' ? 'approved' : 'rejected'}`).join(', ');
  const waiting = gate.awaiting.length > 0 ? `; still waiting for ${gate.awaiting.join(', ')}` : '';
  return html`<p class="votes">Votes so far: ${votes}${waiting}</p>`;
}

/** Who is on the wait, and the button that says "I am on it" when the person may. */
function onItLine(a: AckState): SafeHtml | '' {
  return a.onIt ? html`<p class="on-it">${a.onIt[0]!.toUpperCase()}${a.onIt.slice(1)}</p>` : '';
}

const ackButton = (a: AckState): SafeHtml | '' =>
  a.mayAck ? html`<button type="submit" name="decision" value="ack" class="big">Acknowledge</button>` : '';

function gateCard(g: OpenGate): SafeHtml {
  const evidence = g.gate.evidence;
  const question = g.gate.question ?? g.title;
  const exit = g.gateId === HYPERCARE_EXIT_ID;
  return html`<form class="act-request" data-run="${g.runId}" data-kind="vote" data-gate="${g.gateId}" data-evidence="${evidence?.digest ?? ''}">
<h2>${question}</h2>
${where('Gate', g.gateId, g.runId, g.runbookName)}
${
  exit
    ? html`<p>The exit's criteria hold: approving ends hypercare and the run; not yet drops the approvals so far (a reason is needed). <a href="${runHref(g.runId)}">Details</a></p>`
    : evidence
      ? html`<p>Evidence: ${summarizeEvidence(evidence, formatDuration)}</p>
<p class="muted">Digest <code class="digest">${evidence.digest.slice(0, 12)}</code> · <a href="${runHref(g.runId)}">details</a></p>`
      : html`<p class="note">No evidence is assembled for this gate yet.</p>`
}
${votesLine(g.gate)}
${onItLine(g)}
<label>Reason <textarea name="reason" rows="2" maxlength="4000" placeholder="why (needed to reject)"></textarea></label>
<p class="buttons"><button type="submit" name="decision" value="approve" class="big go">Approve</button>
<button type="submit" name="decision" value="reject" class="big no">${exit ? 'Not yet' : 'Reject'}</button>
${ackButton(g)}</p>
<output class="recorded" aria-live="polite"></output>
</form>`;
}

function manualCard(m: OpenManualStep): SafeHtml {
  return html`<form class="act-request" data-run="${m.runId}" data-kind="done" data-step="${m.step.id}">
<h2>${m.step.title}</h2>
${where('Manual step', m.step.id, m.runId, m.runbookName)}
${onItLine(m)}
<label>Note <textarea name="reason" rows="2" maxlength="4000" placeholder="optional"></textarea></label>
<p class="buttons"><button type="submit" name="decision" value="done" class="big go">Mark done</button>
${ackButton(m)}</p>
<output class="recorded" aria-live="polite"></output>
</form>`;
}

function failureCard(f: OpenFailure): SafeHtml {
  const undo = f.resolution.scope === 'backout';
  const unknown =
    f.resolution.kind === 'unknown' ? html`<p class="note">The worker stopped during it: nobody knows whether it applied.</p>` : '';
  return html`<form class="act-request" data-run="${f.runId}" data-kind="resolve" data-step="${f.step.id}">
<h2>${undo ? `The undo of ${f.step.title} failed` : `${f.step.title} failed`}</h2>
${where(undo ? 'Undo of step' : 'Step', f.step.id, f.runId, f.runbookName)}
<pre class="error">${f.resolution.error}</pre>
${unknown}
<label>Reason <textarea name="reason" rows="2" maxlength="4000" placeholder="why (needed)"></textarea></label>
<p class="buttons"><button type="submit" name="decision" value="retry" class="big go">Retry</button>
<button type="submit" name="decision" value="done" class="big">Done by hand</button>
${f.canBackOut ? html`<button type="submit" name="decision" value="backout" class="big no">Back out</button>` : ''}</p>
<output class="recorded" aria-live="polite"></output>
</form>`;
}

function waitsCard(w: LeadWaits): SafeHtml {
  return html`<div class="waits">
<h2>Waiting in <a href="${runHref(w.runId)}">${w.runId}</a></h2>
<p class="muted">You lead ${w.runbookName}: who is on what.</p>
<ul>${w.items.map(
    (item) =>
      html`<li data-step="${item.stepId}"><strong>${item.what}</strong><br>who may act: ${item.who} · ${item.onIt ? html`<strong class="on-it">${item.onIt}</strong>` : 'nobody acknowledged it yet'}</li>`,
  )}</ul>
</div>`;
}

function backoutCard(r: LeadRun): SafeHtml {
  return html`<form class="act-request" data-run="${r.runId}" data-kind="backout">
<h2>Back out <a href="${runHref(r.runId)}">${r.runId}</a></h2>
<p class="muted">You lead ${r.runbookName}: running steps finish, then completed steps are undone in reverse order.</p>
<label>Reason <textarea name="reason" rows="2" maxlength="4000" placeholder="why (needed)"></textarea></label>
<p class="buttons"><button type="submit" name="decision" value="backout" class="big no">Back out</button></p>
<output class="recorded" aria-live="polite"></output>
</form>`;
}

/**
 * A card's list item: keyed, with a short digest of its markup so a live page replaces only cards that changed. An
 * incident's age is left out of the digest: the page keeps it current, and a card is not replaced for a clock's sake.
 */
function card(key: string, body: SafeHtml): ActCard {
  const stable = body.value.replace(/<span class="age" data-since="[^"]*">[^<]*<\/span>/g, '');
  const version = createHash('sha256').update(stable).digest('base64url').slice(0, 12);
  return { key, html: html`<li class="card" data-key="${key}" data-version="${version}">${body}</li>`.value };
}

/**
 * The cards of what a person may do now: failures first (the run waits on them), then gates, manual steps, the open
 * incidents of runs in hypercare (and the card that opens one), runs led.
 * A failure's key has its time: a retry that fails again is a new card beside the one that says what was recorded.
 */
export function actCards(open: OpenForPerson): ActCard[] {
  return [
    ...open.failures.map((f) => card(`resolve:${f.runId}:${f.step.id}:${f.resolution.scope}:${f.resolution.since}`, failureCard(f))),
    ...open.gates.map((g) => card(`gate:${g.runId}:${g.gateId}`, gateCard(g))),
    ...open.manual.map((m) => card(`manual:${m.runId}:${m.step.id}`, manualCard(m))),
    ...open.care.flatMap((run) => careCards(run).map((c) => card(c.key, c.body))),
    ...open.waits.map((w) => card(`waits:${w.runId}`, waitsCard(w))),
    ...open.lead.map((r) => card(`backout:${r.runId}`, backoutCard(r))),
  ];
}

/**
 * The acting view: what `signer.person` may do now, each in two taps (the passkey prompt is the second). The page
 * follows `/act/events` and adds, changes and removes cards as the runs move (web/act-live.ts).
 */
export function renderActPage(signer: Signer, cards: ActCard[]): string {
  const list = new SafeHtml(cards.map((c) => c.html).join('\n'));
  return actPage(
    `${signer.person}: what you can do now`,
    html`<header class="act-head"><h1>${signer.person}</h1><button type="button" id="sign-out">Sign out</button></header>
<p id="act-nothing"${cards.length > 0 ? ' hidden' : ''}>Nothing waits for you right now. Your gates, manual steps, the failures you resolve and hypercare incidents show here when they open.</p>
<ul class="cards" id="act-cards">${list}</ul>
<p id="act-live" class="muted" data-state="connecting">Connecting for live updates…</p>`,
    {
      page: 'act',
      person: signer.person,
      passkey: signer.passkey,
      credential: signer.credentialId,
      rp: signer.rpId,
      csrf: signer.csrf,
    },
  );
}
