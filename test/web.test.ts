/**
 * The status page over real HTTP (Node's fetch against the app listening on a free local port), reading a
 * real SQLite record store written the way the activities write it. Temporal's live answer is a function
 * the test controls, so "Temporal answers", "Temporal is down" and "Temporal does not know it" are each
 * one line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Decision, RunState } from '../run/state.js';
import type { Runbook } from '../runbook/schema.js';
import { initialRunState } from '../run/transitions.js';
import { MAX_LIST_LIMIT } from '../web/create-app.js';
import { escapeHtml } from '../present/html.js';
import { serveStatusPage, type StatusPage } from '../web/server.js';
import { migratedStoreAt } from './support/store-template.js';

const SCRIPT_TITLE = 'Stop writes <script>alert("pwned")</script>';

function webRunbook(name: string): { runbook: Runbook; source: string } {
  const source = `
name: ${name}
version: "2026.12-r1"
lead: lead
roles:
  lead: [alice]
  dba: [bob]
  business: [dana]
phases:
  - id: freeze
    kind: data_freeze
    steps:
      - { id: stop-writes, title: '${SCRIPT_TITLE}', owner: dba, expected: 2m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
  - id: migrate
    kind: migration
    steps:
      - { id: customers, title: Migrate customers, owner: dba, expected: 40m, action: { kind: shell, command: "true" } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go / no-go, owner: lead, gate: { approvers: [lead, business], question: "Switch on?" } }
`;
  const parsed = parseRunbook(source, `${name}.yaml`);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return { runbook: parsed.runbook, source };
}

const T0 = Date.parse('2026-12-05T22:00:00.000Z');
/** The ISO time `seconds` after T0. */
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

let dir: string;
let store: RecordStore;
let page: StatusPage;
/** What "Temporal" answers for the main page; each test sets it. */
let live: (runId: string) => Promise<RunState | undefined> = async () => undefined;
const liveCalls: string[] = [];

/** Reserves a run and starts it in the store; returns its id and its initial state. */
async function startRun(name: string, startedAtS: number): Promise<{ runId: string; state: RunState }> {
  const { runbook, source } = webRunbook(name);
  const { runId, number } = await store.reserveRun({
    runbookName: name,
    mode: 'rehearsal',
    runbookVersion: runbook.version,
    versionHash: 'hash-abc123',
    runbookSource: source,
    startedBy: 'alice',
  });
  await store.markRunStarted(runId, { startedAt: at(startedAtS) });
  const state = initialRunState(
    { runId, runNumber: number, runbook, versionHash: 'hash-abc123', mode: 'rehearsal', startedBy: 'alice', baseDir: dir },
    at(startedAtS),
  );
  // listRuns sorts by reservation time: keep reservations in distinct milliseconds so "newest first" is exact.
  await new Promise((resolve) => setTimeout(resolve, 15));
  return { runId, state };
}

async function recordDecisions(runId: string, decisions: Decision[]): Promise<void> {
  for (const [seq, decision] of decisions.entries()) await store.recordDecision(runId, seq, decision);
}

/** web-crm-1: completed, every step timed, the gate approved by two people. */
async function finishedRun(): Promise<string> {
  const { runId, state } = await startRun('web-crm', 0);
  const s = state.steps;
  Object.assign(s['stop-writes']!, { status: 'succeeded', attempts: 1, startedAt: at(0), endedAt: at(130) });
  Object.assign(s.customers!, { status: 'succeeded', attempts: 1, startedAt: at(130), endedAt: at(130 + 38 * 60) });
  const decisions: Decision[] = [
    { kind: 'approve', by: 'alice', role: 'lead', target: 'go', reason: 'counts match', at: at(2500), automatic: false },
    { kind: 'approve', by: 'dana', role: 'business', target: 'go', reason: 'totals <b>fine</b>', at: at(2600), automatic: true },
  ];
  Object.assign(s.go!, {
    status: 'succeeded',
    startedAt: at(2410),
    endedAt: at(2600),
    gate: {
      ...s.go!.gate!,
      status: 'approved',
      awaiting: [],
      votes: decisions.map((d) => ({ by: d.by, role: d.role, decision: 'approve', reason: d.reason, at: d.at, automatic: d.automatic })),
    },
  });
  await recordDecisions(runId, decisions);
  const final: RunState = { ...state, status: 'completed', endedAt: at(2600), outcome: 'All 3 steps done.', decisions };
  await store.finishRun(runId, { status: 'completed', outcome: final.outcome!, endedAt: final.endedAt!, state: final });
  return runId;
}

