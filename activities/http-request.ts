/**
 * The `http` action and check: one request, its answer compared with the expectation.
 */
import type { Dispatcher, fetch as UndiciFetch } from 'undici';
import { durationMs, formatDuration } from '../runbook/duration.js';
import type { Action } from '../runbook/schema.js';
import { commandEnvironment, tail, type ActionContext, type ActionResult } from './action-context.js';

/**
 * Expands `${NAME}` and `${NAME:-default}` from the worker's environment, so one runbook
 * serves environments whose hosts and ports differ (rehearsal vs production).
 */
export function expandEnv(text: string, env: Record<string, string | undefined> = process.env): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => {
    const value = env[name];
    return value !== undefined && value !== '' ? value : (fallback ?? '');
  });
}

/**
 * Sends one HTTP request and compares status and body with the expectation. `${VAR}` comes from
 * the same filtered environment commands get, plus the run variables; what is said about the
 * request (recorded, shown on the status page) names the URL as the runbook wrote it, because
 * the expanded one may carry a token.
 */
export async function sendHttpRequest(raw: Extract<Action, { kind: 'http' }>, ctx: ActionContext): Promise<ActionResult> {
  const env = { ...commandEnvironment(), ...ctx.env };
  const action = {
    ...raw,
    url: expandEnv(raw.url, env),
    ...(raw.headers ? { headers: Object.fromEntries(Object.entries(raw.headers).map(([k, v]) => [k, expandEnv(v, env)])) } : {}),
    ...(raw.body !== undefined ? { body: expandEnv(raw.body, env) } : {}),
  };
  const said = `${raw.method} ${raw.url}`;
  /** An error text with the expanded URL (Node quotes it in some errors) put back as written. */
  const asWritten = (text: string) => (action.url === raw.url ? text : text.split(action.url).join(raw.url));
  // The step's timeout when the action sets none: a long-running call (a bulk export) may be
  // exactly what the step is for, and the workflow gives the activity that much time. This
  // deadline is the only one (see httpFetch): never longer, and never cut short at 5 minutes.
  const timeoutMs = action.timeout ? durationMs(action.timeout) : ctx.timeoutMs;
  const within = action.timeout ?? formatDuration(timeoutMs);
  const signals = [AbortSignal.timeout(timeoutMs), ...(ctx.signal ? [ctx.signal] : [])];
  const stopped = (): ActionResult | undefined =>
    ctx.signal?.aborted && ctx.workerStopping?.()
      ? {
          ok: false,
          interrupted: true,
          detail: `the worker stopped while waiting for ${said} to answer; the request may or may not have been applied`,
        }
      : undefined;
  let response: { status: number; text(): Promise<string> } | undefined;
  let body: string;
  try {
    const init = {
      method: action.method,
      ...(action.headers ? { headers: action.headers } : {}),
      ...(action.body !== undefined ? { body: action.body } : {}),
      signal: AbortSignal.any(signals),
    };
    response = ctx.fetch ? await ctx.fetch(action.url, init) : await httpFetch(action.url, init);
    body = await response.text();
  } catch (err) {
    const interrupted = stopped();
    if (interrupted) return interrupted;
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    if (timedOut && response)
      return { ok: false, detail: `${said} answered HTTP ${response.status} but its body did not finish within ${within}` };
    const reason = timedOut ? `no answer within ${within}` : describeFetchError(err);
    return { ok: false, detail: `${said} failed: ${asWritten(reason)}` };
  }
  const outputTail = tail(ctx.redact ? ctx.redact(body) : body, 1000);
  const expect = action.expect ?? {};
  const statuses = expect.status === undefined ? undefined : Array.isArray(expect.status) ? expect.status : [expect.status];
  const statusOk = statuses ? statuses.includes(response.status) : response.status >= 200 && response.status < 300;
  if (!statusOk) {
    return { ok: false, outputTail, detail: `HTTP ${response.status}, expected ${statuses ? statuses.join(' or ') : '2xx'}` };
  }
  if (expect.body_contains !== undefined && !body.includes(expect.body_contains)) {
    return { ok: false, outputTail, detail: `HTTP ${response.status} but the body does not contain "${expect.body_contains}"` };
  }
  if (expect.body_matches !== undefined && !new RegExp(expect.body_matches).test(body)) {
    return { ok: false, outputTail, detail: `HTTP ${response.status} but the body does not match /${expect.body_matches}/` };
  }
  return { ok: true, outputTail, detail: `HTTP ${response.status}` };
}

/**
 * Fetch through a dispatcher whose own timeouts are off. Fetch's defaults (undici's headers and body timeouts) give up
 * on a server that stays silent for 5 minutes, whatever the step allows; the action's deadline, its AbortSignal, is
 * the one limit here. Loaded on the first HTTP action: commands that never send one do not pay for undici.
 */
async function httpFetch(url: string, init: RequestInit & { signal: AbortSignal }): Promise<{ status: number; text(): Promise<string> }> {
  httpClient ??= import('undici').then(({ Agent, fetch }) => ({ fetch, dispatcher: new Agent({ headersTimeout: 0, bodyTimeout: 0 }) }));
  const { fetch, dispatcher } = await httpClient;
  return fetch(url, { ...(init as Parameters<typeof fetch>[1]), dispatcher });
}

let httpClient: Promise<{ fetch: typeof UndiciFetch; dispatcher: Dispatcher }> | undefined;

function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
    if (cause?.message) return cause.message;
    return err.message;
  }
  return String(err);
}
