/**
 * The status page as an Express app: a read-only view of runs for stakeholders, as HTML and as JSON.
 *
 * `createApp(deps)` builds it from its dependencies and does not listen (server.ts does), so tests and the
 * CLI wire their own store and Temporal. Like `cutover status`, a run that has ended is read from the record
 * store (Temporal may be gone by then), and a run in flight from Temporal, falling back to the last state
 * the store recorded when Temporal cannot answer: stakeholders still see something, marked as possibly
 * stale.
 *
 * Nothing here changes a run: people change runs through the CLI, whose Updates check who they are.
 */
import { undeliveredLines } from '../present/delivery-view.js';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { RunDetail } from '../prisma/records.js';
import type { RecordStore } from '../prisma/record-store.js';
import type { RunState } from '../run/state.js';
import {
  capitalised,
  page,
  renderErrorPage,
  renderNotFound,
  renderRunList,
  renderRunPage,
  renderTokenRequired,
  type RunView,
} from './pages.js';
import { requireToken, TokenRequiredError } from './token.js';
import { reportCsv, reportJson, selectRecords } from '../present/reconcile-report.js';
import { BOARD_CSS, BOARD_JS, HISTORY_CSS, LIVE_JS, PAGE_CSS } from './assets.js';
import { renderHistoryBody, runbookHistory } from './history.js';
import { parseRunbook } from '../runbook/parse.js';
import { boardTile, renderBoard, type BoardTile } from './board.js';
import { LiveHub, runContextOf, streamRun, type LiveDeps } from './live-hub.js';
import { BadEventIdError } from './run-channel.js';
import { comparePage, DEFAULT_THRESHOLD_PCT, renderCompareBody } from './compare-page.js';
import type { RunWithRunbook } from '../timing/compare.js';
import { actRoutes, type ActSettings } from './act.js';
import { ACT_CSS, ACT_JS, webauthnBrowserBundle } from './people-assets.js';
import { peopleRoutes } from './people-routes.js';
import { RefusedRequestError, sessionOf } from './people-session.js';

/** What the app reads from. */
export interface WebDeps extends LiveDeps {
  /** The record store: run history, and the last recorded state of runs in flight. */
  store: Pick<RecordStore, 'listRuns' | 'findRun' | 'reconcileResults'> &
    Partial<Pick<RecordStore, 'runbookRuns' | 'runTimings' | 'latestRunbookSource' | 'events' | 'deliveries'>>;
  /** Live state of a run in flight from Temporal, or undefined when Temporal does not know it / is unreachable. */
  liveState?: (runId: string) => Promise<RunState | undefined>;
  /**
   * `CUTOVER_WEB_TOKEN`: when set, every route but `/healthz` answers only requests that carry it (web/token.ts).
   * Unset, the page is open to whoever reaches it, which `serveStatusPage` allows on loopback only.
   */
  token?: string;
  /** Browsers reach the page over https only (it serves TLS, or a TLS proxy is in front): the token cookie is Secure. */
  secureCookie?: boolean;
  /** Behind plan by more than this turns a run amber on the wallboard (default `BOARD_LATE_MS`). */
  boardLateMs?: number;
  /** How often the wallboard reloads itself, seconds (default 10). */
  boardRefreshS?: number;
  /**
   * Named sign-in with passkeys and the acting view (issue 19, web/people-routes.ts, web/act.ts): on when given. A
   * signed-in person reads the pages without the shared token, which stays for read-only wallboards.
   */
  people?: ActSettings;
}

/** The most runs one request may ask for: a status page lists, it does not export. */
export const MAX_LIST_LIMIT = 500;

/** Runs listed when the request does not say how many. */
const DEFAULT_LIST_LIMIT = 100;

// ---------------------------------------------------------------------------------------------------
// Errors, and the one place that maps them to HTTP statuses (`handleErrors` below)

/** Thrown when a query parameter is malformed; the message is the sentence the client gets. */
export class BadQueryError extends Error {
  /** The parameter at fault. */
  readonly parameter: string;

  constructor(parameter: string, message: string) {
    super(message);
    this.name = 'BadQueryError';
    this.parameter = parameter;
  }
}

/** Thrown when neither the record store nor Temporal knows a run id. */
export class UnknownRunError extends Error {
  /** The id that was asked for. */
  readonly runId: string;

