/**
 * `cutover web`: serves the read-only status page until Ctrl-C. Finished runs come from the
 * record store; runs in flight from Temporal when it is reachable, else from the store.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { RunState } from '../run/state.js';
import {
  checkExposure,
  OpenStatusPageError,
  PlainHttpTokenError,
  serveStatusPage,
  StatusPageListenError,
  StatusPageTlsError,
  type StatusPageTls,
} from '../web/server.js';
import { readRunState } from '../common/read-run-state.js';
import type { RunQueries } from '../common/run-follower.js';
import { runChangesQuery, runStepsQuery, runSummaryQuery } from '../workflows/messages.js';
import { parseRunbook } from '../runbook/parse.js';
import { loadLiveModel } from '../timing/live-model-source.js';
import { EXIT, UsageError } from './errors.js';
import type { Output } from './output.js';
import { readSettings } from './settings.js';
import { openRecordStore } from '../prisma/store.js';
import { connectTemporal, type TemporalSession } from './temporal.js';
import { forwardSignedRequest } from '../common/forward-request.js';
import { isLoopbackHost } from '../web/server.js';
import { pageOrigin } from './web-people.js';

/** After a failed connection, how long the page answers from the store before trying Temporal again. */
const RECONNECT_AFTER_MS = 30_000;
/** A query needs a worker; with none running it would hang the page's request. */
const QUERY_DEADLINE_MS = 5_000;

/** Options of `cutover web`. */
export interface PageOptions {
  port: number;
  host?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsProxy?: boolean;
  /** Where browsers open the page (passkeys are bound to it): `--origin`, else `CUTOVER_WEB_ORIGIN`. */
  origin?: string;
}

