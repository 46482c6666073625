/**
 * What the activity tests share (activities.test.ts, activities-steps.test.ts): a folder with a SQLite file, an action
 * context on it, a local HTTP server, a step's request, and a context or an activity that a stopping worker aborts.
 */
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Context, asyncLocalStorage, type Info } from '@temporalio/activity';
import { afterAll, beforeAll } from 'vitest';
import type { ActionContext } from '../../activities/action-context.js';
import type { StepRequest } from '../../activities/types.js';

export const dir = mkdtempSync(path.join(tmpdir(), 'cutover-act-'));
export const ctx: ActionContext = {
  baseDir: dir,
  connections: { db: { driver: 'sqlite', path: 'test.db', readonly: false } },
  env: { CUTOVER_STEP_ID: 'the-step' },
  timeoutMs: 10_000,
};

/**
 * A local HTTP server the http actions and checks talk to (`/ok`, `/echo`, `/slow`, `/mirror`, `/very-slow`, anything
 * else 503) and a SQLite file with a table `t`, both ready before the file's tests; returns the server's base URL.
 */
export function useTestServer(): () => string {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/ok') {
        res.writeHead(200).end('{"status":"ok"}');
      } else if (req.url === '/echo' && req.method === 'POST') {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => res.writeHead(201).end(`got ${body} auth=${req.headers.authorization}`));
      } else if (req.url?.split('?')[0] === '/slow') {
        setTimeout(() => res.writeHead(200).end('late'), 2000);
      } else if (req.url?.startsWith('/mirror')) {
        res.writeHead(200).end(`${req.url} x-key=${String(req.headers['x-key'])}`);
      } else if (req.url?.split('?')[0] === '/very-slow') {
        const timer = setTimeout(() => res.writeHead(200).end('very late'), 30_000);
        res.on('close', () => clearTimeout(timer));
      } else {
        res.writeHead(503).end('maintenance');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const db = new Database(path.join(dir, 'test.db'));
    db.exec("CREATE TABLE t (id INTEGER, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');");
    db.close();
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return () => base;
}

/** One step attempt's request, with `over` changed. */
export function stepRequest(over: Partial<StepRequest>): StepRequest {
  return {
    runId: 'r-1',
    stepId: 's',
    phaseId: 'p',
    title: 'S',
    owner: 'dba',
    kind: 'shell',
    mode: 'rehearsal',
    purpose: 'forward',
    treatment: 'run',
    action: { kind: 'shell', command: 'true' },
    checks: [],
    baseDir: dir,
    connections: ctx.connections,
    idempotencyKey: 'r-1/s',
    attemptOffset: 0,
    maxAttempts: 1,
    timeoutMs: 10_000,
    plannedStartMs: 0,
    plannedDurationMs: 1000,
    ...over,
  };
}

/** A context whose activity signal aborts after `ms`, as when the worker stops (or not). */
export function stoppingAfter(ms: number, workerStopping = true): ActionContext {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms);
  return { ...ctx, signal: controller.signal, workerStopping: () => workerStopping };
}

/**
 * Runs `fn` as if inside a Temporal activity whose cancellation signal aborts after `ms`: how
 * a worker that shuts down gracefully reaches running activities.
 */
export function inActivity<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const info = { attempt: 1 } as Info;
  const context = new Context(
    info,
    new Promise<never>(() => undefined),
    controller.signal,
    () => undefined,
    undefined,
    undefined as never,
    undefined as never,
    {},
  );
  return asyncLocalStorage.run(context, fn).finally(() => clearTimeout(timer));
}