/** web-crm-2: customers failed, the first step was undone. */
async function backedOutRun(): Promise<string> {
  const { runId, state } = await startRun('web-crm', 3600);
  const s = state.steps;
  Object.assign(s['stop-writes']!, {
    status: 'succeeded',
    attempts: 1,
    startedAt: at(3600),
    endedAt: at(3660),
    backout: { status: 'succeeded', attempts: 1, startedAt: at(3700), endedAt: at(3705) },
  });
  Object.assign(s.customers!, {
    status: 'failed',
    attempts: 1,
    startedAt: at(3660),
    endedAt: at(3690),
    error: 'exit code 3: relation "customers" <missing>',
  });
  Object.assign(s.go!, { status: 'cancelled' });
  const final: RunState = {
    ...state,
    status: 'backed_out',
    endedAt: at(3705),
    outcome: 'Backed out: customers failed.',
    backout: { status: 'completed', trigger: 'step_failed', reason: 'customers failed', startedAt: at(3690), endedAt: at(3705) },
  };
  await store.finishRun(runId, { status: 'backed_out', outcome: final.outcome!, endedAt: final.endedAt!, state: final });
  return runId;
}

/** web-crm-3: in flight; the store's snapshot has customers running, Temporal (when asked) knows more. */
async function runInFlight(): Promise<{ runId: string; liveState: RunState }> {
  const { runId, state } = await startRun('web-crm', 7200);
  Object.assign(state.steps['stop-writes']!, { status: 'succeeded', attempts: 1, startedAt: at(7200), endedAt: at(7300) });
  Object.assign(state.steps.customers!, { status: 'running', attempts: 1, startedAt: at(7300) });
  await store.recordRunState(runId, state);

  const liveState = structuredClone(state);
  Object.assign(liveState.steps.customers!, { status: 'succeeded', endedAt: at(9000) });
  const vote = { by: 'alice', role: 'lead', decision: 'approve' as const, at: at(9100), automatic: false };
  Object.assign(liveState.steps.go!, {
    status: 'waiting',
    waitingFor: 'approval',
    startedAt: at(9000),
    gate: { ...liveState.steps.go!.gate!, status: 'open', awaiting: ['business'], votes: [vote] },
  });
  liveState.status = 'waiting';
  liveState.decisions = [{ kind: 'approve', by: 'alice', role: 'lead', target: 'go', at: at(9100), automatic: false }];
  return { runId, liveState };
}

let finishedId: string;
let backedOutId: string;
let inFlight: { runId: string; liveState: RunState };
let otherId: string;
let reservedId: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cutover-web-'));
  store = await openRecordStore({ databaseUrl: migratedStoreAt(path.join(dir, 'cutover.db')) });
  finishedId = await finishedRun();
  backedOutId = await backedOutRun();
  otherId = (await startRun('other-book', 8000)).runId;
  inFlight = await runInFlight();
  // Reserved, never started: what the CLI leaves for an instant between reserving and starting.
  reservedId = (
    await store.reserveRun({
      runbookName: 'reserved-book',
      mode: 'live',
      runbookVersion: '1',
      versionHash: 'h',
      runbookSource: '',
      startedBy: 'bob',
    })
  ).runId;
  page = await serveStatusPage({
    port: 0,
    store,
    liveState: (runId) => {
      liveCalls.push(runId);
      return live(runId);
    },
  });
}, 60_000);

