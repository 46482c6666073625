/**
 * HTTP actions and checks wait as long as their timeout says, and no longer, against real local servers: one that
 * answers after more than a minute (a bulk export: what some steps are for), and ones that accept the connection and
 * then stay silent, before the status line or in the middle of the body. Fetch's own defaults give up on a silent
 * server after 5 minutes whatever the step allows; actions.ts turns those off so the step's timeout is the one limit.
 * The silent cases here use a short timeout (a 5-minute wait would hold one of the suite's two workers for as long):
 * what they prove is that the step's timeout, and nothing else, ends the wait, and what the failure says.
 *
 * Its own file, and its tests run concurrently: the slowest waits (idle) a little over a minute.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { performAction } from '../activities/actions.js';
import { runChecks } from '../activities/checks.js';

const ANSWER_AFTER_MS = 62_000;
/** The silent cases' timeout. */
const SHORT = '3s';
const SHORT_MS = 3_000;

let slow: http.Server;
let slowBase: string;
/** Accepts, reads the request, never writes a byte. */
let silent: net.Server;
let silentBase: string;
/** Sends the status line and headers of a 100-byte body, three bytes of it, then nothing. */
let stalled: net.Server;
let stalledBase: string;
const sockets = new Set<net.Socket>();

const listen = async (server: net.Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  slow = http.createServer((_req, res) => {
    const timer = setTimeout(() => res.writeHead(200).end('{"exported":1200}'), ANSWER_AFTER_MS);
    res.on('close', () => clearTimeout(timer));
  });
  slowBase = await listen(slow);
  silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => undefined);
  });
  silentBase = await listen(silent);
  stalled = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nabc'));
  });
  stalledBase = await listen(stalled);
});

afterAll(async () => {
  slow.closeAllConnections();
  for (const socket of sockets) socket.destroy();
  await Promise.all([slow, silent, stalled].map((server) => new Promise<void>((r) => server.close(() => r()))));
});

const ctx = (timeoutMs: number) => ({ baseDir: tmpdir(), connections: {}, env: {}, timeoutMs });

describe.concurrent('an HTTP action or check', () => {
  it("waits for the step's timeout, not a fixed minute, when the action sets none", async () => {
    const result = await performAction(
      { kind: 'http', method: 'POST', url: `${slowBase}/export`, expect: { body_contains: 'exported' } },
      ctx(5 * 60_000),
    );
    expect(result).toMatchObject({ ok: true, detail: 'HTTP 200' });
  }, 90_000);

  it("against a server that never answers, fails at the step's timeout, saying so", async () => {
    const started = Date.now();
    const result = await performAction({ kind: 'http', method: 'POST', url: `${silentBase}/sync/on` }, ctx(SHORT_MS));
    const took = Date.now() - started;
    expect(result).toEqual({ ok: false, detail: `POST ${silentBase}/sync/on failed: no answer within ${SHORT}` });
    expect(took).toBeGreaterThanOrEqual(SHORT_MS - 100);
    expect(took).toBeLessThan(SHORT_MS + 10_000);
  }, 60_000);

  it('against a server that stops in the middle of its answer, fails at the timeout, saying what came', async () => {
    const started = Date.now();
    const result = await performAction({ kind: 'http', method: 'GET', url: `${stalledBase}/export`, timeout: SHORT }, ctx(60 * 60_000));
    const took = Date.now() - started;
    expect(result).toEqual({
      ok: false,
      detail: `GET ${stalledBase}/export answered HTTP 200 but its body did not finish within ${SHORT}`,
    });
    expect(took).toBeGreaterThanOrEqual(SHORT_MS - 100);
    expect(took).toBeLessThan(SHORT_MS + 10_000);
  }, 60_000);

  it('as a check with its own timeout, against a server that never answers, fails at that timeout', async () => {
    const started = Date.now();
    const [outcome] = await runChecks(
      [{ name: 'sync is on', kind: 'http', method: 'GET', url: `${silentBase}/sync`, timeout: SHORT }],
      ctx(60 * 60_000),
    );
    const took = Date.now() - started;
    expect(outcome).toMatchObject({
      name: 'sync is on',
      passed: false,
      detail: `GET ${silentBase}/sync failed: no answer within ${SHORT}`,
    });
    expect(took).toBeGreaterThanOrEqual(SHORT_MS - 100);
    expect(took).toBeLessThan(SHORT_MS + 10_000);
  }, 60_000);
});
