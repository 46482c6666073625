/**
 * Passkeys on the page in real Chromium with the DevTools virtual authenticator (CTAP2, internal, resident keys, user
 * verification on), against a real run on the test Temporal server and a real SQLite record store: a person enrols
 * from a one-time link, signs out and in, and approves a gate of a run that takes only signed requests from a
 * phone-sized page; the run goes on. A request the page server alters in flight is refused by the run and logged as
 * refused; a used or expired enrolment link is refused; a vote over plain HTTP beyond loopback is refused; a request
 * from another origin, or without the session's token, does nothing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardSignedRequest } from '../common/forward-request.js';
import { readRunState } from '../common/read-run-state.js';
import type { RunQueries } from '../common/run-follower.js';
import { sendPersonRequest, signedFields, type IncidentChange } from '../common/person-requests.js';
import { approveGateUpdate, runStepsQuery, runSummaryQuery } from '../workflows/messages.js';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { FORGED_REQUEST_REASON } from '../run/signed-request.js';
import { invitePerson } from '../web/people-routes.js';
import type { ActSettings } from '../web/act.js';
import { serveStatusPage, type StatusPage } from '../web/server.js';
import { launchChromium, passkeyPhone } from './support/chromium.js';
import { newPasskey, passkeySign } from './support/passkey.js';
import { cliEnv, runCli } from './support/cli.js';
import { resultOf, startHarness, startReserved, waitForState, type Harness } from './support/workflow-harness.js';
import { migratedStoreAt } from './support/store-template.js';

let h: Harness;
let store: RecordStore;
let server: StatusPage;
let browser: Browser;
let settings: ActSettings;
let origin: string;
let databaseFile: string;

/** A port nobody listens on now: the page's origin (which WebAuthn binds passkeys to) must be known before it listens. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function actSettings(at: string): ActSettings {
  return {
    people: store.webPeople,
    origin: at,
    rpId: new URL(at).hostname,
    forward: (runId, kind, fields) => forwardSignedRequest(h.client.workflow.getHandle(runId), kind, fields),
  };
}

beforeAll(async () => {
  databaseFile = path.join(mkdtempSync(path.join(tmpdir(), 'cutover-passkeys-')), 'cutover.db');
  store = await openRecordStore({ databaseUrl: migratedStoreAt(databaseFile) });
  h = await startHarness({ store });
  const port = await freePort();
  // http://localhost is a secure context: WebAuthn works there, and the page takes votes there (loopback).
  origin = `http://localhost:${port}`;
  settings = actSettings(origin);
  const liveState = async (runId: string) => (await readRunState(h.client.workflow.getHandle(runId))).state;
  // The run page's live channel, as `cutover web` wires it.
  const follow = (runId: string): RunQueries => {
    const handle = h.client.workflow.getHandle(runId);
    return { summary: () => handle.query(runSummaryQuery), page: (offset, limit) => handle.query(runStepsQuery, { offset, limit }) };
  };
  server = await serveStatusPage({ port, host: '127.0.0.1', store, liveState, follow, people: settings });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await h?.stop();
  await store?.close();
});

/** A phone-sized page with a virtual authenticator: a passkey made on it stays on it. */
const phone = () => passkeyPhone(browser);

/** Erin's passkey, a software one: she votes from elsewhere. */
const erin = newPasskey('localhost');

const runbookWith = (passkey: string) => `
name: passkey-page
version: 1
lead: lead
roles: { lead: [alice], business: [dana], it: [erin] }
people:
  dana: { passkey: "${passkey}" }
  erin: { passkey: "${erin.line}" }
signatures: required
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [business, it], question: "Counts match; switch the CRM on?" } }
      - { id: switch, title: Switch on, owner: lead, depends_on: [go], action: { kind: shell, command: "true" } }
      - { id: confirm, title: Confirm the first orders arrived, owner: business, depends_on: [switch], action: { kind: manual } }
`;

