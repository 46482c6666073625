/**
 * The status page behind CUTOVER_WEB_TOKEN, over real HTTP against a real SQLite record store: nothing but
 * `/healthz` answers without the token; a script sends it as a Bearer header; a browser opens the shared link
 * once, is sent on without the token in the address and keeps it in a cookie. The token never comes back in an
 * answer except in that cookie.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { createApp } from '../web/create-app.js';
import { isLoopbackHost, OpenStatusPageError, serveStatusPage, type StatusPage } from '../web/server.js';
import { migratedStoreAt } from './support/store-template.js';

const TOKEN = 'tok-3f9a1c0b7e5d2468aa';

let dir: string;
let store: RecordStore;
let page: StatusPage;
let runId: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cutover-web-token-'));
  store = await openRecordStore({ databaseUrl: migratedStoreAt(path.join(dir, 'cutover.db')) });
  runId = (
    await store.reserveRun({
      runbookName: 'crm-go-live',
      mode: 'rehearsal',
      runbookVersion: '1',
      versionHash: 'h',
      runbookSource: '',
      startedBy: 'alice',
    })
  ).runId;
  await store.recordReconcileResult({
    runId,
    stepId: 'compare',
    attempt: 1,
    check: '',
    round: 1,
    startedAt: '2026-11-24T10:00:00.000Z',
    endedAt: '2026-11-24T10:00:01.000Z',
    result: {
      matched: 9,
      missing_in_target: 0,
      extra_in_target: 0,
      mismatched: 1,
      duplicate_keys: { source: 0, target: 0 },
      null_keys: { source: 0, target: 0 },
      columns: [{ source: 'salary', target: 'salary', mismatched: 1 }],
      examples: [{ kind: 'mismatched', key: { id: 4 }, columns: ['salary'], source: { salary: 5100 }, target: { salary: 5000 } }],
      key_examples: [],
      rows_read: { source: 10, target: 10 },
      sampled: false,
      sample: null,
      target_columns_not_compared: [],
      within_limits: false,
      limit_violations: ['1 row with differing values (limit 0)'],
      seconds: 0.1,
    },
  });
  page = await serveStatusPage({ port: 0, store, token: TOKEN });
}, 60_000);

afterAll(async () => {
  await page?.close();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** Every answer this file gets, to check at the end that none gave the token away. */
const answers: Answer[] = [];

