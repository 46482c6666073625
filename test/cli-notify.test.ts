/**
 * `cutover notify test RUNBOOK` as a user runs it (the built CLI, its own process), against a real HTTP receiver
 * started here: one line per channel, exit 0 when every channel took its message, 10 otherwise.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../notify/signature.js';
import { cliEnv, killStartedCli, startCli } from './support/cli.js';

const received: Array<{ path: string; headers: IncomingHttpHeaders; body: string }> = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(req.url === '/refuses' ? 403 : 200).end(req.url === '/refuses' ? 'unknown hook' : 'ok');
  });
});
let base: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(killStartedCli);

function writeRunbook(channels: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-notify-cli-'));
  const file = path.join(dir, 'runbook.yaml');
  writeFileSync(
    file,
    [
      'name: crm',
      'version: 1',
      'lead: lead',
      'roles: { lead: [ana] }',
      'notifications:',
      '  channels:',
      ...channels.map((c) => `    ${c}`),
      'phases:',
      '  - id: prep',
      '    kind: preparation',
      '    steps:',
      '      - { id: backup, title: Back up, owner: lead, expected: 5m, action: { kind: manual } }',
      '',
    ].join('\n'),
  );
  return file;
}

async function notifyTest(file: string, extra: Record<string, string> = {}) {
  const cli = startCli(['notify', 'test', file], cliEnv(extra));
  const code = await cli.exited;
  return { code, output: cli.output() };
}

describe('cutover notify test', () => {
  it('sends one signed test message per channel and exits 0 when all were delivered', async () => {
    const file = writeRunbook([
      `hook: { kind: webhook, url: '${base}/hook', secret: '\${env:HOOK_SECRET}' }`,
      `script: { kind: command, command: 'cat > "$CUTOVER_IDEMPOTENCY_KEY.json"' }`,
    ]);
    const { code, output } = await notifyTest(file, { HOOK_SECRET: 'secret-for-the-test' });
    expect(output).toMatch(/^delivered {2}hook {4}\(webhook\) 127\.0\.0\.1:\d+ answered 200$/m);
    expect(output).toMatch(/^delivered {2}script {2}\(command\) the command exited 0$/m);
    expect(code).toBe(0);
    const hook = received.filter((r) => r.path === '/hook');
    expect(hook).toHaveLength(1);
    const signed = verifySignature(
      'secret-for-the-test',
      { signature: hook[0]!.headers['x-cutover-signature'] as string, timestamp: hook[0]!.headers['x-cutover-timestamp'] as string },
      hook[0]!.body,
      Math.floor(Date.now() / 1000),
    );
    expect(signed).toBe(true);
    expect(JSON.parse(hook[0]!.body).event).toMatchObject({ kind: 'test', runbook: 'crm' });
  });

  it('says which channels failed and why, one line each, and exits 10', async () => {
    const file = writeRunbook([
      `good: { kind: slack, url: '${base}/slack' }`,
      `unset: { kind: webhook, url: '${base}/hook2', secret: '\${env:CUTOVER_TEST_UNSET_SECRET}' }`,
      `refuses: { kind: teams, url: '${base}/refuses' }`,
      `script: { kind: command, command: 'echo no route to pager >&2; exit 3' }`,
    ]);
    const { code, output } = await notifyTest(file);
    const lines = output.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^delivered {2}good {5}\(slack\) 127\.0\.0\.1:\d+ answered 200$/),
      expect.stringMatching(
        /^FAILED {5}unset {4}\(webhook\) \$\{env:CUTOVER_TEST_UNSET_SECRET\} is not set on .+; set it where the worker \(or `cutover notify test`\) runs$/,
      ),
      expect.stringMatching(
        /^FAILED {5}refuses {2}\(teams\) 127\.0\.0\.1:\d+ answered 403 Forbidden: unknown hook; it refused the message, so it is not sent again$/,
      ),
      'FAILED     script   (command) the command exited 3: no route to pager',
      'cutover: 3 of 4 channels did not take the test message; fix what each line says and run this again',
    ]);
    expect(code).toBe(10);
    expect(received.some((r) => r.path === '/hook2')).toBe(false);
  });

  it('refuses a misconfigured channel as a located runbook problem, before sending anything', async () => {
    const file = writeRunbook([`hook: { kind: webhook, url: 'not a url', secret: '\${env:S}' }`]);
    const { code, output } = await notifyTest(file);
    expect(output).toMatch(/runbook\.yaml:7:\d+ notifications\.channels\.hook\.url: `not a url` is not a URL/);
    expect(code).toBe(3);
  });
});
