/**
 * `cutover web` and CUTOVER_WEB_TOKEN as a user meets them: the built command in its own process. Without a token
 * it refuses to listen beyond loopback; a token too short is a configuration error; with a good one it starts,
 * says a token is required and how to share the page, and never prints the token.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inspectSettings, readSettings } from '../cli/settings.js';
import { cliEnv, eventually, killStartedCli, runCli, startCli } from './support/cli.js';

const TOKEN = 'a3f1c9e07b2d4e6f8091a2b3c4d5e6f7';

afterEach(() => killStartedCli());

describe('cutover web without a token', () => {
  it('refuses to listen where other machines could read the page, exit 2', () => {
    const result = runCli(['web', '--host', '0.0.0.0', '--port', '0'], cliEnv());
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trim()).toBe(
      'cutover: without a token the status page would be readable by anyone who can reach 0.0.0.0: set CUTOVER_WEB_TOKEN ' +
        '(a long random one, such as the output of `openssl rand -hex 24`), or listen on 127.0.0.1 behind your own proxy',
    );
    expect(result.stdout).toBe('');
  });

  it('serves on loopback and says it has no token', async () => {
    const web = startCli(['web', '--port', '0'], cliEnv());
    const output = await eventually(web.output, (o) => o.includes('Ctrl-C'), 60_000, 'the start line');
    expect(output).toContain('no token');
    const url = /status page on (http:\/\/\S+) /.exec(output)![1]!;
    expect((await fetch(`${url}/api/runs`)).status).toBe(200);
  });
});

describe('CUTOVER_WEB_TOKEN', () => {
  it('shorter than 16 characters is a configuration error for `cutover web`, exit 6', () => {
    const result = runCli(['web', '--port', '0'], cliEnv({ CUTOVER_WEB_TOKEN: 'short-token' }));
    expect(result.code, result.stderr).toBe(6);
    const message = result.stderr.trim();
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/^cutover: CUTOVER_WEB_TOKEN is shorter than 16 characters.*`openssl rand -hex 24`/);
    expect(message).not.toContain('short-token');
  });

  it('does not stop the commands that do not use it, and `doctor` would list it', () => {
    const result = runCli(['list', '--json'], cliEnv({ CUTOVER_WEB_TOKEN: 'short-token' }));
    expect(result.code, result.stderr).toBe(0);
    const { problems } = inspectSettings({ CUTOVER_WEB_TOKEN: 'has a space in it, long enough' }, '/tmp');
    expect(problems).toEqual([{ setting: 'CUTOVER_WEB_TOKEN', message: expect.stringMatching(/only letters, digits and - \. _ ~/) }]);
    expect(readSettings({ CUTOVER_WEB_TOKEN: TOKEN }, '/tmp').webToken).toBe(TOKEN);
    expect(readSettings({ CUTOVER_WEB_TOKEN: '' }, '/tmp').webToken).toBeUndefined();
  });

  it('refuses to send it in plain HTTP beyond loopback, exit 2', () => {
    const result = runCli(['web', '--host', '0.0.0.0', '--port', '0'], cliEnv({ CUTOVER_WEB_TOKEN: TOKEN }));
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trim()).toBe(
      "cutover: in plain HTTP on 0.0.0.0 the page's token would cross the network readable by anyone on the way: give --tls-cert and " +
        '--tls-key so the page serves https, or --tls-proxy if a TLS proxy in front of it serves https, or listen on 127.0.0.1',
    );
    expect(result.stdout).toBe('');
  });

  it('with --tls-cert and --tls-key, serves https beyond loopback', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-web-tls-'));
    const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ]),
      { stdio: 'ignore' },
    );
    const web = startCli(
      ['web', '--port', '0', '--host', '0.0.0.0', '--tls-cert', cert, '--tls-key', key],
      cliEnv({ CUTOVER_WEB_TOKEN: TOKEN }),
    );
    const output = await eventually(web.output, (o) => o.includes('Ctrl-C'), 60_000, 'the start line');
    const url = /status page on (https:\/\/\S+) /.exec(output)![1]!.replace('0.0.0.0', '127.0.0.1');
    const get = (headers: Record<string, string>) =>
      new Promise<{ status: number; cookie: string | undefined }>((resolve, reject) => {
        request(`${url}/?token=${TOKEN}`, { ca: readFileSync(cert), headers }, (res) => {
          res.resume();
          resolve({ status: res.statusCode!, cookie: res.headers['set-cookie']?.[0] });
        })
          .on('error', reject)
          .end();
      });
    const answer = await get({});
    expect(answer.status).toBe(303);
    expect(answer.cookie).toMatch(/; Secure/);
    // Plain HTTP on the same port gets no page.
    await expect(fetch(url.replace('https:', 'http:'))).rejects.toThrow();
    expect(web.output()).not.toContain(TOKEN);
  });

  it('with a good token, the page starts, says a token is required, and never prints it', async () => {
    // --tls-proxy: a TLS proxy in front serves https; the page listens in plain HTTP and marks its cookie Secure.
    const web = startCli(['web', '--port', '0', '--host', '0.0.0.0', '--tls-proxy'], cliEnv({ CUTOVER_WEB_TOKEN: TOKEN }));
    const output = await eventually(web.output, (o) => o.includes('Ctrl-C'), 60_000, 'the start line');
    expect(output).toContain('token required');
    const url = /status page on (http:\/\/\S+) /.exec(output)![1]!;
    expect(output).toContain(`share it as ${url}/?token=<CUTOVER_WEB_TOKEN>`);
    const local = url.replace('0.0.0.0', '127.0.0.1');
    expect((await fetch(`${local}/api/runs`)).status).toBe(401);
    const allowed = await fetch(`${local}/api/runs`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual([]);
    web.kill('SIGTERM');
    expect(await web.exited).toBe(0);
    expect(web.output()).not.toContain(TOKEN);
  });
});