async function request(pathname: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${page.url}${pathname}`, { headers, redirect: 'manual' });
  const answer = { status: response.status, headers: response.headers, body: await response.text() };
  answers.push(answer);
  return answer;
}

const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

describe('without the token', () => {
  it('answers 401 for every page, in the page’s words and with WWW-Authenticate: Bearer', async () => {
    const reconcile = `/runs/${runId}/steps/compare/reconcile`;
    for (const pathname of ['/', `/runs/${runId}`, '/runs/no-such-run', '/no-such-page', `${reconcile}.csv`, `${reconcile}.json`]) {
      const answer = await request(pathname);
      expect(answer.status, pathname).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
      expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
      expect(answer.body).toContain('<h1>This page needs its token</h1>');
      expect(answer.body).toContain('open the link the cutover lead shared');
      expect(answer.body).toContain('Authorization: Bearer');
      // Nothing about the runs leaks through the refusal.
      expect(answer.body).not.toContain('crm-go-live');
      expect(answer.body).not.toContain('salary');
    }
  });

  it('answers 401 with a JSON error for the API', async () => {
    for (const pathname of ['/api/runs', `/api/runs/${runId}`]) {
      const answer = await request(pathname);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.parse(answer.body).error).toMatch(/^This status page needs its token/);
    }
  });

  it('keeps /healthz open', async () => {
    const answer = await request('/healthz');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ ok: true });
  });
});

describe('a wrong token', () => {
  it('answers 401 however it is sent, and never repeats it', async () => {
    const wrong = 'wrong-token-0123456789-<b>';
    const tries = [
      await request('/api/runs', bearer(wrong)),
      await request('/', { cookie: `cutover_token=${encodeURIComponent(wrong)}` }),
      await request(`/?token=${encodeURIComponent(wrong)}`),
      await request(`/?token=${TOKEN.slice(0, -1)}`),
      await request(`/?token=${TOKEN}x`),
      await request('/api/runs', { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }),
    ];
    for (const answer of tries) {
      expect(answer.status).toBe(401);
      expect(answer.headers.get('set-cookie')).toBeNull();
      expect(answer.body).not.toContain('wrong-token');
    }
    expect(tries[0]!.body).toContain('is not this status page’s token');
  });
});

describe('the token as a Bearer header', () => {
  it('opens every page and the API', async () => {
    expect((await request('/', bearer())).status).toBe(200);
    expect((await request(`/runs/${runId}`, bearer())).status).toBe(200);
    const list = await request('/api/runs', bearer());
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body).map((r: { id: string }) => r.id)).toEqual([runId]);
    expect((await request('/api/runs', { authorization: `bearer  ${TOKEN}` })).status).toBe(200);
    // Past the token, a page that does not exist is still a 404.
    expect((await request('/runs/no-such-run', bearer())).status).toBe(404);
    const rows = await request(`/runs/${runId}/steps/compare/reconcile.csv`, bearer());
    expect(rows.status).toBe(200);
    expect(rows.body).toContain('(action),1,1,mismatched,4,salary,5100,5000,');
    expect((await request(`/runs/${runId}/steps/nothing/reconcile.json`, bearer())).status).toBe(404);
  });
});

describe('the shared link', () => {
  it('answers 303 to the same page without the token, and sets an HttpOnly, SameSite=Strict cookie', async () => {
    const answer = await request(`/runs/${runId}?token=${TOKEN}`);
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe(`/runs/${runId}`);
    const cookie = answer.headers.get('set-cookie')!;
    expect(cookie).toMatch(new RegExp(`^cutover_token=${TOKEN}; `));
    expect(cookie).toMatch(/; HttpOnly\b/);
    expect(cookie).toMatch(/; SameSite=Strict\b/);
    expect(cookie).toMatch(/; Path=\/(;|$)/);
    // Plain http, straight from the client: a Secure cookie would never come back.
    expect(cookie).not.toMatch(/; Secure\b/);
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('keeps the other parameters as they were, and the redirect on this site', async () => {
    const kept = await request(`/?runbook=crm-go-live&token=${TOKEN}&limit=5`);
    expect(kept.headers.get('location')).toBe('/?runbook=crm-go-live&limit=5');
    const sneaky = await request(`//evil.example/x?token=${TOKEN}`);
    expect(sneaky.status).toBe(303);
    // `//evil.example/x` as a Location would be another site; one leading slash keeps it a path here.
    expect(sneaky.headers.get('location')).toBe('/evil.example/x');
  });

  it('marks the cookie Secure when a proxy on this machine says the browser came over https', async () => {
    const answer = await request(`/?token=${TOKEN}`, { 'x-forwarded-proto': 'https' });
    expect(answer.headers.get('set-cookie')).toMatch(/; Secure\b/);
  });

  // Any client can send X-Forwarded-Proto: only a proxy on this machine is believed. (Asked of the app's own trust
  // rule, which Express applies to the address the request came from: the machine may have no other address to test from.)
  it('believes X-Forwarded-Proto only from a proxy on this machine', () => {
    const trusts = createApp({ store, token: TOKEN }).get('trust proxy fn') as (address: string, hop: number) => boolean;
    for (const address of ['127.0.0.1', '::1']) expect(trusts(address, 0), address).toBe(true);
    for (const address of ['10.0.0.5', '192.168.1.20', '2001:db8::1']) expect(trusts(address, 0), address).toBe(false);
  });

  it('gives a cookie that opens the pages from then on', async () => {
    const cookie = (await request(`/?token=${TOKEN}`)).headers.get('set-cookie')!.split(';')[0]!;
    const list = await request('/', { cookie: `theme=dark; ${cookie}` });
    expect(list.status).toBe(200);
    expect(list.body).toContain(runId);
    expect((await request(`/api/runs/${runId}`, { cookie })).status).toBe(200);
    // The page's download links are followed with the same cookie.
    const json = await request(`/runs/${runId}/steps/compare/reconcile.json`, { cookie });
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body).reconciliations[0].result.mismatched).toBe(1);
  });
});

describe('the token', () => {
  it('never comes back in an answer, except in the cookie the link sets', () => {
    expect(answers.length).toBeGreaterThan(10);
    for (const answer of answers) {
      expect(answer.body).not.toContain(TOKEN);
      for (const [name, value] of answer.headers) if (name !== 'set-cookie') expect(value, name).not.toContain(TOKEN);
    }
  });
});

describe('without a token', () => {
  it('serves on loopback only', async () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.20', 'example.com', '::ffff:10.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
    const open = await serveStatusPage({ port: 0, store });
    try {
      expect((await fetch(`${open.url}/api/runs`)).status).toBe(200);
    } finally {
      await open.close();
    }
    const refused = serveStatusPage({ port: 0, host: '0.0.0.0', store });
    await expect(refused).rejects.toBeInstanceOf(OpenStatusPageError);
    await expect(refused).rejects.toThrow(/readable by anyone who can reach 0\.0\.0\.0: set CUTOVER_WEB_TOKEN/);
  });
});