afterAll(async () => {
  await page?.close();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function get(pathname: string, base = page.url): Promise<{ status: number; type: string; body: string; headers: Headers }> {
  const response = await fetch(`${base}${pathname}`);
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: await response.text(),
    headers: response.headers,
  };
}

async function getJson(pathname: string, base = page.url): Promise<{ status: number; json: any }> {
  const response = await get(pathname, base);
  expect(response.type).toMatch(/^application\/json/);
  return { status: response.status, json: JSON.parse(response.body) };
}

/** Text of an HTML fragment as a reader sees it: tags dropped (block ones as a space), entities decoded, spaces collapsed. */
function text(fragment: string): string {
  return fragment
    .replace(/<\/?(?:dt|dd|br|p|tr|td|th|h\d|caption)\b[^>]*>/g, ' ')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The cells of the table row whose header cell reads `key`, as text (the header cell first). */
function row(html: string, key: string): string[] {
  const rows = html.match(/<tr>.*?<\/tr>/gs) ?? [];
  const found = rows.find((r) => text(r.match(/<th scope="row">(.*?)<\/th>/s)?.[1] ?? '') === key);
  if (!found) throw new Error(`no row ${key} in:\n${html}`);
  return [...found.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/gs)].map((m) => text(m[1]!));
}

/** The section of a page from the heading with `id` to the next h2. */
function section(html: string, id: string): string {
  const start = html.indexOf(`<h2 id="${id}">`);
  if (start < 0) throw new Error(`no section ${id}`);
  const end = html.indexOf('<h2', start + 1);
  return html.slice(start, end < 0 ? undefined : end);
}

describe('health', () => {
  it('answers ok', async () => {
    expect(await getJson('/healthz')).toEqual({ status: 200, json: { ok: true } });
  });
});

describe('the list of runs', () => {
  it('lists the recorded runs newest first as JSON, filtered by runbook and limited', async () => {
    const all = await getJson('/api/runs');
    expect(all.status).toBe(200);
    expect(all.json.map((r: { id: string }) => r.id)).toEqual([reservedId, inFlight.runId, otherId, backedOutId, finishedId]);
    expect(all.json[4]).toMatchObject({
      id: 'web-crm-1',
      status: 'completed',
      mode: 'rehearsal',
      outcome: 'All 3 steps done.',
      endedAt: at(2600),
    });

    const crm = await getJson('/api/runs?runbook=web-crm&limit=2');
    expect(crm.json.map((r: { id: string }) => r.id)).toEqual(['web-crm-3', 'web-crm-2']);
    expect((await getJson(`/api/runs?limit=${MAX_LIST_LIMIT}`)).status).toBe(200);
    expect((await getJson('/api/runs?runbook=nothing-like-it')).json).toEqual([]);
  });

  it('refuses a limit that is not a whole number from 1 to 500, in a sentence', async () => {
    for (const limit of ['0', '-1', '501', 'ten', '1.5', '1e2', '', '5&limit=6']) {
      const answer = await getJson(`/api/runs?limit=${limit}`);
      expect({ limit, ...answer }).toEqual({
        limit,
        status: 400,
        json: { error: 'The limit parameter must be a whole number from 1 to 500, such as ?limit=20.' },
      });
    }
    const html = await get('/?limit=0');
    expect(html.status).toBe(400);
    expect(html.body).toContain('The limit parameter must be a whole number from 1 to 500');
  });

  it('shows the runs newest first as a page, each linking to its own', async () => {
    const html = await get('/');
    expect(html.status).toBe(200);
    expect(html.type).toMatch(/^text\/html/);
    const positions = [reservedId, inFlight.runId, otherId, backedOutId, finishedId].map((id) =>
      html.body.indexOf(`<a href="/runs/${id}">${id}</a>`),
    );
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);

    expect(row(html.body, finishedId)).toEqual([
      finishedId,
      'web-crm v2026.12-r1',
      'rehearsal',
      'completed',
      '2026-12-05 22:00:00 UTC',
      '43m20s',
      'All 3 steps done.',
    ]);
    expect(row(html.body, backedOutId)).toEqual([
      backedOutId,
      'web-crm v2026.12-r1',
      'rehearsal',
      'backed out',
      '2026-12-05 23:00:00 UTC',
      '1m45s',
      'Backed out: customers failed.',
    ]);
    expect(row(html.body, inFlight.runId).slice(3, 6)).toEqual(['running', '2026-12-06 00:00:00 UTC', 'in progress']);
  });

  it('says so when there are no runs', async () => {
    const html = await get('/?runbook=never-rehearsed');
    expect(html.status).toBe(200);
    expect(text(html.body)).toContain('No runs of never-rehearsed are recorded yet. Start one with cutover rehearse FILE.');
    expect(html.body).not.toContain('<table');
  });
});

