/**
 * Activities with real side effects (processes, a local HTTP server, SQLite files) and a fake
 * store: what a step does and what gets recorded, outside Temporal.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { expandEnv, performAction } from '../activities/actions.js';
import { runChecks } from '../activities/checks.js';

import { ctx, dir, stoppingAfter, useTestServer } from './support/activity-fixtures.js';

const serverBase = useTestServer();
let base: string;
beforeAll(() => {
  base = serverBase();
});

describe('shell', () => {
  it('succeeds on the expected exit code and passes the run variables', async () => {
    const result = await performAction({ kind: 'shell', command: 'echo step=$CUTOVER_STEP_ID in $(basename $PWD)' }, ctx);
    expect(result).toMatchObject({ ok: true, exitCode: 0 });
    expect(result.outputTail).toContain(`step=the-step in ${path.basename(dir)}`);
  });

  it('fails on another exit code with the last line of output', async () => {
    const result = await performAction({ kind: 'shell', command: 'echo first; echo "disk full" >&2; exit 3' }, ctx);
    expect(result.ok).toBe(false);
    expect(result.exitCode).toBe(3);
    expect(result.detail).toBe('exit code 3, expected 0: disk full');
  });

  it('kills a command that runs past its timeout, children included', async () => {
    const started = Date.now();
    const result = await performAction({ kind: 'shell', command: 'sleep 30 & sleep 30; wait', timeout: '500ms' }, ctx);
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('timed out after 500ms');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('does not wait for a background process the command started', async () => {
    const started = Date.now();
    const result = await performAction({ kind: 'shell', command: 'sleep 5 & echo service started', timeout: '4s' }, ctx);
    expect(result).toMatchObject({ ok: true, exitCode: 0 });
    expect(result.outputTail).toContain('service started');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('finds output_contains early in a long output', async () => {
    const result = await performAction(
      {
        kind: 'shell',
        command: 'echo MIGRATION OK; for i in $(seq 1 3000); do echo "row $i copied"; done',
        expect: { exit_code: 0, output_contains: 'MIGRATION OK' },
      },
      ctx,
    );
    expect(result.ok).toBe(true);
  });

  it("keeps cutover's Temporal secrets out of commands", async () => {
    process.env.TEMPORAL_API_KEY = 'secret-key';
    try {
      const result = await performAction({ kind: 'shell', command: 'echo "key=[${TEMPORAL_API_KEY:-}]"' }, ctx);
      expect(result.outputTail).toContain('key=[]');
    } finally {
      delete process.env.TEMPORAL_API_KEY;
    }
  });

  it('checks output_contains', async () => {
    const result = await performAction(
      { kind: 'shell', command: 'echo 199 rows', expect: { exit_code: 0, output_contains: '200 rows' } },
      ctx,
    );
    expect(result).toMatchObject({ ok: false, detail: 'output does not contain "200 rows"' });
  });
});

describe('http', () => {
  it('passes on 2xx and a matching body', async () => {
    const result = await performAction({ kind: 'http', method: 'GET', url: `${base}/ok`, expect: { body_contains: '"ok"' } }, ctx);
    expect(result).toMatchObject({ ok: true, detail: 'HTTP 200' });
  });

  it('fails on an unexpected status, naming both', async () => {
    const result = await performAction({ kind: 'http', method: 'GET', url: `${base}/down` }, ctx);
    expect(result).toMatchObject({ ok: false, detail: 'HTTP 503, expected 2xx' });
  });

  it('sends method, headers and body, with ${VAR} expanded', async () => {
    const result = await performAction(
      {
        kind: 'http',
        method: 'POST',
        url: '${TEST_BASE}/echo',
        headers: { authorization: 'Bearer ${TEST_TOKEN:-none}' },
        body: 'hello',
        expect: { status: 201, body_matches: '^got hello auth=Bearer none$' },
      },
      { ...ctx, env: { TEST_BASE: base } },
    );
    expect(result).toMatchObject({ ok: true });
  });

  it('gives up after the timeout and says so', async () => {
    const result = await performAction({ kind: 'http', method: 'GET', url: `${base}/slow`, timeout: '300ms' }, ctx);
    expect(result).toMatchObject({ ok: false });
    expect(result.detail).toContain('no answer within 300ms');
  });

  it('reports a refused connection', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const result = await performAction({ kind: 'http', method: 'GET', url: `http://127.0.0.1:${port}/x` }, ctx);
    expect(result.detail).toContain('ECONNREFUSED');
  });

  it("expands ${VAR} from the environment commands get: never cutover's own secrets", async () => {
    const secrets = {
      TEMPORAL_API_KEY: 'api-secret',
      TEMPORAL_TLS_KEY: 'tls-secret',
      CUTOVER_DATABASE_URL: 'file:/db-secret',
      CUTOVER_PAYLOAD_KEY: 'payload-secret',
      CRM_TENANT: 'acme',
    };
    Object.assign(process.env, secrets);
    try {
      const result = await performAction(
        {
          kind: 'http',
          method: 'GET',
          url: `${base}/mirror?tenant=\${CRM_TENANT}&a=\${TEMPORAL_API_KEY:-none}&t=\${TEMPORAL_TLS_KEY:-none}&d=\${CUTOVER_DATABASE_URL:-none}`,
          headers: { 'x-key': '${CUTOVER_PAYLOAD_KEY:-none}/${CUTOVER_STEP_ID}' },
        },
        ctx,
      );
      expect(result).toMatchObject({ ok: true, outputTail: '/mirror?tenant=acme&a=none&t=none&d=none x-key=none/the-step' });
    } finally {
      for (const name of Object.keys(secrets)) delete process.env[name];
    }
  });

  it('never shows an expanded URL in what it reports: it may carry a token', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const withToken = { ...ctx, env: { ...ctx.env, SYNC_TOKEN: 'tok-123', BAD_URL: 'not a url tok-123' } };

    const refused = await performAction(
      { kind: 'http', method: 'POST', url: `http://127.0.0.1:${port}/sync?token=\${SYNC_TOKEN}` },
      withToken,
    );
    expect(refused.detail).toContain(`POST http://127.0.0.1:${port}/sync?token=\${SYNC_TOKEN} failed: ECONNREFUSED`);
    const unparsable = await performAction({ kind: 'http', method: 'GET', url: '${BAD_URL}' }, withToken);
    expect(unparsable.detail).toMatch(/^GET \$\{BAD_URL\} failed: /);
    const late = await performAction(
      { kind: 'http', method: 'GET', url: `${base}/slow?token=\${SYNC_TOKEN}`, timeout: '200ms' },
      withToken,
    );
    expect(late.detail).toBe(`GET ${base}/slow?token=\${SYNC_TOKEN} failed: no answer within 200ms`);
    const stopped = await performAction(
      { kind: 'http', method: 'GET', url: `${base}/very-slow?token=\${SYNC_TOKEN}` },
      { ...stoppingAfter(200), env: withToken.env },
    );
    expect(stopped.detail).toContain(`GET ${base}/very-slow?token=\${SYNC_TOKEN} to answer`);
    for (const result of [refused, unparsable, late, stopped]) expect(result.detail).not.toContain('tok-123');
  });

  it('expands environment references with defaults', () => {
    expect(expandEnv('http://${H:-localhost}:${P}/x', { P: '80' })).toBe('http://localhost:80/x');
  });
});

describe('sql', () => {
  it('compares the first value, row counts and bounds', async () => {
    const q = (query: string, expect: object) => performAction({ kind: 'sql', connection: 'db', query, expect }, ctx);
    expect(await q('SELECT COUNT(*) FROM t', { value: 3 })).toMatchObject({ ok: true, detail: 'value 3' });
    expect(await q('SELECT COUNT(*) FROM t', { value: 4 })).toMatchObject({ ok: false, detail: 'value 3, expected 4' });
    expect(await q('SELECT * FROM t WHERE v > ?', {})).toMatchObject({ ok: false });
    expect(await q("SELECT id FROM t WHERE v = 'z'", { rows: 0 })).toMatchObject({ ok: true });
    expect(await q('SELECT id FROM t', { rows: 0 })).toMatchObject({ ok: false, detail: '3 row(s), expected 0' });
    expect(await q('SELECT MAX(id) FROM t', { min: 1, max: 2 })).toMatchObject({ ok: false, detail: 'value 3, expected at most 2' });
  });

  it('runs statements that change data', async () => {
    const result = await performAction({ kind: 'sql', connection: 'db', query: "UPDATE t SET v = 'x' WHERE id = 1" }, ctx);
    expect(result).toMatchObject({ ok: true, detail: '1 row(s) changed' });
  });

  it('explains a missing database file on a read-only connection', async () => {
    const result = await performAction(
      { kind: 'sql', connection: 'gone', query: 'SELECT 1' },
      { ...ctx, connections: { gone: { driver: 'sqlite', path: 'nope.db', readonly: true } } },
    );
    expect(result.ok).toBe(false);
    expect(result.detail).toContain(`cannot open gone (${path.join(dir, 'nope.db')})`);
  });
});

describe('sql statements that run long', () => {
  const SLOW_COUNT = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c';

  it('stops a statement at its timeout without blocking the worker meanwhile', async () => {
    let last = Date.now();
    let longestStall = 0;
    const ticking = setInterval(() => {
      longestStall = Math.max(longestStall, Date.now() - last);
      last = Date.now();
    }, 20);
    const started = Date.now();
    try {
      const result = await performAction({ kind: 'sql', connection: 'db', query: SLOW_COUNT }, { ...ctx, timeoutMs: 1000 });
      expect(result).toMatchObject({ ok: false, detail: 'query on db timed out after 1s and was stopped' });
    } finally {
      clearInterval(ticking);
    }
    // Stopped at its timeout: the statement itself never ends.
    expect(Date.now() - started).toBeLessThan(15_000);
    // The main thread (heartbeats, other steps) kept running while the statement did: a statement run on it would
    // have held it for the whole second (a busy machine delays a timer by far less).
    expect(longestStall).toBeLessThan(700);
  });

  it('a write that timed out is rolled back and holds no lock', async () => {
    const db = new Database(path.join(dir, 'test.db'));
    db.exec('CREATE TABLE IF NOT EXISTS big (x INTEGER)');
    db.close();
    const slowInsert =
      'INSERT INTO big WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT x FROM c';
    const result = await performAction({ kind: 'sql', connection: 'db', query: slowInsert }, { ...ctx, timeoutMs: 1000 });
    expect(result.detail).toBe('query on db timed out after 1s and was stopped');
    const started = Date.now();
    expect(await performAction({ kind: 'sql', connection: 'db', query: 'INSERT INTO big VALUES (-1)' }, ctx)).toMatchObject({ ok: true });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await performAction({ kind: 'sql', connection: 'db', query: 'SELECT COUNT(*) FROM big' }, ctx)).toMatchObject({
      detail: 'value 1',
    });
  });

  it('a cancelled statement is stopped and says so', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const result = await performAction({ kind: 'sql', connection: 'db', query: SLOW_COUNT }, { ...ctx, signal: controller.signal });
    expect(result).toEqual({ ok: false, detail: 'query on db was cancelled and stopped' });
  });

  it('keeps blobs, nulls and text as the comparison saw them in-process', async () => {
    const q = (query: string, expect?: object) =>
      performAction({ kind: 'sql', connection: 'db', query, ...(expect ? { expect } : {}) }, ctx);
    expect(await q("SELECT CAST('ab' AS BLOB)", { value: 'ab' })).toMatchObject({
      ok: true,
      detail: 'value {"type":"Buffer","data":[97,98]}',
    });
    expect(await q('SELECT NULL', { value: null })).toMatchObject({ ok: true, detail: 'value null' });
    expect(await q('SELECT id, v FROM t WHERE id = 2')).toMatchObject({ ok: true, detail: '1 row(s)' });
    expect(await q('SELECT nope FROM t')).toMatchObject({ ok: false, detail: 'query on db failed: no such column: nope' });
  });
});

describe('checks', () => {
  it('reports every check, passing or not, with its detail', async () => {
    const outcomes = await runChecks(
      [
        { name: 'count', kind: 'sql', connection: 'db', query: 'SELECT COUNT(*) FROM t', expect: { value: 3 } },
        { name: 'health', kind: 'http', method: 'GET', url: `${base}/down` },
        { name: 'rehearsed failure', kind: 'simulate', duration: '0s', outcome: 'failure' },
      ],
      ctx,
    );
    expect(outcomes.map((o) => [o.name, o.passed, o.detail])).toEqual([
      ['count', true, 'value 3'],
      ['health', false, 'HTTP 503, expected 2xx'],
      ['rehearsed failure', false, 'simulated failure after 0s'],
    ]);
  });
});

describe('checks that ask again', () => {
  it('passes once the answer turns yes within the time allowed', async () => {
    let asked = 0;
    const flaky = http.createServer((_req, res) => {
      asked += 1;
      res.writeHead(asked < 3 ? 503 : 200).end(asked < 3 ? 'starting' : 'ok');
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/health`;
    try {
      const [outcome] = await runChecks(
        [{ name: 'healthy', kind: 'http', method: 'GET', url, until: { within: '5s', every: '100ms' } }],
        ctx,
      );
      expect(outcome).toMatchObject({ passed: true, detail: 'HTTP 200 (after 3 tries)' });
      expect(asked).toBe(3);
    } finally {
      await new Promise<void>((r) => flaky.close(() => r()));
    }
  });

  it('gives up when the time is over, saying how often it asked', async () => {
    const started = Date.now();
    const [outcome] = await runChecks(
      [{ name: 'never', kind: 'http', method: 'GET', url: `${base}/down`, until: { within: '600ms', every: '200ms' } }],
      ctx,
    );
    expect(outcome!.passed).toBe(false);
    expect(outcome!.detail).toMatch(/^HTTP 503, expected 2xx \(still failing after [34] tries in 600ms\)$/);
    // It gave up (asking on would take as long as the test allows), with room for a busy machine.
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