  constructor(runId: string) {
    super(`there is no run \`${runId}\``);
    this.name = 'UnknownRunError';
    this.runId = runId;
  }
}

/** Thrown when no route matches the request. */
class NoSuchPageError extends Error {
  constructor(method: string, path: string) {
    super(method === 'GET' || method === 'HEAD' ? `there is no page at ${path}` : `the status page is read-only: ${method} is not served`);
    this.name = 'NoSuchPageError';
  }
}

/**
 * Thrown when a run picked for a comparison of a runbook's runs is unknown, or a run of another runbook; the page says
 * which and links back to the runbook's history, where the form offers its runs.
 */
export class CompareRunError extends Error {
  /** The run asked for. */
  readonly runId: string;
  /** The runbook whose runs were to be compared. */
  readonly runbook: string;
  /** `unknown` (a 404) or `other-runbook` (a 400). */
  readonly reason: 'unknown' | 'other-runbook';

  constructor(runbook: string, runId: string, reason: 'unknown' | 'other-runbook', otherRunbook = '') {
    super(
      reason === 'unknown'
        ? `there is no run \`${runId}\` to compare; pick two runs of ${runbook} on its history page`
        : `run \`${runId}\` is a run of ${otherRunbook}, not of ${runbook}; pick two runs of ${runbook} on its history page`,
    );
    this.name = 'CompareRunError';
    this.runId = runId;
    this.runbook = runbook;
    this.reason = reason;
  }
}

/** Thrown for the rows of a step that recorded no reconciliation (a 404). */
class NothingReconciledError extends Error {
  constructor(runId: string, stepId: string) {
    super(`step \`${stepId}\` of run \`${runId}\` has recorded no reconciliation`);
    this.name = 'NothingReconciledError';
  }
}

const INTERNAL_ERROR_SENTENCE = 'Something went wrong on the status page while answering this request; the details are in its log.';

// ---------------------------------------------------------------------------------------------------
// Reading runs

/** The answer of `GET /api/runs/:id`, also what the run's HTML page draws. */
export interface RunAnswer {
  source: 'temporal' | 'store';
  /** `null` only for a run the store reserved that has not recorded any state yet (and Temporal does not answer). */
  state: RunState | null;
  /** Set when `state` may be stale: the store's snapshot of a run that has not ended. */
  note?: string;
}

/**
 * The run's notification messages that did not reach people, one sentence each without the reason (it names hosts,
 * ports and variables stakeholders need not see; `cutover events` has it). None when the store cannot say.
 */
async function failedDeliveriesOf(deps: WebDeps, runId: string): Promise<string[]> {
  const { events, deliveries } = deps.store;
  if (!events || !deliveries) return [];
  const records = {
    events: (id: string) => events.call(deps.store, id),
    deliveries: (q: { runId: string }) => deliveries.call(deps.store, q),
  };
  return undeliveredLines(records, runId, { withReasons: false });
}

/**
 * Finds the best state of a run: the store's for an ended run, Temporal's for one in flight, else the
 * store's last snapshot with a note saying so.
 *
 * @throws UnknownRunError when neither knows the run
 */
async function readRun(deps: WebDeps, runId: string): Promise<RunAnswer & { record: RunDetail | null }> {
  const record = await deps.store.findRun(runId);
  // An ended run no longer changes, and Temporal may have dropped it (retention): the store is the record.
  if (record?.endedAt && record.state) return { source: 'store', state: record.state, record };

  let live: RunState | undefined;
  let unavailable = deps.liveState === undefined;
  if (deps.liveState) {
    try {
      live = await deps.liveState(runId);
    } catch (error) {
      // Temporal down is an outage to note on the page, not a failed request; the reason goes to the log
      // only (it names hosts and ports stakeholders need not see).
      unavailable = true;
      console.error(`status page: live state of ${runId} unavailable: ${(error as Error)?.message ?? String(error)}`);
    }
  }
  if (live) return { source: 'temporal', state: live, record };
  if (!record) throw new UnknownRunError(runId);

  const note = record.state
    ? `${unavailable ? 'Live state from Temporal is unavailable' : 'Temporal has no live state for this run right now'}; showing the last state the record store has (it may be behind).`
    : 'This run is reserved but has not started recording its state yet.';
  return { source: 'store', state: record.state, note, record };
}

