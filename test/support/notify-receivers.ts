/**
 * Real receivers for notification tests: an HTTP webhook receiver that verifies each request's HMAC signature and
 * timestamp as docs/notifications.md tells receivers to (and can go down and come back on the same port), and an SMTP
 * server that takes e-mail over STARTTLS with a login.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { verifySignature } from '../../notify/signature.js';

export const NOTIFY_FIXTURES = path.resolve(import.meta.dirname, '../fixtures/notify');

/** One webhook request as the receiver took it. */
export interface HookMessage {
  key: string;
  verified: boolean;
  /** The parsed body: `event`, `people`, `message`, `rehearsal`. */
  body: {
    event: { id: string; kind: string; runId: string };
    people: string[];
    rehearsal: boolean;
    message: { title: string; who_must_act?: string; link?: string; command: string };
  };
}

export interface HookReceiver {
  url: string;
  /** Every request that arrived, verified or not, in arrival order (repeats included). */
  received: HookMessage[];
  /** The verified messages, a repeated idempotency key dropped, as a receiver following the docs keeps them. */
  kept(): HookMessage[];
  /** Stops listening (connections are refused) until {@link up}. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** Holds each request unanswered until the returned release is called. */
  hold(): () => void;
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1 that verifies with `secret`. */
export async function startHookReceiver(secret: string): Promise<HookReceiver> {
  const received: HookMessage[] = [];
  let held: Array<() => void> | undefined;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const verified = verifySignature(
        secret,
        { signature: req.headers['x-cutover-signature'] as string, timestamp: req.headers['x-cutover-timestamp'] as string },
        raw,
        Date.now() / 1000,
      );
      received.push({
        key: String(req.headers['x-cutover-idempotency-key'] ?? ''),
        verified,
        body: JSON.parse(raw) as HookMessage['body'],
      });
      const answer = () => res.writeHead(verified ? 200 : 401).end(verified ? 'ok' : 'bad signature');
      if (held) held.push(answer);
      else answer();
    });
  };
  let server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    kept() {
      const seen = new Set<string>();
      return received.filter((m) => m.verified && !seen.has(m.key) && seen.add(m.key));
    },
    down: close,
    async up() {
      server = createServer(handler);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    hold() {
      held = [];
      return () => {
        const answers = held ?? [];
        held = undefined;
        for (const answer of answers) answer();
      };
    },
    close,
  };
}

/** One e-mail as the SMTP server took it. */
export interface Mail {
  to: string[];
  raw: string;
  secure: boolean;
  /** The e-mail's subject line. */
  subject: string;
  messageId: string;
}

/** An SMTP server on 127.0.0.1 with STARTTLS (the fixture certificate) and one login. */
export async function startSmtp(user: string, password: string): Promise<{ port: string; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const smtp = new SMTPServer({
    secure: false,
    key: readFileSync(path.join(NOTIFY_FIXTURES, 'smtp-key.pem')),
    cert: readFileSync(path.join(NOTIFY_FIXTURES, 'smtp-cert.pem')),
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) callback(null, { user });
      else callback(new Error('bad login'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          secure: session.secure,
          subject: /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(raw)?.[1]?.replace(/\r?\n[ \t]/g, ' ') ?? '',
          messageId: /^Message-ID: (.*)$/im.exec(raw)?.[1]?.trim() ?? '',
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  return {
    port: String((smtp.server.address() as AddressInfo).port),
    mails,
    close: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}

/**
 * Polls `probe` until it answers something (not undefined or false), or fails after `timeoutMs` naming `what` and,
 * when given, what the receiver had by then (`seen`).
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000, seen?: () => string[]): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${seen ? `; the receiver had: ${seen().join(', ') || 'nothing'}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
