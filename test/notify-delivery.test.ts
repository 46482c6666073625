/**
 * Delivery through the `deliverNotification` activity on a real Temporal worker (retries are Temporal's), into real
 * receivers started here: an HTTP receiver that verifies the webhook's HMAC, Slack- and Teams-shaped receivers, and
 * an SMTP server that takes the e-mail over STARTTLS. Attempts are recorded in a real SQLite record store.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliveryActivities } from '../activities/deliver-notification.js';
import type { DeliveryOutcome, DeliveryRequest } from '../activities/types.js';
import { deliveryInputs } from '../notify/deliveries.js';
import type { NotificationEvent } from '../notify/event.js';
import { verifySignature } from '../notify/signature.js';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { parseRunbook } from '../runbook/parse.js';
import { installQuietRuntime } from '../worker/create-worker.js';
import { temporalAddress } from './support/temporal.js';
import { migratedStoreAt } from './support/store-template.js';

const HOOK_SECRET = 'hook-secret-0123456789';
const SMTP_PASSWORD = 'smtp-password-42';
const fixtures = path.resolve(import.meta.dirname, 'fixtures/notify');

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP receiver on `port` (0: any) that keeps every request and answers 200. */
async function startReceiver(port = 0): Promise<{ server: Server; port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, received };
}