/** The runs in flight with the state the page has of each (the acting view lists what waits for a person in them). */
async function openRuns(deps: WebDeps): Promise<{ record: RunDetail; state: RunState }[]> {
  const records = await deps.store.listRuns({ limit: MAX_LIST_LIMIT });
  const open: { record: RunDetail; state: RunState }[] = [];
  for (const summary of records.filter((r) => !r.endedAt)) {
    const { state, record } = await readRun(deps, summary.id);
    if (state && record) open.push({ record, state });
  }
  return open;
}

/** `?runbook=NAME&limit=N`, validated. */
function listQuery(req: Request): { runbookName?: string; limit: number } {
  const { runbook, limit } = req.query;
  if (runbook !== undefined && (typeof runbook !== 'string' || runbook === '')) {
    throw new BadQueryError('runbook', 'The runbook parameter must be one runbook name, such as ?runbook=crm-go-live.');
  }
  let count = DEFAULT_LIST_LIMIT;
  if (limit !== undefined) {
    // A strict pattern rather than Number(): `1e2`, ` 5`, `0x10` and `5.0` are not what anyone means.
    if (typeof limit !== 'string' || !/^[1-9][0-9]{0,5}$/.test(limit) || Number(limit) > MAX_LIST_LIMIT) {
      throw new BadQueryError('limit', `The limit parameter must be a whole number from 1 to ${MAX_LIST_LIMIT}, such as ?limit=20.`);
    }
    count = Number(limit);
  }
  return { ...(runbook ? { runbookName: runbook } : {}), limit: count };
}

/** `?a=RUN&b=RUN[&threshold=PCT]` of a comparison of `runbook`'s runs, validated. */
function compareQuery(req: Request, runbook: string): { a: string; b: string; thresholdPct: number } {
  const { a, b, threshold } = req.query;
  if (typeof a !== 'string' || a === '' || typeof b !== 'string' || b === '') {
    throw new BadQueryError(
      typeof a !== 'string' || a === '' ? 'a' : 'b',
      `Pick two runs to compare, as ?a=RUN&b=RUN; the form on /runbooks/${runbook} offers the runs of ${runbook}.`,
    );
  }
  let thresholdPct = DEFAULT_THRESHOLD_PCT;
  if (threshold !== undefined) {
    if (typeof threshold !== 'string' || !/^[1-9][0-9]{0,3}$/.test(threshold) || Number(threshold) > 1000) {
      throw new BadQueryError('threshold', 'The threshold parameter must be a whole percentage from 1 to 1000, such as ?threshold=10.');
    }
    thresholdPct = Number(threshold);
  }
  return { a, b, thresholdPct };
}

/** The route's `:id`; Express 5 types a named parameter as a string. */
function runIdOf(req: Request<{ id: string }>): string {
  return req.params.id;
}

// ---------------------------------------------------------------------------------------------------
// The app

/** JSON routes answer errors in JSON; every other route with a page. */
function wantsJson(req: Request): boolean {
  return req.path.startsWith('/api/') || req.path === '/healthz' || req.path.endsWith('/events');
}

/**
 * Headers for every answer. The CSP is the machine-checked form of "no inline script or style, no external assets":
 * the page's own script and stylesheet are files it serves, so even if escaping were ever missed, a browser would run
 * no injected script and fetch nothing from anywhere else. Forms may go to this page only: the history page's
 * comparison form is a GET to it, which works without JavaScript.
 */
const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'Content-Security-Policy':
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
  next();
};

function sendPage(res: Response, statusCode: number, body: string): void {
  res.status(statusCode).type('html').send(body);
}

