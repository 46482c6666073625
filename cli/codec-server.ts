/**
 * `cutover codec-server`: Temporal's remote codec protocol over the project's payload codec, so the stock `temporal`
 * CLI (`--codec-endpoint`) and the Temporal web UI show the decrypted inputs and results of runs whose payloads
 * `CUTOVER_PAYLOAD_KEY` encrypts. `POST /decode` and `POST /encode` take and answer the Payloads JSON
 * (`{"payloads":[{"metadata":{...base64},"data":base64}]}`); the `X-Namespace` header names the namespace asked about.
 *
 * Whoever reaches it reads every payload it can decrypt, so: a bearer token (`CUTOVER_CODEC_TOKEN`) on every request
 * but the CORS preflight, loopback unless it serves https itself or a TLS proxy is said to be in front, and CORS only
 * for the one UI origin given.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import type { Payload } from '@temporalio/common';
import { EncryptionCodec, parsePayloadKey } from '../common/payload-codec.js';
import { EXIT, UsageError } from './errors.js';
import type { Output } from './output.js';

/** Options of `cutover codec-server`. */
export interface CodecServerOptions {
  port: number;
  host: string;
  /** The origin of a Temporal web UI allowed to call from the browser (CORS), e.g. `https://temporal.example.com`. */
  uiOrigin?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsProxy?: boolean;
}

/** The most a request body may hold: Temporal caps one payload at 2 MB, and the UI asks for a few at a time. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Payloads as the protocol writes them: proto3 JSON, bytes in base64. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** A listening codec server. */
export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the codec server with `key` and `token`; resolves once it listens. */
export async function startCodecServer(
  options: CodecServerOptions & { key: Buffer; token: string; tls?: { cert: string; key: string } },
): Promise<CodecServer> {
  const codec = new EncryptionCodec(options.key);
  const expected = digest(options.token);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void answer(req, res, codec, expected, options.uiOrigin).catch(() => {
      if (!res.headersSent) send(res, 500, { message: 'the codec server failed on this request' });
    });
  };
  const server: Server = options.tls ? createHttpsServer(options.tls, handler) : createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new UsageError(
          `the codec server cannot listen on ${options.host}:${options.port}: ${err.code ?? err.message}; choose another --port or --host`,
        ),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  codec: EncryptionCodec,
  expected: Buffer,
  uiOrigin?: string,
): Promise<void> {
  res.setHeader('Cache-Control', 'no-store');
  const origin = req.headers.origin;
  if (uiOrigin !== undefined && origin === uiOrigin) {
    res.setHeader('Access-Control-Allow-Origin', uiOrigin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Namespace');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Vary', 'Origin');
  }
  const path = (req.url ?? '').split('?')[0];
  if (req.method === 'OPTIONS') {
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'POST' || (path !== '/decode' && path !== '/encode')) {
    send(res, 404, { message: 'the codec server answers POST /decode and POST /encode' });
    return;
  }
  const given = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '')?.[1];
  if (given === undefined || !timingSafeEqual(digest(given), expected)) {
    req.resume();
    send(res, 401, { message: 'send Authorization: Bearer <CUTOVER_CODEC_TOKEN>' });
    return;
  }
  const body = await readBody(req);
  if (body === undefined) {
    send(res, 413, { message: `a request may hold at most ${MAX_BODY_BYTES / 1024 / 1024} MiB of payloads` });
    return;
  }
  let payloads: Payload[];
  try {
    payloads = fromJson(JSON.parse(body.toString('utf8')) as { payloads?: JsonPayload[] });
  } catch {
    send(res, 400, { message: 'the body must be Payloads JSON: {"payloads":[{"metadata":{...},"data":"..."}]}' });
    return;
  }
  // One payload at a time: one written with another key is answered as it is, not a failure of the whole history.
  const out: Payload[] = [];
  for (const payload of payloads) {
    if (path === '/encode') out.push(...(await codec.encode([payload])));
    else out.push(...(await codec.decode([payload]).catch(() => [payload])));
  }
  send(res, 200, { payloads: out.map(toJson) });
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function fromJson(body: { payloads?: JsonPayload[] }): Payload[] {
  if (!Array.isArray(body.payloads)) throw new Error('no payloads');
  return body.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
    data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
  }));
}

function toJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || (isIP(bare) === 4 && bare.startsWith('127.')) || bare === '::1';
}

/** `cutover codec-server [--port N] [--host H] [--ui-origin URL] [--tls-cert F --tls-key F | --tls-proxy]` */
export async function serveCodec(options: CodecServerOptions, out: Output): Promise<number> {
  const keyText = process.env.CUTOVER_PAYLOAD_KEY;
  if (!keyText)
    throw new UsageError('CUTOVER_PAYLOAD_KEY is not set: the codec server decrypts with the key the workers encrypt with; set it');
  const key = parsePayloadKey(keyText);
  const token = process.env.CUTOVER_CODEC_TOKEN;
  if (!token || !/^[A-Za-z0-9._~-]{16,}$/.test(token)) {
    throw new UsageError(
      'set CUTOVER_CODEC_TOKEN to a long random token (16+ of A-Z a-z 0-9 - . _ ~, such as the output of `openssl rand -hex 24`): whoever reaches the codec server reads every payload',
    );
  }
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const tls =
    options.tlsCert !== undefined && options.tlsKey !== undefined
      ? { cert: readPem(options.tlsCert, '--tls-cert'), key: readPem(options.tlsKey, '--tls-key') }
      : undefined;
  if (!isLoopback(options.host) && !tls && !options.tlsProxy) {
    throw new UsageError(
      `in plain HTTP on ${options.host} the token and the decrypted payloads would cross the network: give --tls-cert and --tls-key, or --tls-proxy if a TLS proxy in front serves https, or listen on 127.0.0.1`,
    );
  }
  if (options.uiOrigin !== undefined && !/^https?:\/\/[^/\s]+$/.test(options.uiOrigin)) {
    throw new UsageError(
      `--ui-origin wants an origin such as https://temporal.example.com (scheme, host, port; no path), not ${options.uiOrigin}`,
    );
  }
  const server = await startCodecServer({ ...options, key, token, ...(tls ? { tls } : {}) });
  out.line(
    `codec server on ${server.url} (POST /decode, /encode; token required${options.uiOrigin ? `; CORS for ${options.uiOrigin}` : ''}); ` +
      `use it as temporal ... --codec-endpoint ${server.url} --codec-auth "Bearer $CUTOVER_CODEC_TOKEN"; Ctrl-C stops it`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
  return EXIT.ok;
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `${flag} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path`,
    );
  }
}
