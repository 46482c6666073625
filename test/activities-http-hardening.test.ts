/**
 * An HTTP step against a hostile or broken server: a body past the cap fails the step clearly, a `body_matches`
 * pattern that backtracks for ever is stopped, and a redirect to another origin is not sent the step's secrets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStepActivities } from '../activities/steps.js';
import type { StepRequest } from '../activities/types.js';
import type { Action } from '../runbook/schema.js';
import { MemoryStore } from './support/memory-store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-http-hard-'));
const TOKEN = 'redirect-token-0123456789';

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
const seenByOther: Seen[] = [];
const seenByHome: Seen[] = [];
let home: http.Server;
let other: http.Server;
let homeBase = '';
let otherBase = '';

function listen(server: http.Server): Promise<string> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  other = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seenByOther.push({ url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200).end('landed');
    });
  });
  home = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seenByHome.push({ url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/huge') {
        // 5 MB in 64 kB chunks: more than cutover reads.
        res.writeHead(200);
        const chunk = 'x'.repeat(64 * 1024);
        let sent = 0;
        const more = () => {
          while (sent < 80) {
            sent += 1;
            if (!res.write(chunk)) return void res.once('drain', more);
          }
          res.end();
        };
        more();
      } else if (req.url === '/evil-body') {
        res.writeHead(200).end(`${'a'.repeat(40)}b`);
      } else if (req.url === '/away') {
        res.writeHead(302, { location: `${otherBase}/landing` }).end();
      } else if (req.url === '/away-307') {
        res.writeHead(307, { location: `${otherBase}/landing-307` }).end();
      } else if (req.url === '/same') {
        res.writeHead(302, { location: '/here' }).end();
      } else {
        res.writeHead(200).end(`here auth=${String(req.headers.authorization)} key=${String(req.headers['x-api-key'])}`);
      }
    });
  });
  homeBase = await listen(home);
  otherBase = await listen(other);
});
afterAll(async () => {
  for (const server of [home, other]) {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

function request(action: Action): StepRequest {
  return {
    ...{ runId: 'r-1', stepId: 's', phaseId: 'p', title: 'S', owner: 'dba', kind: 'http', mode: 'rehearsal', purpose: 'forward' },
    ...{ treatment: 'run', action, checks: [], baseDir: dir, connections: {}, idempotencyKey: 'r-1/s', attemptOffset: 0 },
    ...{ maxAttempts: 1, timeoutMs: 20_000, plannedStartMs: 0, plannedDurationMs: 1000 },
  };
}

async function run(action: Action) {
  process.env.HTTP_HARD_TOKEN = TOKEN;
  try {
    return await createStepActivities({ store: new MemoryStore() }).runStep(request(action));
  } finally {
    delete process.env.HTTP_HARD_TOKEN;
  }
}

const secretHeaders = { authorization: 'Bearer ${env:HTTP_HARD_TOKEN}', 'x-api-key': '${env:HTTP_HARD_TOKEN}', 'x-plain': 'plain' };

describe('HTTP hardening', () => {
  it('fails a response whose body is over the cap, saying so', async () => {
    const outcome = await run({ kind: 'http', method: 'GET', url: `${homeBase}/huge` });
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toBe(
      `GET ${homeBase}/huge answered HTTP 200 with a body over 4 MB, more than cutover reads; point the step at a smaller answer (a status or health endpoint)`,
    );
  });

  it('stops a body_matches pattern that backtracks for ever, and the worker goes on', async () => {
    const started = Date.now();
    const outcome = await run({ kind: 'http', method: 'GET', url: `${homeBase}/evil-body`, expect: { body_matches: '^(a+)+$' } });
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(
      /^HTTP 200 but matching the body against \/\^\(a\+\)\+\$\/ took longer than 1s and was stopped; simplify/,
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    const ordinary = await run({ kind: 'http', method: 'GET', url: `${homeBase}/evil-body`, expect: { body_matches: '^a+b$' } });
    expect(ordinary.status).toBe('succeeded');
  }, 30_000);

  it('follows a redirect to another origin without the headers that carry secrets', async () => {
    seenByOther.length = 0;
    const outcome = await run({ kind: 'http', method: 'GET', url: `${homeBase}/away`, headers: secretHeaders });
    expect(outcome.status, outcome.error).toBe('succeeded');
    expect(outcome.outputTail).toBe('landed');
    expect(seenByOther).toHaveLength(1);
    expect(seenByOther[0]!.headers['x-plain']).toBe('plain');
    expect(seenByOther[0]!.headers.authorization).toBeUndefined();
    expect(seenByOther[0]!.headers['x-api-key']).toBeUndefined();
    expect(JSON.stringify(seenByOther)).not.toContain(TOKEN);
  });

  it('keeps them on a redirect within the origin', async () => {
    const outcome = await run({ kind: 'http', method: 'GET', url: `${homeBase}/same`, headers: secretHeaders });
    expect(outcome.status, outcome.error).toBe('succeeded');
    expect(outcome.outputTail).toBe('here auth=Bearer [secret env:HTTP_HARD_TOKEN] key=[secret env:HTTP_HARD_TOKEN]');
  });

  it('does not resend a body holding a secret to another origin (307), and says so', async () => {
    seenByOther.length = 0;
    const outcome = await run({ kind: 'http', method: 'POST', url: `${homeBase}/away-307`, body: '{"token":"${env:HTTP_HARD_TOKEN}"}' });
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toBe(
      `POST ${homeBase}/away-307 redirected (HTTP 307) to another origin, ${otherBase}, which would be sent a body holding a secret; it was not sent`,
    );
    expect(seenByOther).toEqual([]);
  });
});