describe('a finished run', () => {
  it('answers its recorded state as JSON without asking Temporal', async () => {
    live = async () => {
      throw new Error('Temporal must not be asked about an ended run');
    };
    liveCalls.length = 0;
    const { status, json } = await getJson(`/api/runs/${finishedId}`);
    expect(status).toBe(200);
    expect(json.source).toBe('store');
    expect(json.note).toBeUndefined();
    expect(json.state).toMatchObject({ runId: finishedId, status: 'completed', outcome: 'All 3 steps done.' });
    expect(liveCalls).toEqual([]);
  });

  it('shows every step by phase with owner, status, planned and actual, and the decision log', async () => {
    const html = await get(`/runs/${finishedId}`);
    expect(html.status).toBe(200);
    const page = html.body;
    expect(text(page.match(/<dl class="summary">.*?<\/dl>/s)![0])).toBe(
      'Mode rehearsal Status completed (from the record store) Runbook web-crm v2026.12-r1 (hash-abc123) ' +
        'Started by alice Started 2026-12-05 22:00:00 UTC Ended 2026-12-05 22:43:20 UTC (took 43m20s) Outcome All 3 steps done.',
    );

    const steps = section(page, 'steps');
    // Phases in runbook order, each heading its own group of rows.
    const phases = [...steps.matchAll(/<th scope="rowgroup"[^>]*>(.*?)<\/th>/gs)].map((m) => text(m[1]!));
    expect(phases).toEqual(['freeze (data freeze)', 'migrate (migration)', 'decide (go/no-go)']);
    expect(row(steps, 'stop-writes')).toEqual(['stop-writes', SCRIPT_TITLE, 'dba', 'succeeded', '2m00s', '2m10s', '']);
    expect(row(steps, 'customers')).toEqual(['customers', 'Migrate customers', 'dba', 'succeeded', '40m00s', '38m00s', '']);
    expect(row(steps, 'go')).toEqual([
      'go',
      'Go / no-go',
      'lead',
      'succeeded',
      '—',
      '3m10s',
      'Switch on? alice (lead) approved: “counts match” dana (business) approved: “totals <b>fine</b>” [automatic]',
    ]);

    const decisions = section(page, 'decisions');
    expect(row(decisions, 'alice')).toEqual(['2026-12-05 22:41:40 UTC', 'alice', 'lead', 'approved go', 'counts match', 'no']);
    expect(row(decisions, 'dana')).toEqual(['2026-12-05 22:43:20 UTC', 'dana', 'business', 'approved go', 'totals <b>fine</b>', 'yes']);
    expect(page).not.toContain('<h2 id="backout">');
  });

  it('shows why and how a backed-out run was undone', async () => {
    const page = (await get(`/runs/${backedOutId}`)).body;
    expect(row(section(page, 'steps'), 'customers')).toEqual([
      'customers',
      'Migrate customers',
      'dba',
      'failed',
      '40m00s',
      '30s',
      'exit code 3: relation "customers" <missing>',
    ]);
    const backout = section(page, 'backout');
    expect(text(backout)).toContain('Status completed Why a step failed: customers failed');
    expect(row(backout, 'stop-writes')).toEqual(['stop-writes', 'succeeded', '1', '5s', '']);
    expect(text(section(page, 'decisions'))).toBe('Decisions No decisions recorded yet.');
  });
});

