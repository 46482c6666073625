/**
 * `cutover codec-server` with the stock `temporal` CLI: a run started by a worker with CUTOVER_PAYLOAD_KEY keeps no
 * plaintext in its history; `temporal workflow show --codec-endpoint ... --codec-auth 'Bearer TOKEN'` shows its input
 * decrypted, and without the token the server refuses and nothing is decrypted. Plus the browser's side: CORS only
 * for the configured UI origin.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, eventually, killStartedCli, PROJECT, runCli, startCli, startWorkerCli } from './support/cli.js';
import { temporalAddress, temporalNamespace } from './support/temporal.js';

afterEach(killStartedCli);

const TOKEN = randomBytes(24).toString('hex');
const UI = 'https://temporal-ui.example.test';
const MARKER = 'codec-visible-marker-7f3a';

function temporal(...args: string[]): { code: number | null; output: string } {
  const bin = path.join(PROJECT, '.tools', 'bin', 'temporal');
  const result = spawnSync(bin, [...args, '--address', temporalAddress(), '--namespace', temporalNamespace()], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The text of every payload in `temporal workflow show --output json` (the CLI prints payload data as base64). */
function payloadTexts(output: string): string {
  const texts: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (typeof record.data === 'string' && record.metadata) texts.push(Buffer.from(record.data, 'base64').toString('utf8'));
      Object.values(record).forEach(visit);
    }
  };
  visit(JSON.parse(output));
  return texts.join('\n');
}

describe('cutover codec-server', () => {
  it('lets the stock temporal CLI show a run encrypted with CUTOVER_PAYLOAD_KEY, with its token only', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-codec-'));
    const name = `codec-${Date.now().toString(36)}`;
    writeFileSync(
      path.join(dir, 'runbook.yaml'),
      `name: ${name}
version: 1
lead: lead
roles: { lead: [alice] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: lead, expected: 1s, action: { kind: shell, command: "echo ${MARKER}" } }
`,
    );
    const env = cliEnv({
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: temporalNamespace(),
      CUTOVER_TASK_QUEUE: name,
      CUTOVER_PAYLOAD_KEY: randomBytes(32).toString('base64'),
      CUTOVER_CODEC_TOKEN: TOKEN,
    });
    await startWorkerCli([], env, dir);
    const rehearse = startCli(['rehearse', 'runbook.yaml', '--auto-approve', '--as', 'alice'], env, dir);
    expect(await rehearse.exited, rehearse.output()).toBe(0);
    const id = `${name}-1`;

    // The premise: without the codec, the history holds no plaintext of the runbook.
    const plain = temporal('workflow', 'show', '--workflow-id', id, '--output', 'json');
    expect(plain.code, plain.output).toBe(0);
    expect(payloadTexts(plain.output)).not.toContain(MARKER);

    const server = startCli(['codec-server', '--port', '0', '--ui-origin', UI], env, dir);
    const line = await eventually(server.output, (o) => o.includes('Ctrl-C'), 60_000, 'the codec server');
    expect(line).not.toContain(TOKEN);
    const url = /codec server on (http:\/\/\S+) /.exec(line)![1]!;

    const decoded = temporal(
      'workflow',
      'show',
      '--workflow-id',
      id,
      '--output',
      'json',
      '--codec-endpoint',
      url,
      '--codec-auth',
      `Bearer ${TOKEN}`,
    );
    expect(decoded.code, decoded.output).toBe(0);
    // The step's command, in the input of the activity that ran it.
    expect(payloadTexts(decoded.output)).toContain(`echo ${MARKER}`);

    // The memo too: the client encrypts it with the key (its entries say `binary/encrypted` without the codec).
    const memo = (output: string): string =>
      JSON.stringify((JSON.parse(output) as { workflowExecutionInfo?: { memo?: unknown } }).workflowExecutionInfo?.memo ?? null);
    const describePlain = temporal('workflow', 'describe', '--workflow-id', id, '--output', 'json', '--raw');
    expect(describePlain.code, describePlain.output).toBe(0);
    expect(memo(describePlain.output)).toContain(Buffer.from('binary/encrypted').toString('base64'));
    expect(payloadTexts(memo(describePlain.output))).not.toContain(name);

    const refused = temporal(
      'workflow',
      'show',
      '--workflow-id',
      id,
      '--output',
      'json',
      '--codec-endpoint',
      url,
      '--codec-auth',
      'Bearer wrong-token-0123456789',
    );
    expect(refused.output).not.toContain(MARKER);
    expect(refused.code === 0 ? payloadTexts(refused.output) : '').not.toContain(MARKER);
    const direct = await fetch(`${url}/decode`, {
      method: 'POST',
      body: '{"payloads":[]}',
      headers: { 'content-type': 'application/json' },
    });
    expect(direct.status).toBe(401);

    // The UI's preflight: allowed for its origin, not for another.
    const preflight = (origin: string) =>
      fetch(`${url}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-namespace',
        },
      });
    const allowed = await preflight(UI);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(UI);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/i);
    expect((await preflight('https://elsewhere.example.test')).headers.get('access-control-allow-origin')).toBeNull();
  }, 180_000);

  it('refuses to start without a token, and in plain HTTP beyond loopback', () => {
    const key = randomBytes(32).toString('base64');
    const noToken = runCli(['codec-server', '--port', '0'], cliEnv({ CUTOVER_PAYLOAD_KEY: key }));
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/^cutover: set CUTOVER_CODEC_TOKEN to a long random token/);
    const open = runCli(
      ['codec-server', '--port', '0', '--host', '0.0.0.0'],
      cliEnv({ CUTOVER_PAYLOAD_KEY: key, CUTOVER_CODEC_TOKEN: TOKEN }),
    );
    expect(open.code).toBe(2);
    expect(open.stderr.trim()).toBe(
      'cutover: in plain HTTP on 0.0.0.0 the token and the decrypted payloads would cross the network: give --tls-cert and --tls-key, or --tls-proxy if a TLS proxy in front serves https, or listen on 127.0.0.1',
    );
  });
});
