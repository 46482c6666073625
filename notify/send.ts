/**
 * Sends one planned delivery on its channel: an HTTP POST (webhook, Slack, Teams), an e-mail over SMTP, or a local
 * command. One attempt; the caller retries (the delivery activity, through Temporal's retry policy). A failure is a
 * {@link DeliveryError} with one sentence and whether another attempt may help: an unreachable receiver or a 5xx
 * may, a refused request (4xx), a missing secret or a rejected login will not.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { isOwnSecret } from '../common/own-secrets.js';
import { parseDuration } from '../runbook/duration.js';
import type { CommandChannel, EmailChannel, NotificationChannel } from '../runbook/notifications.js';
import { DeliveryError, resolveChannel } from './channel-secrets.js';
import { emailContent, slackPayload, teamsPayload, webhookBody, type RenderContext } from './render.js';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER } from './signature.js';

export { DeliveryError };

/** One delivery, ready to send. */
export interface SendRequest extends RenderContext {
  channelName: string;
  /** The channel as the runbook writes it (references unresolved). */
  channel: NotificationChannel;
  /** The e-mail address, for an e-mail delivery. */
  email?: string;
  /** The runbook's folder: `${file:...}`, `ca_file` and commands are relative to it. */
  baseDir: string;
}

/** What the sender may take from its host (tests pass their own). */
export interface SendDeps {
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  /** Unix seconds, for the signature's timestamp. */
  now?: () => number;
}

function timeoutMs(channel: NotificationChannel): number {
  return (channel.timeout ? parseDuration(channel.timeout) : undefined) ?? (channel.kind === 'email' ? 30_000 : 10_000);
}

/** Sends `request` once; resolves with a short note of what the receiver answered, or throws a {@link DeliveryError}. */
export async function sendNotification(request: SendRequest, deps: SendDeps = {}): Promise<string> {
  const env = deps.env ?? process.env;
  const channel = resolveChannel(request.channel, request.baseDir, env);
  const timeout = timeoutMs(channel);
  switch (channel.kind) {
    case 'webhook': {
      const body = JSON.stringify(webhookBody(request));
      const timestamp = Math.floor(deps.now?.() ?? Date.now() / 1000);
      const headers = {
        ...channel.headers,
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: signBody(channel.secret, timestamp, body),
      };
      return post(channel.url, body, headers, request, timeout, deps);
    }
    case 'slack':
      return post(channel.url, JSON.stringify(slackPayload(request)), {}, request, timeout, deps);
    case 'teams':
      return post(channel.url, JSON.stringify(teamsPayload(request)), {}, request, timeout, deps);
    case 'email':
      return sendEmail(channel, request, timeout);
    case 'command':
      return runCommand(channel, request, timeout, env);
  }
}

/** Where an address points, without its path or query (a webhook URL is a secret: its path is the token). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'a malformed URL';
  }
}

async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  request: SendRequest,
  timeout: number,
  deps: SendDeps,
): Promise<string> {
  const doFetch = deps.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'cutover', [IDEMPOTENCY_HEADER]: request.idempotencyKey, ...headers },
      signal: AbortSignal.timeout(timeout),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    const why = cause === 'TimeoutError' ? `no answer within ${timeout / 1000}s` : cause;
    throw new DeliveryError(`cannot reach ${hostOf(url)} (${why})`, true);
  }
  const text = (await response.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ').trim();
  if (response.ok) return `${hostOf(url)} answered ${response.status}`;
  const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
  throw new DeliveryError(
    `${hostOf(url)} answered ${response.status} ${response.statusText}${text ? `: ${text}` : ''}${retryable ? '' : '; it refused the message, so it is not sent again'}`,
    retryable,
  );
}

async function sendEmail(channel: EmailChannel, request: SendRequest, timeout: number): Promise<string> {
  if (!request.email) throw new DeliveryError(`${request.people.join(', ') || 'the recipient'} has no \`email\` under \`people\``, false);
  let ca: string | undefined;
  if (channel.ca_file) {
    const file = path.resolve(request.baseDir, channel.ca_file);
    try {
      ca = readFileSync(file, 'utf8');
    } catch (err) {
      throw new DeliveryError(`ca_file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`, false);
    }
  }
  const transport = nodemailer.createTransport({
    host: channel.host,
    port: channel.port,
    secure: channel.tls === 'implicit',
    // STARTTLS or nothing: a server that does not offer it gets no message, rather than one in clear text.
    requireTLS: channel.tls === 'starttls',
    ...(channel.user !== undefined ? { auth: { user: channel.user, pass: channel.password ?? '' } } : {}),
    ...(ca ? { tls: { ca } } : {}),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  const content = emailContent(request);
  try {
    const info = await transport.sendMail({
      from: channel.from,
      to: request.email,
      subject: content.subject,
      text: content.text,
      html: content.html,
      // The idempotency key as Message-ID: a mail system (and a reader's client) drops a second copy.
      messageId: `<${request.idempotencyKey}@cutover.invalid>`,
      headers: { [IDEMPOTENCY_HEADER]: request.idempotencyKey },
    });
    return `${channel.host} accepted it for ${request.email} (${String(info.response).slice(0, 80)})`;
  } catch (err) {
    const e = err as { code?: string; responseCode?: number; message?: string };
    if (e.code === 'ETLS') {
      // No STARTTLS (or a certificate not trusted): a setting of the server or the channel, not a passing fault.
      throw new DeliveryError(
        `${channel.host}:${channel.port} did not start TLS (${e.message ?? 'STARTTLS failed'}), so nothing was sent in clear text; check the server's STARTTLS and the channel's \`ca_file\``,
        false,
      );
    }
    const permanent = e.code === 'EAUTH' || (e.responseCode !== undefined && e.responseCode >= 500);
    throw new DeliveryError(
      `${channel.host}:${channel.port} did not take the e-mail to ${request.email}: ${e.message ?? String(err)}`,
      !permanent,
    );
  } finally {
    transport.close();
  }
}

async function runCommand(channel: CommandChannel, request: SendRequest, timeout: number, env: NodeJS.ProcessEnv): Promise<string> {
  const ownEnv = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && !isOwnSecret(e[0])));
  const child = spawn('/bin/sh', ['-c', channel.command], {
    cwd: request.baseDir,
    env: {
      ...ownEnv,
      ...channel.env,
      CUTOVER_EVENT_KIND: request.event.kind,
      CUTOVER_RUN_ID: request.event.runId,
      CUTOVER_IDEMPOTENCY_KEY: request.idempotencyKey,
      CUTOVER_REHEARSAL: request.event.mode === 'rehearsal' ? '1' : '0',
    },
    stdio: ['pipe', 'ignore', 'pipe'],
    timeout,
    killSignal: 'SIGKILL',
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-500);
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(JSON.stringify(webhookBody(request)));
  const { code, signal, error } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.on('error', (err) => resolve({ code: null, signal: null, error: err }));
    child.on('close', (c, s) => resolve({ code: c, signal: s }));
  });
  if (error) throw new DeliveryError(`the command could not start: ${error.message}`, false);
  if (code === 0) return 'the command exited 0';
  const tail = stderr.trim().split('\n').slice(-2).join(' / ');
  const how = signal ? `was killed (${signal}${signal === 'SIGKILL' ? `, after ${timeout / 1000}s` : ''})` : `exited ${code}`;
  throw new DeliveryError(`the command ${how}${tail ? `: ${tail}` : ''}`, true);
}
