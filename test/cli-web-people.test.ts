/**
 * `cutover web invite|revoke|people` through the built CLI against a real SQLite record store: the invite prints a
 * one-time link that the page would take, `people` lists who enrolled with the line for the runbook, `revoke` ends
 * their sign-in and sessions; bad input is one sentence and a non-zero exit. And the whole way as a lead does it:
 * `cutover web` running as its own process, a person invited through the CLI, enrolled and signed in in Chromium with
 * a virtual authenticator, and `cutover web people` listing them with their last sign-in.
 */
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openRecordStore } from '../prisma/store.js';
import { secretHash } from '../web/people-session.js';
import { launchChromium, passkeyPhone } from './support/chromium.js';
import { cliEnv, eventually, killStartedCli, runCli, startCli } from './support/cli.js';
import { newPasskey } from './support/passkey.js';

afterEach(killStartedCli);

describe('cutover web invite|revoke|people', () => {
  it('invites, lists and revokes', async () => {
    const env = cliEnv({ CUTOVER_WEB_ORIGIN: 'https://cutover.example.com' });
    const none = runCli(['web', 'people'], env);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe('nobody has enrolled on the page yet; `cutover web invite PERSON` makes a link\n');

    const invited = runCli(['web', 'invite', 'dana'], env);
    expect(invited.code, invited.stderr).toBe(0);
    const link = /: (https:\/\/cutover\.example\.com\/enrol\/([A-Za-z0-9_-]{43}))\n/.exec(invited.stdout);
    expect(link, invited.stdout).not.toBeNull();
    const store = await openRecordStore({ databaseUrl: `file:${path.join(env.CUTOVER_HOME!, 'cutover.db')}` });
    try {
      // The store keeps the link's hash only, and takes the link now: it expires in 24 hours.
      const found = await store.webPeople.peekInvite(secretHash(link![2]!), new Date().toISOString());
      expect(found).toEqual({ person: 'dana' });
      const later = new Date(Date.now() + 24 * 60 * 60 * 1000 + 1000).toISOString();
      expect(await store.webPeople.peekInvite(secretHash(link![2]!), later)).toEqual({ refused: 'expired', person: 'dana' });
      const passkey = newPasskey();
      await store.webPeople.enrol({
        name: 'dana',
        credentialId: passkey.credential,
        publicKey: 'AA',
        passkey: passkey.line,
        counter: 0,
        enrolledAt: '2026-12-05T20:00:00.000Z',
      });
      await store.webPeople.signIn('dana', 1, { idHash: 'h1', csrf: 'c', at: new Date().toISOString(), expiresAt: later });
      expect(await store.webPeople.session('h1', new Date().toISOString())).toMatchObject({ person: 'dana' });

      const listed = runCli(['web', 'people'], env);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(
        new RegExp(`^dana: enrolled 2026-12-05T20:00:00.000Z, last signed in \\S+Z\n  dana: \\{ passkey: "${passkey.line}" \\}\n$`),
      );
      const revoked = runCli(['web', 'revoke', 'dana'], env);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stdout).toContain('dana can no longer sign in to the page; their sessions ended.');
      expect(await store.webPeople.session('h1', new Date().toISOString())).toBeUndefined();
      expect(runCli(['web', 'people'], env).stdout).toMatch(/^dana: enrolled \S+, revoked \S+Z\n/);
      expect((await store.webPeople.events('dana')).map((e) => e.kind)).toEqual(['invited', 'enrolled', 'signed_in', 'revoked']);
    } finally {
      await store.close();
    }

    const nobody = runCli(['web', 'revoke', 'bob'], env);
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toBe('cutover: bob never enrolled on the page; `cutover web people` lists who did\n');
    const badOrigin = runCli(['web', 'invite', 'dana', '--origin', 'https://cutover.example.com/page'], env);
    expect(badOrigin.code).not.toBe(0);
    expect(badOrigin.stderr).toBe(
      'cutover: --origin https://cutover.example.com/page is not an origin; give only the scheme, host and port, such as https://cutover.example.com:8443\n',
    );
  }, 120_000);

  it('a person invited through the CLI enrols and signs in on `cutover web`, and `people` lists the sign-in', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const origin = `http://localhost:${port}`;
    const env = cliEnv();
    const web = startCli(['web', '--port', String(port)], env);
    await eventually(
      () => web.output(),
      (o) => o.includes(`people sign in with their passkeys at ${origin}/sign-in`),
      60_000,
      'the page to serve',
    );
    // The page takes sign-ins at http://localhost:PORT by itself; the invite names the same origin.
    const invited = runCli(['web', 'invite', 'dana', '--origin', origin], env);
    expect(invited.code, invited.stderr).toBe(0);
    const link = new RegExp(`: (${origin}/enrol/[A-Za-z0-9_-]{43})\\n`).exec(invited.stdout)![1]!;

    const browser = await launchChromium();
    try {
      const { page } = await passkeyPhone(browser);
      await page.goto(link);
      await page.click('#enrol');
      await page.locator('#runbook-line').waitFor({ state: 'visible', timeout: 20_000 });
      const line = (await page.textContent('#runbook-line'))!;
      await page.goto(`${origin}/act`);
      await page.click('#sign-out');
      await page.waitForURL(`${origin}/sign-in`);
      const before = new Date().toISOString();
      await page.click('#sign-in');
      await page.waitForURL(`${origin}/act`, { timeout: 20_000 });
      expect(await page.textContent('h1')).toBe('dana');

      const people = runCli(['web', 'people'], env);
      expect(people.code, people.stderr).toBe(0);
      const listed = /^dana: enrolled (\S+Z), last signed in (\S+Z)\n {2}(.*)\n$/.exec(people.stdout);
      expect(listed, people.stdout).not.toBeNull();
      expect(listed![2]! >= before).toBe(true);
      expect(listed![3]).toBe(line);
    } finally {
      await browser.close();
    }
    web.kill('SIGTERM');
    expect(await web.exited).toBe(0);
  }, 120_000);
});