describe('a run in flight', () => {
  it('shows the live state when Temporal answers', async () => {
    live = async (runId) => (runId === inFlight.runId ? structuredClone(inFlight.liveState) : undefined);
    liveCalls.length = 0;
    const { status, json } = await getJson(`/api/runs/${inFlight.runId}`);
    expect(status).toBe(200);
    expect(json).toEqual({ source: 'temporal', state: inFlight.liveState });
    expect(liveCalls).toEqual([inFlight.runId]);

    const page = (await get(`/runs/${inFlight.runId}`)).body;
    expect(page).toContain('live from Temporal');
    expect(page).not.toContain('class="note"');
    expect(row(page, 'customers').slice(3, 6)).toEqual(['succeeded', '40m00s', '28m20s']);
    expect(row(page, 'go').slice(3)).toEqual(['waiting', '—', 'in progress', 'Switch on? alice (lead) approved waiting for business']);
  });

  it('answers a run Temporal knows and the store does not (yet)', async () => {
    const elsewhere = { ...structuredClone(inFlight.liveState), runId: 'web-crm-99' };
    live = async (runId) => (runId === 'web-crm-99' ? elsewhere : undefined);
    const { status, json } = await getJson('/api/runs/web-crm-99');
    expect({ status, source: json.source, runId: json.state.runId }).toEqual({ status: 200, source: 'temporal', runId: 'web-crm-99' });
    expect((await get('/runs/web-crm-99')).status).toBe(200);
  });

  it('falls back to the recorded snapshot, with a note, when Temporal is unreachable', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      live = async () => {
        throw new Error('connect ECONNREFUSED 10.1.2.3:7233');
      };
      const { status, json } = await getJson(`/api/runs/${inFlight.runId}`);
      expect(status).toBe(200);
      expect(json).toMatchObject({
        source: 'store',
        note: 'Live state from Temporal is unavailable; showing the last state the record store has (it may be behind).',
      });
      expect(json.state.steps.customers).toMatchObject({ status: 'running' });
      expect(JSON.stringify(json)).not.toContain('10.1.2.3');

      const page = (await get(`/runs/${inFlight.runId}`)).body;
      expect(page).toContain('<p class="note" role="status">Live state from Temporal is unavailable;');
      expect(page).toContain('from the record store');
      expect(row(page, 'customers').slice(3, 6)).toEqual(['running', '40m00s', 'in progress']);
      expect(page).not.toContain('10.1.2.3');
      // The reason is not lost: it is in the server's log.
      expect(logged.mock.calls.flat().join('\n')).toContain('ECONNREFUSED 10.1.2.3:7233');
    } finally {
      logged.mockRestore();
    }
  });

  it('falls back to the recorded snapshot, with a note, when Temporal has no answer', async () => {
    live = async () => undefined;
    const { status, json } = await getJson(`/api/runs/${inFlight.runId}`);
    expect(status).toBe(200);
    expect(json.source).toBe('store');
    expect(json.note).toBe(
      'Temporal has no live state for this run right now; showing the last state the record store has (it may be behind).',
    );
    expect(json.state.status).toBe('running');
  });

  it('says a reserved run has not started, rather than that it does not exist', async () => {
    live = async () => undefined;
    const { status, json } = await getJson(`/api/runs/${reservedId}`);
    expect({ status, ...json }).toEqual({
      status: 200,
      source: 'store',
      state: null,
      note: 'This run is reserved but has not started recording its state yet.',
    });
    const html = await get(`/runs/${reservedId}`);
    expect(html.status).toBe(200);
    expect(text(html.body)).toContain('Mode live Status pending');
  });

  it('uses the snapshot when the page has no Temporal at all', async () => {
    const bare = await serveStatusPage({ port: 0, store });
    try {
      const { json } = await getJson(`/api/runs/${inFlight.runId}`, bare.url);
      expect(json).toMatchObject({ source: 'store', note: expect.stringContaining('Live state from Temporal is unavailable') });
    } finally {
      await bare.close();
    }
  });
});

describe('unknown runs and pages', () => {
  it('answers 404 with a sentence, as JSON and as a page', async () => {
    live = async () => undefined;
    expect(await getJson('/api/runs/nope-1')).toEqual({ status: 404, json: { error: 'there is no run `nope-1`' } });
    const html = await get('/runs/nope-1');
    expect(html.status).toBe(404);
    expect(html.type).toMatch(/^text\/html/);
    expect(text(html.body)).toContain('There is no run `nope-1`.');
    expect((await getJson('/api/nothing')).status).toBe(404);
    expect((await get('/nothing')).status).toBe(404);
  });

  it('serves nothing that changes a run', async () => {
    const response = await fetch(`${page.url}/api/runs/${finishedId}`, { method: 'DELETE' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'the status page is read-only: DELETE is not served' });
  });
});

