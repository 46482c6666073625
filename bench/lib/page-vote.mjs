// A person voting from the page (issue 19) for bench/approval.mjs: the status page served with named sign-in, a
// headless Chromium at 375 px with the DevTools virtual authenticator (CTAP2, internal, user verification on), the
// person enrolled from a one-time link; then each vote is a tap on Approve, the passkey's assertion, the request
// forwarded to the run, and "Recorded" on the page.
import { createServer } from 'node:net';
import { launchChromium, passkeyPhone } from './chromium.mjs';
import { dist } from './support.mjs';

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Serves the page on `bench`'s store and Temporal, enrols `person` in Chromium; returns their passkey line and a voter. */
export async function startPageVoter(bench, person) {
  const { openRecordStore } = await dist('prisma/store.js');
  const { serveStatusPage, invitePerson } = await dist('web/server.js');
  const { forwardSignedRequest } = await dist('common/forward-request.js');
  const { readRunState } = await dist('common/read-run-state.js');
  const store = await openRecordStore({ databaseUrl: bench.databaseUrl });
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const people = {
    people: store.webPeople,
    origin,
    rpId: 'localhost',
    forward: (runId, kind, fields) => forwardSignedRequest(bench.client.workflow.getHandle(runId), kind, fields),
  };
  const liveState = async (runId) => (await readRunState(bench.client.workflow.getHandle(runId))).state;
  const server = await serveStatusPage({ port, host: '127.0.0.1', store, liveState, people });
  const browser = await launchChromium();
  const { page } = await passkeyPhone(browser);
  const { link } = await invitePerson(people, person);
  await page.goto(link);
  await page.click('#enrol');
  await page.locator('#runbook-line').waitFor({ state: 'visible', timeout: 30_000 });
  const line = /"(webauthn:[^"]+)"/.exec((await page.textContent('#runbook-line')) ?? '')?.[1];
  if (!line) throw new Error('the page showed no passkey line after enrolment');
  return {
    passkey: line,
    /** Opens the acting view (the gates open now). */
    async open() {
      await page.goto(`${origin}/act`);
    },
    /** Taps Approve on `gateId` and waits for the page to say what the run recorded; resolves to the milliseconds. */
    async approve(gateId) {
      const card = page.locator(`form.act-request[data-gate="${gateId}"]`);
      const started = performance.now();
      await card.locator('button[value=approve]').click();
      await card.locator('output.recorded', { hasText: /^(Recorded|Not recorded)/ }).waitFor({ timeout: 30_000 });
      const ms = performance.now() - started;
      const said = (await card.locator('output.recorded').textContent()) ?? '';
      if (!said.startsWith('Recorded: ')) throw new Error(`the page said: ${said}`);
      return ms;
    },
    async close() {
      await browser.close();
      await server.close();
      await store.close();
    },
  };
}