/** The one place errors become HTTP statuses. Only our own errors' sentences reach the client. */
const handleErrors: ErrorRequestHandler = (error: unknown, req, res, next) => {
  if (res.headersSent) {
    // Too late to answer differently; Express closes the connection.
    next(error);
    return;
  }
  let statusCode: number;
  let sentence: string;
  if (error instanceof RefusedRequestError) {
    // A page the browser navigates to (a GET, or a form posted from anywhere) shows the sentence as a page.
    if (req.method === 'GET' || req.get('sec-fetch-mode') === 'navigate')
      sendPage(res, error.status, renderErrorPage('Refused', error.message));
    else res.status(error.status).json({ error: error.message });
    return;
  }
  if (error instanceof TokenRequiredError) {
    // RFC 6750: a 401 names the scheme that would work. Nothing of what was given is echoed.
    res.set('WWW-Authenticate', 'Bearer realm="cutover"');
    if (wantsJson(req)) res.status(401).json({ error: error.message });
    else sendPage(res, 401, renderTokenRequired(error.message));
    return;
  }
  if (error instanceof CompareRunError) {
    // Back to the runbook's history, whose form offers the runs that can be compared.
    const back = { href: `/runbooks/${encodeURIComponent(error.runbook)}`, label: `the history of ${error.runbook}` };
    const code = error.reason === 'unknown' ? 404 : 400;
    sendPage(
      res,
      code,
      code === 404 ? renderNotFound(error.message, back) : renderErrorPage('Bad request', `${capitalised(error.message)}.`, back),
    );
    return;
  }
  if (error instanceof BadQueryError || error instanceof BadEventIdError) {
    statusCode = 400;
    sentence = error.message;
  } else if (error instanceof UnknownRunError || error instanceof NoSuchPageError || error instanceof NothingReconciledError) {
    statusCode = 404;
    sentence = error.message;
  } else {
    statusCode = 500;
    sentence = INTERNAL_ERROR_SENTENCE;
    // A bug or an outage of the store: the stack is for whoever runs the page, never for the browser. (A request
    // that carried the token in its link never gets here: it was redirected without it.)
    console.error(`status page: ${req.method} ${req.originalUrl} failed:\n${(error as Error)?.stack ?? String(error)}`);
  }
  if (wantsJson(req)) {
    res.status(statusCode).json({ error: sentence });
  } else if (statusCode === 404) {
    sendPage(res, statusCode, renderNotFound(sentence));
  } else {
    sendPage(res, statusCode, renderErrorPage(statusCode === 400 ? 'Bad request' : 'Something went wrong', sentence));
  }
};

/**
 * Builds the status page app. It does not listen: pass it to `http.createServer` or use `serveStatusPage`.
 *
 * Routes: `GET /healthz`, `GET /api/runs?runbook=&limit=`, `GET /api/runs/:id`, `GET /` (the list of runs)
 * `GET /runs/:id` (one run) and `GET /runs/:id/steps/:step/reconcile.csv|json` (a step's differing rows). Anything else is a 404. With `deps.token`, everything but `/healthz` needs the
 * token first (a 401 otherwise, even for a page that does not exist).
 */