async function freePort(): Promise<number> {
  const { server, port } = await startReceiver();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let store: RecordStore;
let worker: Worker;
let running: Promise<void>;
let native: NativeConnection;
let client: Client;
const taskQueue = `notify-${randomUUID()}`;
const dir = mkdtempSync(path.join(tmpdir(), 'cutover-notify-'));

beforeAll(async () => {
  store = await openRecordStore({ databaseUrl: migratedStoreAt(path.join(dir, 'cutover.db')) });
  installQuietRuntime();
  native = await NativeConnection.connect({ address: temporalAddress() });
  worker = await Worker.create({
    connection: native,
    namespace: 'default',
    taskQueue,
    workflowsPath: path.resolve(import.meta.dirname, 'support/notify-workflow.ts'),
    activities: createDeliveryActivities({ store, env: { ...process.env, HOOK_SECRET, SMTP_PASSWORD } }),
  });
  running = worker.run();
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await native?.close();
  await client?.connection.close();
  await store?.close();
});

function runbookWith(channels: string, routes: string): ReturnType<typeof parseRunbook> {
  const text = `
name: crm
version: 1
lead: lead
roles:
  lead: [ana]
  approvers: [ben]
people:
  ben: { email: ben@example.com, slack: U0BEN }
notifications:
  public_url: https://cutover.example.com
  channels:
${channels.replace(/^/gm, '    ')}
  routes:
${routes.replace(/^/gm, '    ')}
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go-live, title: Go live, owner: lead, expected: 5m, gate: { approvers: [approvers] } }
`;
  return parseRunbook(text, 'runbook.yaml');
}

function gateOpened(runId: string, mode: 'rehearsal' | 'live' = 'live'): NotificationEvent {
  return {
    id: 'gate_opened:go-live:1',
    kind: 'gate_opened',
    runId,
    runbook: 'crm',
    mode,
    at: new Date().toISOString(),
    summary: 'Gate go-live opened: go live with the new CRM?',
    step: { id: 'go-live', title: 'Go live' },
    action: { people: ['ben'], roles: ['approvers'], what: 'approve or reject the gate' },
    by: new Date(Date.now() + 30 * 60_000).toISOString(),
    facts: [{ label: 'Elapsed', value: '1h 12m' }],
  };
}

async function deliver(requests: DeliveryRequest[], initialIntervalMs = 200): Promise<DeliveryOutcome[]> {
  return client.workflow.execute('deliverAll', { taskQueue, workflowId: `deliver-${randomUUID()}`, args: [requests, initialIntervalMs] });
}

function requestsFor(channels: string, routes: string, event: NotificationEvent, maxAttempts = 8): DeliveryRequest[] {
  const parsed = runbookWith(channels, routes);
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.line}: ${p.message}`).join('\n'));
  return deliveryInputs(parsed.runbook, event, { baseDir: dir, maxAttempts });
}

describe('deliverNotification on a real worker', () => {
  it('retries while the receiver is down, then delivers exactly once with a signature the receiver verifies', async () => {
    const port = await freePort();
    const runId = `crm-${randomUUID().slice(0, 8)}`;
    const requests = requestsFor(
      `hook: { kind: webhook, url: 'http://127.0.0.1:${port}/hook', secret: '\${env:HOOK_SECRET}' }`,
      `- { via: [hook] }`,
      gateOpened(runId),
    );
    expect(requests).toHaveLength(1);
    const outcome = deliver(requests);
    // The receiver is down: Temporal retries, and each failed attempt is recorded.
    await waitFor('two failed attempts', async () => {
      const rows = await store.deliveries({ runId });
      return rows.filter((r) => r.status === 'retrying').length >= 2 ? rows : undefined;
    });
    const receiver = await startReceiver(port);
    try {
      const [result] = await outcome;
      expect(result).toMatchObject({ status: 'sent' });
      expect(receiver.received).toHaveLength(1);
      const [request] = receiver.received;
      const verified = verifySignature(
        HOOK_SECRET,
        { signature: request!.headers['x-cutover-signature'] as string, timestamp: request!.headers['x-cutover-timestamp'] as string },
        request!.body,
        Math.floor(Date.now() / 1000),
      );
      expect(verified).toBe(true);
      expect(request!.headers['x-cutover-idempotency-key']).toBe(result!.idempotencyKey);
      const body = JSON.parse(request!.body);
      expect(body.message).toMatchObject({
        link: `https://cutover.example.com/runs/${runId}`,
        command: `cutover approve ${runId} go-live --as YOU   (or: cutover reject ${runId} go-live --as YOU --reason ...)`,
      });
      const rows = await store.deliveries({ runId });
      expect(rows.map((r) => r.status).filter((s) => s === 'sent')).toEqual(['sent']);
      expect(rows.at(-1)).toMatchObject({ status: 'sent', channel: 'hook', recipient: '#hook', attempt: result!.attempt });
      expect(rows[0]!.reason).toMatch(/^channel hook: cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);

      // The same event told again (a workflow replaying after a worker restart): the store knows it went out.
      const [again] = await deliver(requests);
      expect(again).toMatchObject({ status: 'sent', alreadySent: true, idempotencyKey: result!.idempotencyKey });
      expect(receiver.received).toHaveLength(1);
    } finally {
      await new Promise((resolve) => receiver.server.close(resolve));
    }
  });

  it('posts Slack- and Teams-shaped payloads, and a misconfigured channel fails only its own delivery', async () => {
    const receiver = await startReceiver();
    const runId = `crm-${randomUUID().slice(0, 8)}`;
    const base = `http://127.0.0.1:${receiver.port}`;
    try {
      const requests = requestsFor(
        [
          `slack: { kind: slack, url: '${base}/slack' }`,
          `teams: { kind: teams, url: '${base}/teams' }`,
          `broken: { kind: webhook, url: '${base}/broken', secret: '\${env:CUTOVER_TEST_NEVER_SET}' }`,
        ].join('\n'),
        `- { via: [slack, teams, broken] }`,
        gateOpened(runId, 'rehearsal'),
      );
      const outcomes = await deliver(requests);
      expect(outcomes.map((o) => o.status)).toEqual(['sent', 'sent', 'gave_up']);
      expect(outcomes[2]).toMatchObject({ attempt: 1 });
      expect(outcomes[2]!.reason).toMatch(
        /^channel broken: \$\{env:CUTOVER_TEST_NEVER_SET\} is not set on .+; set it where the worker \(or `cutover notify test`\) runs$/,
      );
      expect(receiver.received.map((r) => r.path).sort()).toEqual(['/slack', '/teams']);

      const slack = JSON.parse(receiver.received.find((r) => r.path === '/slack')!.body);
      expect(slack.text).toBe(`[REHEARSAL] ${runId}: Gate go-live opened: go live with the new CRM?`);
      expect(slack.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
      expect(JSON.stringify(slack.blocks)).toContain('<@U0BEN>');
      expect(slack.blocks.find((b: any) => b.type === 'actions').elements[0].url).toBe(`https://cutover.example.com/runs/${runId}`);

      const teams = JSON.parse(receiver.received.find((r) => r.path === '/teams')!.body);
      expect(teams.type).toBe('message');
      expect(teams.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
      expect(teams.attachments[0].content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
      expect(teams.attachments[0].content.body.map((b: any) => b.text)).toContain('REHEARSAL: not the live cutover');

      const rows = await store.deliveries({ runId });
      expect(rows.filter((r) => r.channel === 'broken').map((r) => r.status)).toEqual(['gave_up']);
    } finally {
      await new Promise((resolve) => receiver.server.close(resolve));
    }
  });

  it('sends the e-mail over STARTTLS to a real SMTP server, logged in, with the idempotency key as Message-ID', async () => {
    const messages: Array<{ raw: string; secure: boolean; user?: string; to: string[] }> = [];
    const smtp = new SMTPServer({
      secure: false,
      key: readFileSync(path.join(fixtures, 'smtp-key.pem')),
      cert: readFileSync(path.join(fixtures, 'smtp-cert.pem')),
      onAuth(auth, _session, callback) {
        if (auth.username === 'cutover' && auth.password === SMTP_PASSWORD) callback(null, { user: 'cutover' });
        else callback(new Error('bad login'));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          messages.push({
            raw: Buffer.concat(chunks).toString('utf8'),
            secure: session.secure,
            user: session.user as string | undefined,
            to: session.envelope.rcptTo.map((r) => r.address),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as AddressInfo).port;
    const runId = `crm-${randomUUID().slice(0, 8)}`;
    try {
      const requests = requestsFor(
        `mail: { kind: email, host: 127.0.0.1, port: ${port}, from: 'Cutover <cutover@example.com>', user: cutover, password: '\${env:SMTP_PASSWORD}', ca_file: '${path.join(fixtures, 'smtp-cert.pem')}' }`,
        `- { via: [mail] }`,
        gateOpened(runId),
      );
      const [outcome] = await deliver(requests);
      expect(outcome).toMatchObject({ status: 'sent' });
      expect(messages).toHaveLength(1);
      const [message] = messages;
      expect(message).toMatchObject({ secure: true, user: 'cutover', to: ['ben@example.com'] });
      expect(message!.raw).toContain(`Message-ID: <${outcome!.idempotencyKey}@cutover.invalid>`);
      expect(message!.raw).toContain(`Subject: ${runId}: Gate go-live opened: go live with the new CRM?`);
      expect(message!.raw).toMatch(/Content-Type: text\/html/);
      // The text part is quoted-printable: long lines end in soft breaks (`=` at the end of a line).
      expect(message!.raw.replace(/=\r?\n/g, '')).toContain('Who must act: ben (approvers) must approve or reject the gate');
    } finally {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });

  it('refuses to send the e-mail in clear text to a server without STARTTLS, at once', async () => {
    const messages: string[] = [];
    const smtp = new SMTPServer({
      secure: false,
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, callback) {
        stream.on('data', (c: Buffer) => messages.push(c.toString('utf8')));
        stream.on('end', () => callback());
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as AddressInfo).port;
    try {
      const requests = requestsFor(
        `mail: { kind: email, host: 127.0.0.1, port: ${port}, from: cutover@example.com }`,
        `- { via: [mail] }`,
        gateOpened(`crm-${randomUUID().slice(0, 8)}`),
      );
      const [outcome] = await deliver(requests);
      expect(outcome).toMatchObject({ status: 'gave_up', attempt: 1 });
      expect(outcome!.reason).toMatch(/^channel mail: 127\.0\.0\.1:\d+ did not start TLS \(.+\), so nothing was sent in clear text; /);
      expect(messages).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });
});