describe('passkeys on the page', () => {
  it('enrol from a link, sign in, approve a gate from a phone: the run checks the passkey and goes on', async () => {
    const { context, page } = await phone();
    const { link } = await invitePerson(settings, 'dana');
    await page.goto(link);
    await page.click('#enrol');
    const line = page.locator('#runbook-line');
    await line.waitFor({ state: 'visible', timeout: 20_000 });
    const runbookLine = (await line.textContent()) ?? '';
    expect(runbookLine).toMatch(/^dana: \{ passkey: "webauthn:localhost:B[A-Za-z0-9_-]{86}" \}$/);
    const passkey = /"(webauthn:[^"]+)"/.exec(runbookLine)![1]!;
    expect((await store.webPeople.person({ name: 'dana' }))?.passkey).toBe(passkey);

    // The link was used: a second use is refused, and so is an expired one.
    const again = await page.goto(link);
    expect(again?.status()).toBe(410);
    expect(await page.textContent('main')).toContain('this enrolment link was used already');
    const old = await invitePerson(settings, 'dana', new Date(Date.now() - 25 * 60 * 60 * 1000));
    const expired = await page.goto(old.link);
    expect(expired?.status()).toBe(410);
    expect(await page.textContent('main')).toContain('this enrolment link has expired');

    // Signed in since enrolment; sign out, then in again with the passkey.
    await page.goto(`${origin}/act`);
    await page.click('#sign-out');
    await page.waitForURL(`${origin}/sign-in`);
    expect((await page.goto(`${origin}/act`))?.url()).toBe(`${origin}/sign-in`);
    await page.click('#sign-in');
    await page.waitForURL(`${origin}/act`, { timeout: 20_000 });
    await expect.poll(() => page.getAttribute('#act-live', 'data-state'), { timeout: 20_000 }).toBe('live');
    expect(await page.isVisible('#act-nothing')).toBe(true);

    // The lead lists the line in the runbook and starts the run while her page is open: it takes only signed requests.
    const text = runbookWith(passkey);
    const { runId, handle } = await startReserved(h, store, text);
    // The gate shows up on the open page, without a reload, with its evidence once assembled.
    const card = page.locator('form.act-request[data-gate="go"]');
    await expect.poll(() => card.textContent(), { timeout: 20_000 }).toContain('Evidence:');
    await expect(card.locator('h2').textContent()).resolves.toBe('Counts match; switch the CRM on?');
    expect(await page.isVisible('#act-nothing')).toBe(false);
    // One column at 375 px: nothing wider than the screen.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);

    // A compromised page server changes the reason on the way: the run refuses the request and logs it as refused.
    await page.route(`${origin}/act/request`, async (route) => {
      const body = route.request().postDataJSON() as { fields: Record<string, unknown> };
      body.fields.reason = 'approved by the page';
      await route.continue({ postData: JSON.stringify(body) });
    });
    await card.locator('textarea[name=reason]').fill('counts match');
    await card.locator('button[value=approve]').click();
    await expect.poll(() => card.getAttribute('data-refused'), { timeout: 20_000 }).toContain(FORGED_REQUEST_REASON);
    await page.unroute(`${origin}/act/request`);

    // A second person watches the run on their phone: the run page is live.
    const watcher = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true });
    const watching = await watcher.newPage();
    await watching.goto(`${origin}/runs/${runId}`);
    await expect.poll(() => watching.getAttribute('#live', 'data-state'), { timeout: 20_000 }).toBe('live');
    expect(await watching.textContent('main')).not.toContain('counts match');

    // Erin (it) votes from elsewhere: Dana's open page shows it, and that the gate now waits for her role only.
    const { state: gateNow } = await readRunState(handle);
    const erinVote = signedFields(
      { kind: 'approve', gateId: 'go', as: 'erin', evidence: gateNow.steps.go!.gate!.evidence!.digest },
      (kind, fields) => passkeySign(erin, runId, kind, fields, { origin }),
    );
    await handle.executeUpdate(approveGateUpdate, { args: [erinVote as never] });
    await expect
      .poll(() => card.locator('p.votes').textContent(), { timeout: 20_000 })
      .toBe('Votes so far: erin (it) approved; still waiting for business');
    expect(await card.locator('textarea[name=reason]').inputValue()).toBe('counts match');

    // A hostile page on another origin of the same site (so the SameSite=Strict cookie goes along) posts a vote in
    // her name from her own browser, as a form and as a script: the page refuses both at the door, nothing is recorded.
    const decided = (await readRunState(handle)).state.decisions.length;
    const hostile = await hostilePage(origin, { run: runId, kind: 'approve', fields: { gateId: 'go', by: 'dana' } });
    try {
      const tab = await context.newPage();
      const posted = tab.waitForResponse((r) => r.url() === `${origin}/act/request`);
      await tab.goto(`${hostile.url}/form`);
      // Sent with her session's cookie: the browser's own defence does not stop this one, the page has to.
      expect((await (await posted).request().allHeaders()).cookie).toContain('cutover_session=');
      await tab.waitForURL(`${origin}/act/request`);
      const refusal = `this request came from ${hostile.url}, not from the page itself; nothing was done`;
      expect(await tab.textContent('main p')).toBe(refusal);
      const fetched = tab.waitForResponse((r) => r.url() === `${origin}/act/request`);
      await tab.goto(`${hostile.url}/fetch`);
      const answer = await fetched;
      expect(answer.status()).toBe(403);
      await tab.close();
    } finally {
      await hostile.close();
    }
    const after = (await readRunState(handle)).state;
    expect(after.decisions.length).toBe(decided);
    expect(after.steps.go!.gate!.status).toBe('open');

    // Two taps: approve, and the passkey (the virtual authenticator answers the prompt).
    await card.locator('button[value=approve]').click();
    await expect
      .poll(() => card.locator('output.recorded').textContent(), { timeout: 20_000 })
      .toBe(`Recorded: dana approved go: the gate is approved, ${runId} goes on`);
    // The watcher's page shows the vote at once, without a reload.
    await expect.poll(() => watching.textContent('main'), { timeout: 20_000 }).toContain('counts match');
    await watcher.close();
    // The manual step that follows is hers too: it shows once it waits, and is marked done the same way.
    const manual = page.locator('form.act-request[data-step="confirm"]');
    await expect.poll(() => manual.locator('h2').textContent(), { timeout: 20_000 }).toBe('Confirm the first orders arrived');
    await manual.locator('button[value=done]').click();
    await expect
      .poll(() => manual.locator('output.recorded').textContent(), { timeout: 20_000 })
      .toBe('Recorded: dana marked confirm done');
    const { state } = await resultOf(handle);
    expect(state.status).toBe('completed');
    expect(state.steps.switch!.status).toBe('succeeded');
    expect(state.decisions.map((d) => [d.kind, d.by, d.claimed?.verified])).toEqual([
      ['refused', 'dana', false],
      ['approve', 'erin', undefined],
      ['approve', 'dana', undefined],
      ['complete_manual', 'dana', undefined],
    ]);
    expect(state.decisions[3]!.signature!.key).toBe(passkey);
    expect(state.decisions[2]).toMatchObject({ reason: 'counts match', signature: { key: passkey } });
    expect(state.decisions[2]!.signature!.clientDataJSON).toMatch(/^[A-Za-z0-9_-]+$/);
    // An auditor verifies the log offline, with the runbook file: the passkey-signed vote holds.
    const runbookFile = path.join(path.dirname(databaseFile), 'passkey-page.yaml');
    writeFileSync(runbookFile, text);
    const audit = runCli(
      ['decisions', runId, '--verify', '--runbook', runbookFile],
      cliEnv({ CUTOVER_DATABASE_URL: `file:${databaseFile}` }),
    );
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(/dana \(business\) approve go: "counts match" \[signed with passkey [0-9a-f:]{23}\]/);
    expect(audit.stdout).toContain('every signature matches its key');
    const kinds = (await store.webPeople.events('dana')).map((e) => e.kind);
    expect(kinds).toEqual([
      'invited',
      'enrolled',
      'signed_in',
      'refused',
      'invited',
      'refused',
      'signed_out',
      'signed_in',
      'refused',
      'voted',
      'acted',
    ]);

    // The session's cookie is HttpOnly and SameSite=Strict.
    const cookie = (await context.cookies(origin)).find((c) => c.name === 'cutover_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // With that very cookie, a request from another origin, or without the session's token, does nothing.
    const headers = { cookie: `cutover_session=${cookie.value}`, 'content-type': 'application/json' };
    const forged = { run: runId, kind: 'approve', fields: { gateId: 'go', by: 'dana' } };
    const fromElsewhere = await fetch(`${origin}/sign-out`, { method: 'POST', headers: { ...headers, origin: 'https://evil.example' } });
    expect(fromElsewhere.status).toBe(403);
    expect(((await fromElsewhere.json()) as { error: string }).error).toBe(
      'this request came from https://evil.example, not from the page itself; nothing was done',
    );
    const noToken = await fetch(`${origin}/act/request`, { method: 'POST', headers: { ...headers, origin }, body: JSON.stringify(forged) });
    expect(noToken.status).toBe(403);
    const idHash = await sessionHash(cookie.value);
    expect((await store.webPeople.session(idHash, new Date().toISOString()))?.person).toBe('dana');
    // Her session ends (as at sign-out elsewhere or `cutover web revoke`): the open page stops its live updates and says so.
    await store.webPeople.endSession(idHash, new Date().toISOString());
    await expect
      .poll(() => page.textContent('#act-live'), { timeout: 20_000 })
      .toBe('Your session ended; sign in with your passkey again.');
    await context.close();
  }, 180_000);

  it('the lead resolves failed steps from the page (retry, done by hand, back out), signed with their passkey', async () => {
    const { context, page } = await phone();
    const { link } = await invitePerson(settings, 'lena');
    await page.goto(link);
    await page.click('#enrol');
    await page.locator('#runbook-line').waitFor({ state: 'visible', timeout: 20_000 });
    const passkey = /"(webauthn:[^"]+)"/.exec((await page.textContent('#runbook-line')) ?? '')![1]!;
    const [once, twice] = ['copy-failed-once', 'copy-failed-twice'].map((f) => path.join(path.dirname(databaseFile), f));
    const text = `
name: passkey-resolve
version: 1
lead: lead
roles: { lead: [lena] }
people:
  lena: { passkey: "${passkey}" }
signatures: required
backout: { policy: manual }
phases:
  - id: work
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: lead, action: { kind: shell, command: "test -f ${twice} || { if test -f ${once}; then touch ${twice}; else touch ${once}; fi; echo mount gone >&2; exit 3; }" }, backout: { kind: shell, command: "true" } }
      - { id: load, title: Load, owner: lead, depends_on: [copy], action: { kind: shell, command: "exit 4" } }
      - { id: verify, title: Verify, owner: lead, depends_on: [load], action: { kind: shell, command: "exit 5" } }
`;
    const { runId, handle } = await startReserved(h, store, text, 'lena');
    await waitForState(handle, (s) => s.steps.copy!.resolution !== undefined);
    await page.goto(`${origin}/act`);
    const failure = (step: string) => page.locator(`form.act-request[data-kind="resolve"][data-step="${step}"]`);
    const copy = failure('copy').first();
    await expect(copy.locator('h2').textContent()).resolves.toBe('Copy failed');
    expect(await copy.locator('pre.error').textContent()).toContain('mount gone');
    // A resolution needs a reason, as `cutover resolve --reason` does: without one nothing is sent.
    await copy.locator('button[value=retry]').click();
    expect(await copy.locator('output.recorded').textContent()).toBe(
      'Resolving a failure needs a reason: write it above, then tap your choice.',
    );
    // Two taps: Retry, and the passkey.
    await copy.locator('textarea[name=reason]').fill('the mount is back');
    await copy.locator('button[value=retry]').click();
    await expect.poll(() => copy.locator('output.recorded').textContent(), { timeout: 20_000 }).toBe('Recorded: lena retries copy');
    // It fails again: a new card beside the one that says what was recorded, and this retry goes through.
    const copyAgain = failure('copy').nth(1);
    await copyAgain.waitFor({ timeout: 20_000 });
    expect(await copy.locator('output.recorded').textContent()).toBe('Recorded: lena retries copy');
    await copyAgain.locator('textarea[name=reason]').fill('remounted read-write');
    await copyAgain.locator('button[value=retry]').click();
    await expect.poll(() => copyAgain.getAttribute('data-recorded'), { timeout: 20_000 }).toBe('resolve');
    // The next failure shows up on the open page by itself; this one is done by hand.
    const load = failure('load');
    await load.waitFor({ timeout: 20_000 });
    await load.locator('textarea[name=reason]').fill('loaded with the vendor tool');
    await load.locator('button[value=done]').click();
    await expect
      .poll(() => load.locator('output.recorded').textContent(), { timeout: 20_000 })
      .toBe('Recorded: lena recorded load as done by hand');
    // The third is backed out, from its own card.
    const verify = failure('verify');
    await verify.waitFor({ timeout: 20_000 });
    await verify.locator('textarea[name=reason]').fill('verify keeps failing');
    await verify.locator('button[value=backout]').click();
    await expect
      .poll(() => verify.locator('output.recorded').textContent(), { timeout: 20_000 })
      .toMatch(new RegExp(`^Recorded: lena requested back-out of ${runId}`));
    const { state } = await resultOf(handle);
    expect(state.status).toBe('backed_out');
    expect(state.steps.copy!.status).toBe('succeeded');
    // The decision log holds each as `cutover resolve` / `backout` would have recorded it, with the passkey's signature.
    expect(state.decisions.map((d) => [d.kind, d.by, d.target, d.reason, d.signature?.key])).toEqual([
      ['resolve', 'lena', 'copy: retry', 'the mount is back', passkey],
      ['resolve', 'lena', 'copy: retry', 'remounted read-write', passkey],
      ['resolve', 'lena', 'load: done', 'loaded with the vendor tool', passkey],
      ['request_backout', 'lena', undefined, 'verify keeps failing', passkey],
    ]);
    await context.close();
  }, 150_000);

  it('acknowledges a manual step, then opens, updates and resolves hypercare incidents from the page, signed with the passkey', async () => {
    const { context, page } = await phone();
    const { link } = await invitePerson(settings, 'hugo');
    await page.goto(link);
    await page.click('#enrol');
    await page.locator('#runbook-line').waitFor({ state: 'visible', timeout: 20_000 });
    const passkey = /"(webauthn:[^"]+)"/.exec((await page.textContent('#runbook-line')) ?? '')![1]!;
    const olga = newPasskey('localhost');
    const text = `
name: passkey-care
version: 1
lead: lead
roles: { lead: [hugo], ops: [olga] }
people:
  hugo: { passkey: "${passkey}" }
  olga: { passkey: "${olga.line}" }
signatures: required
phases:
  - id: go
    kind: migration
    steps:
      - { id: confirm, title: Confirm the first orders arrived, owner: lead, action: { kind: manual } }
hypercare:
  mttr: { sev1: 1h, sev2: 4h }
  exit: { approvers: [lead] }
`;
    const { runId, handle } = await startReserved(h, store, text, 'hugo');
    await page.goto(`${origin}/act`);
    const recorded = (form: Locator) => form.locator('output.recorded');

    // "I am on it": acknowledged with the passkey; the card then says who is on it, and so does the run page.
    const manual = page.locator('form.act-request[data-step="confirm"]');
    await manual.locator('button[value=ack]').click();
    await expect
      .poll(() => recorded(manual).textContent(), { timeout: 20_000 })
      .toBe('Recorded: hugo acknowledged confirm: the run shows them on it and does not escalate it');
    await expect.poll(() => manual.locator('p.on-it').textContent(), { timeout: 20_000 }).toMatch(/^On it: hugo since \d\d:\d\d UTC$/);
    expect(await manual.locator('button[value=ack]').count()).toBe(0);
    expect(await recorded(manual).textContent()).toMatch(/^Recorded: hugo acknowledged confirm/);
    expect(await (await fetch(`${origin}/runs/${runId}`)).text()).toMatch(/on it: hugo since \d\d:\d\d UTC/);
    // As the lead, his page lists who is on what in the run.
    await expect
      .poll(() => page.locator('div.waits li[data-step="confirm"] .on-it').textContent(), { timeout: 20_000 })
      .toMatch(/^on it: hugo since \d\d:\d\d UTC$/);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await manual.locator('button[value=done]').click();
    await expect.poll(() => recorded(manual).textContent(), { timeout: 20_000 }).toBe('Recorded: hugo marked confirm done');

    // The run went live and is in hypercare: the page offers to open an incident. A severity the run does not know
    // (sent as a changed page would) is refused in one sentence, and nothing is recorded.
    const opening = page.locator('form.act-request[data-kind="incident-open"]');
    await opening.waitFor({ timeout: 20_000 });
    await page.evaluate(`(() => {
      const select = document.querySelector('form[data-kind="incident-open"] select[name=severity]');
      select.add(new Option('sev5', '5'));
      select.value = '5';
    })()`);
    await opening.locator('input[name=title]').fill('Invoices late');
    await opening.locator('button[value=open]').click();
    await expect
      .poll(() => recorded(opening).textContent(), { timeout: 20_000 })
      .toBe('Not recorded: the run refused it: severity 5 is not one of 1, 2, 3, 4 (1 is the worst)');
    await opening.locator('select[name=severity]').selectOption('2');
    await opening.locator('input[name=step]').fill('confirm');
    await opening.locator('input[name=external]').fill('JIRA-7');
    await opening.locator('button[value=open]').click();
    await expect
      .poll(() => recorded(opening).textContent(), { timeout: 20_000 })
      .toBe('Recorded: hugo opened INC-1 (sev2, owner lead): Invoices late');
    // The open incident shows up with its severity, owner, age and target; one column at 375 px.
    const inc1 = page.locator('form.act-request[data-incident="INC-1"]');
    await expect.poll(() => inc1.locator('h2').textContent(), { timeout: 20_000 }).toBe('sev2 Invoices late');
    expect(await inc1.locator('p.facts').textContent()).toMatch(/^Owner lead · open for [\dhm]*\d+s · within target · JIRA-7$/);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);

    // Updated: an ETA, a note, another owner; the card then shows them.
    await inc1.locator('input[name=eta]').fill('2030-01-02T10:30');
    await inc1.locator('select[name=owner]').selectOption('ops');
    await inc1.locator('textarea[name=reason]').fill('paged the vendor');
    await inc1.locator('button[value=update]').click();
    await expect
      .poll(() => recorded(inc1).textContent(), { timeout: 20_000 })
      .toBe('Recorded: hugo updated INC-1 (sev2, owner ops): Invoices late');
    await expect.poll(() => inc1.locator('p.last-note').textContent(), { timeout: 20_000 }).toBe('Last note (hugo): paged the vendor');
    expect(await inc1.locator('p.facts').textContent()).toMatch(
      /^Owner ops · open for [\dhm]*\d+s · within target · ETA 2030-01-02 \d\d:30:00 UTC · JIRA-7$/,
    );
    // Resolved by the lead.
    await inc1.locator('textarea[name=reason]').fill('the vendor fixed the feed');
    await inc1.locator('button[value=resolve]').click();
    await expect
      .poll(() => recorded(inc1).textContent(), { timeout: 20_000 })
      .toMatch(/^Recorded: hugo resolved INC-1 \(sev2, owner ops\) after [\dhms]+: Invoices late$/);

    // Olga opens one from elsewhere; it shows up on Hugo's open page. His page then stops following the run, Olga
    // resolves it, and his tap on the stale card is refused in one sentence.
    const sendAsOlga = (change: IncidentChange) =>
      sendPersonRequest(handle, { kind: 'incident', as: 'olga', change }, (kind, fields) =>
        passkeySign(olga, runId, kind, fields, { origin }),
      );
    await sendAsOlga({ action: 'open', severity: 4, title: 'Footer typo', owner: 'ops' });
    const inc2 = page.locator('form.act-request[data-incident="INC-2"]');
    await expect.poll(() => inc2.locator('h2').textContent(), { timeout: 20_000 }).toBe('sev4 Footer typo');
    await page.route(`${origin}/act/events`, (route) => route.abort());
    await page.reload();
    await sendAsOlga({ action: 'resolve', incidentId: 'INC-2' });
    await inc2.locator('button[value=resolve]').click();
    await expect
      .poll(() => recorded(inc2).textContent(), { timeout: 20_000 })
      .toMatch(/^Not recorded: the run refused it: incident INC-2 was already resolved at \S+ by olga$/);

    // Each is in the decision log, signed with the passkey that made it.
    const { state } = await readRunState(handle);
    expect(state.decisions.map((d) => [d.kind, d.by, d.target, d.reason, d.signature?.key])).toEqual([
      ['acknowledge', 'hugo', 'confirm', undefined, passkey],
      ['complete_manual', 'hugo', 'confirm', undefined, passkey],
      ['incident', 'hugo', 'INC-1 (open)', 'Invoices late', passkey],
      ['incident', 'hugo', 'INC-1 (update)', 'paged the vendor', passkey],
      ['incident', 'hugo', 'INC-1 (resolve)', 'the vendor fixed the feed', passkey],
      ['incident', 'olga', 'INC-2 (open)', 'Footer typo', olga.line],
      ['incident', 'olga', 'INC-2 (resolve)', undefined, olga.line],
    ]);
    expect(state.hypercare!.incidents[0]).toMatchObject({
      owner: 'ops',
      step: 'confirm',
      external: 'JIRA-7',
      status: 'resolved',
      resolvedBy: 'hugo',
    });
    expect(state.hypercare!.incidents[0]!.eta).toMatch(/^2030-01-02T\d\d:30:00\.000Z$/);

    // Both resolved: the exit's criteria hold, and the lead ends hypercare from the page, signed like any vote.
    await page.unroute(`${origin}/act/events`);
    await page.reload();
    const exit = page.locator('form.act-request[data-gate="hypercare-exit"]');
    await expect
      .poll(() => exit.locator('h2').textContent(), { timeout: 30_000 })
      .toBe('Leave hypercare: is the new system in steady state?');
    expect(await exit.locator('button[value=reject]').textContent()).toBe('Not yet');
    await exit.locator('textarea[name=reason]').fill('steady for a week');
    await exit.locator('button[value=approve]').click();
    await expect
      .poll(() => recorded(exit).textContent(), { timeout: 20_000 })
      .toBe(`Recorded: hugo approved hypercare-exit: hypercare is over, ${runId} ends`);
    const ended = await resultOf(handle);
    expect(ended.state.status).toBe('completed');
    expect(ended.state.decisions.at(-1)).toMatchObject({
      kind: 'approve',
      by: 'hugo',
      target: 'hypercare-exit',
      reason: 'steady for a week',
      signature: { key: passkey },
    });
    await context.close();
  }, 150_000);

  it('limits sign-in attempts from one address', async () => {
    const port = await freePort();
    const at = `http://localhost:${port}`;
    const page2 = await serveStatusPage({ port, host: '127.0.0.1', store, people: actSettings(at) });
    try {
      const ask = () => fetch(`${page2.url}/sign-in/options`, { method: 'POST', headers: { origin: at } });
      for (let i = 0; i < 20; i += 1) expect((await ask()).status).toBe(200);
      const limited = await ask();
      expect(limited.status).toBe(429);
      expect(((await limited.json()) as { error: string }).error).toBe(
        'too many sign-in attempts from this address; wait a minute and try again',
      );
    } finally {
      await page2.close();
    }
  });

  it('refuses votes and sign-ins over plain HTTP beyond loopback, in a browser that reaches it by name', async () => {
    const port = await freePort();
    const plain = `http://cutover.test:${port}`;
    const page2 = await serveStatusPage({ port, host: '127.0.0.1', store, people: actSettings(plain) });
    // The browser finds cutover.test at this machine: a host name that is not loopback, over plain HTTP.
    const far = await launchChromium(['--host-resolver-rules=MAP cutover.test 127.0.0.1']);
    const refusal =
      /^this page takes votes and sign-ins over https only, and it is reached over plain HTTP at http:\/\/cutover\.test:\d+: serve it/;
    try {
      const page = await far.newPage();
      await page.goto(`${plain}/sign-in`);
      expect(await page.evaluate('window.isSecureContext')).toBe(false);
      await page.click('#sign-in');
      await expect.poll(() => page.textContent('#act-status'), { timeout: 20_000 }).toMatch(/^Not signed in: this page takes votes/);
      expect((await page.textContent('#act-status'))!.replace(/^Not signed in: /, '')).toMatch(refusal);
      // A vote sent from the page itself (its own origin) is refused the same way, before anything else is looked at.
      const vote = await page.evaluate<{ status: number; error: string }>(
        `fetch('/act/request', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
          .then((r) => r.json().then((body) => ({ status: r.status, error: body.error })))`,
      );
      expect(vote.status).toBe(403);
      expect(vote.error).toMatch(refusal);
    } finally {
      await far.close();
      await page2.close();
    }
  });
});

/**
 * Another origin on this machine (a loopback port of its own) with two pages that post `request` to the page's vote
 * endpoint from the visitor's browser: `/form` submits a form by itself, `/fetch` sends it from a script with the
 * browser's cookies.
 */
async function hostilePage(target: string, request: object): Promise<{ url: string; close(): Promise<void> }> {
  const endpoint = `${target}/act/request`;
  const pages: Record<string, string> = {
    '/form': `<form method="post" action="${endpoint}"><input name="request" value='${JSON.stringify(request)}'></form>
<script>document.forms[0].submit()</script>`,
    '/fetch': `<script>fetch(${JSON.stringify(endpoint)}, { method: 'POST', mode: 'no-cors', credentials: 'include',
  headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(JSON.stringify(request))} })</script>`,
  };
  const server = createHttpServer((req, res) => {
    res.writeHead(pages[req.url ?? ''] ? 200 : 404, { 'content-type': 'text/html' }).end(pages[req.url ?? ''] ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // localhost, as the page: another origin (the port) of the same site, so the browser sends the SameSite cookie.
  return { url: `http://localhost:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function sessionHash(id: string): Promise<string> {
  const { secretHash } = await import('../web/people-session.js');
  return secretHash(id);
}
