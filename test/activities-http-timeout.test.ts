/**
 * An HTTP action without its own `timeout` may take as long as its step allows: a bulk export
 * that answers after a minute and more is what some steps are for. Its own file because it
 * waits more than a minute (idle), so it runs beside the other files instead of after them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { performAction } from '../activities/actions.js';

const ANSWER_AFTER_MS = 62_000;
let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((_req, res) => {
    const timer = setTimeout(() => res.writeHead(200).end('{"exported":1200}'), ANSWER_AFTER_MS);
    res.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

it("waits for the step's timeout, not a fixed minute, when the action sets none", async () => {
  const result = await performAction(
    { kind: 'http', method: 'POST', url: `${base}/export`, expect: { body_contains: 'exported' } },
    { baseDir: tmpdir(), connections: {}, env: {}, timeoutMs: 5 * 60_000 },
  );
  expect(result).toMatchObject({ ok: true, detail: 'HTTP 200' });
}, 90_000);