export function createApp(deps: WebDeps): express.Express & { hub: LiveHub } {
  const app = express() as express.Express & { hub: LiveHub };
  const hub = new LiveHub(deps, (runId) => deps.store.findRun(runId));
  app.hub = hub;
  // No need to tell every visitor which framework (and so which advisories) to try.
  app.disable('x-powered-by');
  // X-Forwarded-Proto is believed only from a proxy on this machine (the set-up the docs describe: the page on
  // 127.0.0.1 behind your own TLS proxy), and only to mark the token cookie Secure. Another machine's say-so is
  // not trusted: any client can send the header.
  app.set('trust proxy', 'loopback');
  app.use(securityHeaders);

  // Open with or without a token: monitoring asks whether the page is up, and learns nothing else.
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  const asset = (type: string, body: string) => (_req: Request, res: Response) => {
    res.type(type).set('Cache-Control', 'no-cache').send(body);
  };
  // The pages people sign in and act on: open without the shared token (people have their passkeys instead).
  if (deps.people) {
    app.get('/assets/page.css', asset('text/css; charset=utf-8', PAGE_CSS + BOARD_CSS + HISTORY_CSS + ACT_CSS));
    app.get('/assets/webauthn-browser.js', asset('text/javascript; charset=utf-8', webauthnBrowserBundle()));
    app.get('/assets/act.js', asset('text/javascript; charset=utf-8', ACT_JS));
    app.use(peopleRoutes(deps.people));
    app.use(
      // Live only with Temporal to follow the runs through (the run page's channels).
      actRoutes(
        deps.people,
        () => openRuns(deps),
        deps.follow && {
          hub,
          inFlight: async () =>
            (await deps.store.listRuns({ limit: MAX_LIST_LIMIT })).filter((r) => !r.endedAt && r.startedAt).map((r) => r.id),
          findRun: (runId) => deps.store.findRun(runId),
          ...(deps.retryMs !== undefined ? { retryMs: deps.retryMs } : {}),
        },
      ),
    );
  }

  if (deps.token !== undefined) {
    const tokenRequired = requireToken(deps.token, { secureCookie: deps.secureCookie === true });
    // A signed-in person reads the pages too (the session was checked by the people routes above).
    app.use((req, res, next) => (sessionOf(res) ? next() : tokenRequired(req, res, next)));
  }

  app.get('/assets/page.css', asset('text/css; charset=utf-8', PAGE_CSS + BOARD_CSS + HISTORY_CSS));
  app.get('/assets/live.js', asset('text/javascript; charset=utf-8', LIVE_JS));
  app.get('/assets/board.js', asset('text/javascript; charset=utf-8', BOARD_JS));
  // Browsers ask for it on every page; "none" quietly rather than a 404 in every console.
  app.get('/favicon.ico', (_req, res) => {
    res.status(204).end();
  });

  app.get('/api/runs', async (req, res) => {
    res.json(await deps.store.listRuns(listQuery(req)));
  });

  app.get('/api/runs/:id', async (req: Request<{ id: string }>, res) => {
    const { source, state, note } = await readRun(deps, runIdOf(req));
    res.json({ source, state, ...(note ? { note } : {}) });
  });

  app.get('/', async (req, res) => {
    const query = listQuery(req);
    const runs = await deps.store.listRuns(query);
    sendPage(res, 200, renderRunList(runs, query.runbookName ? { runbook: query.runbookName } : {}));
  });

  app.get('/runbooks/:name', async (req: Request<{ name: string }>, res) => {
    const { name } = req.params;
    const { runbookRuns, runTimings, latestRunbookSource } = deps.store;
    const latest = await latestRunbookSource?.call(deps.store, name);
    if (!latest || !runbookRuns || !runTimings) throw new NoSuchPageError('GET', `/runbooks/${name} (no runs of it are recorded)`);
    const parsed = parseRunbook(latest.source, `${latest.runId} (recorded runbook)`);
    if (!parsed.ok) throw new NoSuchPageError('GET', `/runbooks/${name} (its latest runbook does not parse)`);
    const records = await runbookRuns.call(deps.store, name);
    const runs = await runTimings.call(deps.store, records);
    const versionHash = records[0]?.versionHash ?? '';
    sendPage(res, 200, page(`History of ${name}`, renderHistoryBody(runbookHistory(parsed.runbook, versionHash, runs))));
  });

  app.get('/runbooks/:name/compare', async (req: Request<{ name: string }>, res) => {
    const { name } = req.params;
    const { runTimings, runbookRuns } = deps.store;
    if (!runTimings || !runbookRuns) throw new NoSuchPageError('GET', `/runbooks/${name}/compare (this page has no run history)`);
    const { a, b, thresholdPct } = compareQuery(req, name);
    const pick = async (runId: string): Promise<RunWithRunbook> => {
      const detail = await deps.store.findRun(runId);
      if (!detail) throw new CompareRunError(name, runId, 'unknown');
      if (detail.runbookName !== name) throw new CompareRunError(name, runId, 'other-runbook', detail.runbookName);
      const parsed = parseRunbook(detail.runbookSource, `${runId} (recorded runbook)`);
      if (!parsed.ok)
        throw new BadQueryError(runId === a ? 'a' : 'b', `The runbook recorded with run ${runId} no longer parses; pick another run.`);
      const [run] = await runTimings.call(deps.store, [detail]);
      return { run: run!, runbook: parsed.runbook };
    };
    const sides = [await pick(a), await pick(b)] as const;
    const choices = await runbookRuns.call(deps.store, name);
    const compared = comparePage(name, sides[0], sides[1], thresholdPct, Date.now());
    sendPage(res, 200, page(`${a} against ${b}`, renderCompareBody(compared, choices)));
  });

  app.get('/board', async (_req, res) => {
    const now = Date.now();
    const records = await deps.store.listRuns({ limit: MAX_LIST_LIMIT });
    const inFlight = records.filter((r) => !r.endedAt && r.startedAt);
    const latestEnded = new Map<string, (typeof records)[number]>();
    for (const r of records) if (r.endedAt && !latestEnded.has(r.runbookName)) latestEnded.set(r.runbookName, r);
    const tiles: BoardTile[] = [];
    for (const record of inFlight) {
      const channel = hub.channel(record.id);
      const state = (await channel?.current()) ?? (await deps.store.findRun(record.id))?.state ?? null;
      tiles.push(
        boardTile(record, state, now, {
          ...(deps.boardLateMs !== undefined ? { lateMs: deps.boardLateMs } : {}),
          ...(channel?.forecast ? { forecast: channel.forecast } : {}),
          ...(channel?.context ? { context: channel.context } : {}),
        }),
      );
    }
    for (const record of latestEnded.values()) tiles.push(boardTile(record, null, now));
    sendPage(res, 200, renderBoard(tiles, deps.boardRefreshS ?? 10, now, [...latestEnded.values()]));
  });

  app.get('/runs/:id', async (req: Request<{ id: string }>, res) => {
    const runId = runIdOf(req);
    const phase = typeof req.query.phase === 'string' && req.query.phase !== '' ? req.query.phase : undefined;
    const events = `/runs/${encodeURIComponent(runId)}/events${phase ? `?phase=${encodeURIComponent(phase)}` : ''}`;
    // A run in flight with a live channel: the page is drawn from what the channel holds, so a hundred page loads
    // ask Temporal nothing more than the one watcher already does. While a channel watches the run and last read it
    // in flight, not even the store is asked: the run's record (its steps, checks, decisions) is what a page load
    // would otherwise cost, and a hundred people opening the page at once would queue on it.
    const held = hub.held(runId);
    if (held) await held.ready;
    if (held?.state && !held.state.endedAt && !held.problem) {
      const view: RunView = { runId, source: 'temporal', state: held.state, record: null, sections: held.sectionsFor(phase ?? ''), events };
      sendPage(res, 200, renderRunPage(view));
      return;
    }
    const record = await deps.store.findRun(runId);
    const failedDeliveries = record ? await failedDeliveriesOf(deps, runId) : [];
    const channel = record?.endedAt ? undefined : hub.channel(runId);
    if (channel) await channel.ready;
    if (channel?.state) {
      const view: RunView = { runId, source: 'temporal', state: channel.state, record, sections: channel.sectionsFor(phase ?? ''), events };
      if (channel.problem) view.note = channel.problem;
      if (failedDeliveries.length > 0) view.failedDeliveries = failedDeliveries;
      sendPage(res, 200, renderRunPage(view));
      return;
    }
    const answer = await readRun(deps, runId);
    const context = runContextOf(answer.record);
    const view: RunView = { runId, source: answer.source, state: answer.state, record: answer.record };
    if (context) view.context = context;
    if (phase) view.phase = phase;
    if (answer.note) view.note = answer.note;
    if (failedDeliveries.length > 0) view.failedDeliveries = failedDeliveries;
    sendPage(res, 200, renderRunPage(view));
  });

  app.get('/runs/:id/events', async (req: Request<{ id: string }>, res) => {
    const runId = runIdOf(req);
    const record = await deps.store.findRun(runId);
    await streamRun(req, res, hub, {
      ...(deps.retryMs !== undefined ? { retryMs: deps.retryMs } : {}),
      ended: Boolean(record?.endedAt),
      fallback: async () => {
        const answer = await readRun(deps, runId);
        const context = runContextOf(answer.record);
        return { state: answer.state, ...(context ? { context } : {}) };
      },
    });
  });

  // A step's recorded differing rows, as `cutover reconcile-report` gives them: the latest attempt.
  app.get('/runs/:id/steps/:step/reconcile.:format', async (req: Request<{ id: string; step: string; format: string }>, res) => {
    const { id: runId, step: stepId, format } = req.params;
    if (format !== 'csv' && format !== 'json') throw new NoSuchPageError(req.method, req.path);
    const records = await deps.store.reconcileResults(runId, { stepId });
    if (records.length === 0) {
      if (!(await deps.store.findRun(runId))) throw new UnknownRunError(runId);
      throw new NothingReconciledError(runId, stepId);
    }
    const picked = selectRecords(records, {}, format);
    res.attachment(`${runId}-${stepId}-reconcile.${format}`);
    if (format === 'csv') res.type('text/csv; charset=utf-8').send(reportCsv(picked));
    else res.type('application/json; charset=utf-8').send(reportJson(runId, stepId, picked));
  });

  // Express answers an unmatched route with its own page; ours says it in the same words and format.
  app.use((req, _res, next) => {
    next(new NoSuchPageError(req.method, req.path));
  });
  app.use(handleErrors);
  return app;
}