describe('escaping', () => {
  it('escapes the characters that start markup or end an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('never lets a runbook author put markup on the page', async () => {
    const page = (await get(`/runs/${finishedId}`)).body;
    expect(page).toContain('Stop writes &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;');
    expect(page).toContain('totals &lt;b&gt;fine&lt;/b&gt;');
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toContain('<b>fine</b>');
    const backedOut = (await get(`/runs/${backedOutId}`)).body;
    expect(backedOut).toContain('relation &quot;customers&quot; &lt;missing&gt;');
    // An id in the address is text too, on the 404 page.
    const notFound = await get(`/runs/${encodeURIComponent('<img src=x>')}`);
    expect(notFound.body).toContain('&lt;img src=x&gt;');
    expect(notFound.body).not.toContain('<img');
  });

  it('forbids scripts and other hosts in the browser too', async () => {
    const { headers } = await get('/');
    const csp = headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    // The page's script and stylesheet are its own files: nothing inline runs or styles, even if escaping failed.
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(headers.get('x-powered-by')).toBeNull();
  });
});

describe('reconciliations', () => {
  it('shows what a comparison found on the step, and serves its differing rows as CSV and JSON', async () => {
    const { runId, state } = await startRun('web-reconcile', 7200);
    const summary = {
      matched: 1497,
      mismatched: 2,
      missing_in_target: 0,
      extra_in_target: 1,
      duplicate_keys: { source: 0, target: 0 },
      null_keys: { source: 0, target: 0 },
      rows_read: { source: 1499, target: 1500 },
      sampled: false,
      within_limits: false,
      limit_violations: ['2 rows with differing values (limit 0)'],
      seconds: 0.4,
    };
    Object.assign(state.steps.customers!, {
      status: 'failed',
      attempts: 1,
      startedAt: at(7200),
      endedAt: at(7260),
      reconcile: summary,
    });
    const final: RunState = { ...state, status: 'failed', endedAt: at(7260), outcome: 'customers failed' };
    await store.finishRun(runId, { status: 'failed', outcome: 'customers failed', endedAt: at(7260), state: final });
    await store.recordReconcileResult({
      runId,
      stepId: 'customers',
      attempt: 1,
      check: '',
      round: 1,
      startedAt: at(7200),
      endedAt: at(7260),
      result: {
        ...summary,
        columns: [],
        examples: [{ kind: 'mismatched', key: { id: 7 }, columns: ['name'], source: { name: '<b>Ann</b>, "A"' }, target: { name: 'Ann' } }],
        key_examples: [],
        sample: null,
        target_columns_not_compared: [],
      },
    });

    const html = await get(`/runs/${runId}`);
    expect(text(html.body)).toContain(
      'compared: 1,497 matched, 2 differ, 0 missing in the target, 1 only in the target; outside limits: 2 rows with differing values (limit 0)',
    );
    expect(html.body).toContain(`<a href="/runs/${runId}/steps/customers/reconcile.csv">CSV</a>`);

    const csv = await get(`/runs/${runId}/steps/customers/reconcile.csv`);
    expect(csv.status).toBe(200);
    expect(csv.type).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe(`attachment; filename=${runId}-customers-reconcile.csv`);
    expect(csv.body).toBe(
      'check,attempt,round,kind,id,column,source_value,target_value,note\r\n(action),1,1,mismatched,7,name,"<b>Ann</b>, ""A""",Ann,\r\n' +
        '(action),1,1,more,,,,,2 more differing keys not kept; raise `examples` to keep more\r\n',
    );
    const json = await getJson(`/runs/${runId}/steps/customers/reconcile.json`);
    expect(json.json.reconciliations[0].result.examples[0].key).toEqual({ id: 7 });

    const none = await get(`/runs/${runId}/steps/go/reconcile.csv`);
    expect(none.status).toBe(404);
    expect(text(none.body)).toContain(`Step \`go\` of run \`${runId}\` has recorded no reconciliation.`);
    expect((await get('/runs/nope-9/steps/customers/reconcile.csv')).status).toBe(404);
    expect((await get(`/runs/${runId}/steps/customers/reconcile.xlsx`)).status).toBe(404);
  });
});