/** `cutover web [--port N] [--host H] [--tls-cert FILE --tls-key FILE | --tls-proxy]` */
export async function servePage(options: PageOptions, out: Output): Promise<number> {
  const settings = readSettings(process.env, process.cwd(), { webToken: true });
  const token = settings.webToken;
  const tls = readTls(options);
  const exposure = {
    ...(options.host ? { host: options.host } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(tls ? { tls } : {}),
    ...(options.tlsProxy ? { tlsProxy: true } : {}),
  };
  // Before the store opens: a refused page leaves nothing behind and nothing listening.
  try {
    checkExposure(exposure);
  } catch (err) {
    if (err instanceof OpenStatusPageError || err instanceof PlainHttpTokenError) throw new UsageError(err.message);
    throw err;
  }
  const store = await openRecordStore(settings);
  // Temporal is optional for the page and comes and goes (the embedded server lives as long as
  // a `rehearse` or `worker`): connect on first need, and again a while after a failure.
  let session: Promise<TemporalSession> | undefined;
  let failedAt = 0;
  const client = async (): Promise<Client | undefined> => {
    if (!session && Date.now() - failedAt < RECONNECT_AFTER_MS) return undefined;
    session ??= connectTemporal(settings, { startEmbedded: false, purpose: 'show live state' });
    try {
      return (await session).client;
    } catch {
      session = undefined;
      failedAt = Date.now();
      return undefined;
    }
  };
  const liveState = async (runId: string): Promise<RunState | undefined> => {
    const temporal = await client();
    if (!temporal) return undefined;
    try {
      return await temporal.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
        readRunState(temporal.workflow.getHandle(runId)).then((read) => read.state),
      );
    } catch (err) {
      // Not in Temporal (never started here, or past retention): the store answers.
      if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
      // Temporal went away: drop the connection so the next requests answer from the store at
      // once instead of each waiting out the deadline, and reconnect later.
      const stale = session;
      session = undefined;
      failedAt = Date.now();
      void stale?.then((s) => s.close()).catch(() => undefined);
      throw err; // the page shows the store's snapshot with a note, and logs why
    }
  };

  // The live page's one watcher per run asks through here: each query under the same deadline, and a failure
  // (Temporal gone) answered by the channel with a note and a retry, never a hung stream.
  const follow = (runId: string): RunQueries => {
    const ask = async <T>(read: (temporal: Client) => Promise<T>): Promise<T> => {
      const temporal = await client();
      if (!temporal) throw new Error('Temporal is not reachable');
      return temporal.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => read(temporal));
    };
    return {
      summary: () => ask((t) => t.workflow.getHandle(runId).query(runSummaryQuery)),
      page: (offset, limit) => ask((t) => t.workflow.getHandle(runId).query(runStepsQuery, { offset, limit })),
      changes: (since) => ask((t) => t.workflow.getHandle(runId).query(runChangesQuery, since)),
    };
  };
  const forecastModel = async (record: { id: string; runbookSource: string; versionHash: string }) => {
    const parsed = parseRunbook(record.runbookSource, `${record.id} (recorded runbook)`);
    return parsed.ok ? loadLiveModel(store, parsed.runbook, record.versionHash) : undefined;
  };

  // Named sign-in and acting need the origin browsers use (WebAuthn binds passkeys to it): given, or this machine's own.
  const origin =
    options.origin !== undefined || process.env.CUTOVER_WEB_ORIGIN !== undefined
      ? pageOrigin(options.origin)
      : !tls && options.port !== 0 && isLoopbackHost(options.host ?? '127.0.0.1')
        ? `http://localhost:${options.port}`
        : undefined;
  const people = origin
    ? {
        people: store.webPeople,
        origin,
        rpId: new URL(origin).hostname,
        forward: async (runId: string, kind: Parameters<typeof forwardSignedRequest>[1], fields: Record<string, unknown>) => {
          const temporal = await client();
          if (!temporal)
            return { recorded: false as const, refused: 'Temporal is not reachable from the page right now; try again in a moment' };
          return forwardSignedRequest(temporal.workflow.getHandle(runId), kind, fields);
        },
      }
    : undefined;

  let page;
  try {
    page = await serveStatusPage({
      port: options.port,
      ...exposure,
      store,
      liveState,
      follow,
      forecastModel,
      ...(people ? { people } : {}),
    });
  } catch (err) {
    await store.close();
    if (err instanceof StatusPageListenError || err instanceof StatusPageTlsError) throw new UsageError(err.message);
    throw err;
  }
  // Says whether a token is needed and how to share the page, never the token itself (terminals get logged).
  out.line(
    token !== undefined
      ? `status page on ${page.url} (read-only; token required; records in ${store.databasePath}); ` +
          `share it as ${page.url}/?token=<CUTOVER_WEB_TOKEN>, or send Authorization: Bearer <CUTOVER_WEB_TOKEN>; Ctrl-C stops it`
      : `status page on ${page.url} (read-only; no token: open to whoever can reach it on this machine; records in ${store.databasePath}); Ctrl-C stops it`,
  );
  out.line(
    origin
      ? `people sign in with their passkeys at ${origin}/sign-in and act at ${origin}/act (\`cutover web invite PERSON\` makes an enrolment link)`
      : 'sign-in with passkeys is off: give --origin (or CUTOVER_WEB_ORIGIN) with the https address browsers open the page at',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await page.close();
  await (await session?.catch(() => undefined))?.close();
  await store.close();
  return EXIT.ok;
}

/** The certificate and key of `--tls-cert`/`--tls-key`, read now so a wrong path is one sentence before anything starts. */
function readTls(options: PageOptions): StatusPageTls | undefined {
  if (options.tlsCert === undefined && options.tlsKey === undefined) return undefined;
  if (options.tlsCert === undefined || options.tlsKey === undefined) {
    throw new UsageError('--tls-cert and --tls-key go together: give the certificate (PEM) and its private key (PEM)');
  }
  if (options.tlsProxy)
    throw new UsageError('--tls-proxy says a proxy serves https; with --tls-cert the page serves it itself: give one or the other');
  const read = (file: string, flag: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(
        `${flag} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path`,
      );
    }
  };
  return { cert: read(options.tlsCert, '--tls-cert'), key: read(options.tlsKey, '--tls-key') };
}
