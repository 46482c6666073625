/**
 * The pages of the acting part (issue 19), phone first: enrolment, sign-in, and the acting view (a person's open gates
 * with the evidence and its digest, their manual steps, approve / reject with a reason, done). No inline script or
 * style: the scripts are files (the WebAuthn browser library from node_modules, and web/people-assets.ts), and
 * what they need is in data attributes.
 */
import { html, type SafeHtml } from '../present/html.js';
import { formatDuration } from '../runbook/duration.js';
import { summarizeEvidence } from '../run/evidence.js';
import type { GateState, StepState } from '../run/state.js';
import { runHref } from './html-bits.js';

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

/** A gate a person may vote on now. */
export interface OpenGate {
  runId: string;
  runbookName: string;
  step: StepState;
  gate: GateState;
}

/** A manual step a person may mark done now. */
export interface OpenManualStep {
  runId: string;
  runbookName: string;
  step: StepState;
}

/** A run the person leads, which they may back out. */
export interface LeadRun {
  runId: string;
  runbookName: string;
}

/** What a signed-in person needs to sign in the browser: who they are and their passkey. */
export interface Signer {
  person: string;
  passkey: string;
  credentialId: string;
  rpId: string;
  csrf: string;
}

function gateCard(g: OpenGate): SafeHtml {
  const evidence = g.gate.evidence;
  const question = g.gate.question ?? g.step.title;
  return html`<li class="card">
<form class="act-request" data-run="${g.runId}" data-kind="vote" data-gate="${g.step.id}" data-evidence="${evidence?.digest ?? ''}">
<h2>${question}</h2>
<p class="muted">Gate <code>${g.step.id}</code> of <a href="${runHref(g.runId)}">${g.runId}</a> (${g.runbookName})</p>
${
  evidence
    ? html`<p>Evidence: ${summarizeEvidence(evidence, formatDuration)}</p>
<p class="muted">Digest <code class="digest">${evidence.digest.slice(0, 12)}</code> · <a href="${runHref(g.runId)}">details</a></p>`
    : html`<p class="note">No evidence is assembled for this gate yet.</p>`
}
<label>Reason <textarea name="reason" rows="2" maxlength="4000" placeholder="why (needed to reject)"></textarea></label>
<p class="buttons"><button type="submit" name="decision" value="approve" class="big go">Approve</button>
<button type="submit" name="decision" value="reject" class="big no">Reject</button></p>
<output class="recorded" aria-live="polite"></output>
</form>
</li>`;
}

function manualCard(m: OpenManualStep): SafeHtml {
  return html`<li class="card">
<form class="act-request" data-run="${m.runId}" data-kind="done" data-step="${m.step.id}">
<h2>${m.step.title}</h2>
<p class="muted">Manual step <code>${m.step.id}</code> of <a href="${runHref(m.runId)}">${m.runId}</a> (${m.runbookName})</p>
<label>Note <textarea name="reason" rows="2" maxlength="4000" placeholder="optional"></textarea></label>
<p class="buttons"><button type="submit" name="decision" value="done" class="big go">Mark done</button></p>
<output class="recorded" aria-live="polite"></output>
</form>
</li>`;
}

function backoutCard(r: LeadRun): SafeHtml {
  return html`<li class="card">
<form class="act-request" data-run="${r.runId}" data-kind="backout">
<h2>Back out <a href="${runHref(r.runId)}">${r.runId}</a></h2>
<p class="muted">You lead ${r.runbookName}: running steps finish, then completed steps are undone in reverse order.</p>
<label>Reason <textarea name="reason" rows="2" maxlength="4000" placeholder="why (needed)"></textarea></label>
<p class="buttons"><button type="submit" name="decision" value="backout" class="big no">Back out</button></p>
<output class="recorded" aria-live="polite"></output>
</form>
</li>`;
}

/** The acting view: what `signer.person` may do now, each in two taps (the passkey prompt is the second). */
export function renderActPage(signer: Signer, gates: OpenGate[], manual: OpenManualStep[], lead: LeadRun[] = []): string {
  const nothing = gates.length === 0 && manual.length === 0 && lead.length === 0;
  return actPage(
    `${signer.person}: what you can do now`,
    html`<header class="act-head"><h1>${signer.person}</h1><button type="button" id="sign-out">Sign out</button></header>
${nothing ? html`<p>Nothing waits for you right now. This page shows your gates and manual steps when they open; reload to look again.</p>` : ''}
${gates.length > 0 ? html`<h2 class="group">Gates waiting for your vote</h2><ul class="cards">${gates.map(gateCard)}</ul>` : ''}
${manual.length > 0 ? html`<h2 class="group">Your manual steps</h2><ul class="cards">${manual.map(manualCard)}</ul>` : ''}
${lead.length > 0 ? html`<h2 class="group">Runs you lead</h2><ul class="cards">${lead.map(backoutCard)}</ul>` : ''}`,
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
