/**
 * The `http` action and check: one request, its answer compared with the expectation. Hardened against the server it
 * talks to: the body read is capped, a `body_matches` pattern has a time limit, and redirects are followed by hand so a
 * header or body carrying a secret never goes to another origin.
 */
import vm from 'node:vm';
import type { Dispatcher, fetch as UndiciFetch } from 'undici';
import { durationMs, formatDuration } from '../runbook/duration.js';
import type { Action } from '../runbook/schema.js';
import { commandEnvironment, tail, type ActionContext, type ActionResult } from './action-context.js';

/** The most of a response body cutover reads: an expectation about a status or health answer needs far less. */
export const HTTP_BODY_LIMIT_BYTES = 4 * 1024 * 1024;
/** How long one `body_matches` pattern may run on a body: a pattern with nested repetition can take exponential time. */
export const BODY_MATCH_LIMIT_MS = 1000;
/** Redirects followed before giving up (fetch's own limit is 20; a service that needs more is misconfigured). */
const MAX_REDIRECTS = 10;
/** Headers that carry credentials whatever their value. */
const CREDENTIAL_HEADERS = /^(authorization|proxy-authorization|cookie)$/i;

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

interface HttpAnswer {
  status: number;
  headers?: { get(name: string): string | null };
  body?: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
}

/**
 * Sends one HTTP request and compares status and body with the expectation. `${VAR}` comes from
 * the same filtered environment `${env:...}` reads, plus the run variables; what is said about the
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
  // A value carries a secret when a reference was resolved into it (the mask changes it) or the worker's environment
  // was expanded into it: such a header, or body, is not sent on to another origin.
  const mask = ctx.redact ?? ((text: string) => text);
  const secretBearing = (rawValue: string, value: string) => /\$\{/.test(rawValue) || mask(value) !== value;
  // The step's timeout when the action sets none: a long-running call (a bulk export) may be
  // exactly what the step is for, and the workflow gives the activity that much time. This
  // deadline is the only one (see httpFetch): never longer, and never cut short at 5 minutes.
  const timeoutMs = action.timeout ? durationMs(action.timeout) : ctx.timeoutMs;
  const within = action.timeout ?? formatDuration(timeoutMs);
  // Held here until the end (it is read in the catch below): AbortSignal.any keeps only weak references to its
  // sources, and a timeout signal nobody holds may be collected before it fires.
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([deadline, ...(ctx.signal ? [ctx.signal] : [])]);
  const stopped = (): ActionResult | undefined =>
    ctx.signal?.aborted && ctx.workerStopping?.()
      ? {
          ok: false,
          interrupted: true,
          detail: `the worker stopped while waiting for ${said} to answer; the request may or may not have been applied`,
        }
      : undefined;
  let response: HttpAnswer | undefined;
  let body: string | undefined;
  try {
    let request = { url: action.url, method: action.method as string, headers: action.headers ?? {}, body: action.body };
    for (let hop = 0; ; hop += 1) {
      const init = {
        method: request.method,
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        signal,
        redirect: 'manual' as const,
      };
      response = ctx.fetch ? await ctx.fetch(request.url, init) : await httpFetch(request.url, init);
      const location = [301, 302, 303, 307, 308].includes(response.status) ? response.headers?.get('location') : null;
      if (!location) break;
      await response.body?.cancel().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) return { ok: false, detail: `${said} redirected more than ${MAX_REDIRECTS} times` };
      const next = new URL(location, request.url);
      const crossOrigin = next.origin !== new URL(request.url).origin;
      // 303, and 301/302 after a POST, turn into a GET without a body (as fetch does); 307 and 308 resend it.
      const keepsBody = response.status === 307 || response.status === 308;
      const rawBody = raw.body ?? '';
      if (crossOrigin && keepsBody && request.body !== undefined && secretBearing(rawBody, request.body)) {
        return {
          ok: false,
          detail: `${said} redirected (HTTP ${response.status}) to another origin, ${next.origin}, which would be sent a body holding a secret; it was not sent`,
        };
      }
      const headers = crossOrigin
        ? Object.fromEntries(
            Object.entries(request.headers).filter(
              ([name, value]) => !CREDENTIAL_HEADERS.test(name) && !secretBearing(raw.headers?.[name] ?? '', value),
            ),
          )
        : request.headers;
      const toGet = response.status === 303 || ((response.status === 301 || response.status === 302) && request.method === 'POST');
      request = {
        url: next.href,
        method: toGet ? 'GET' : request.method,
        headers,
        body: keepsBody ? request.body : undefined,
      };
    }
    body = await readCapped(response);
  } catch (err) {
    const interrupted = stopped();
    if (interrupted) return interrupted;
    const timedOut = deadline.aborted && err instanceof Error && err.name === 'TimeoutError';
    if (timedOut && response)
      return { ok: false, detail: `${said} answered HTTP ${response.status} but its body did not finish within ${within}` };
    const reason = timedOut ? `no answer within ${within}` : describeFetchError(err);
    return { ok: false, detail: `${said} failed: ${asWritten(reason)}` };
  }
  if (body === undefined) {
    return {
      ok: false,
      detail: `${said} answered HTTP ${response.status} with a body over ${HTTP_BODY_LIMIT_BYTES / 1024 / 1024} MB, more than cutover reads; point the step at a smaller answer (a status or health endpoint)`,
    };
  }
  return compareAnswer(action.expect ?? {}, response.status, body, mask);
}

/** Compares an answer with the step's expectation. */
function compareAnswer(
  expect: NonNullable<Extract<Action, { kind: 'http' }>['expect']>,
  status: number,
  body: string,
  mask: (text: string) => string,
): ActionResult {
  // Masked before it is cut: the cut must never split a secret.
  const outputTail = tail(mask(body), 1000);
  const statuses = expect.status === undefined ? undefined : Array.isArray(expect.status) ? expect.status : [expect.status];
  const statusOk = statuses ? statuses.includes(status) : status >= 200 && status < 300;
  if (!statusOk) {
    return { ok: false, outputTail, detail: `HTTP ${status}, expected ${statuses ? statuses.join(' or ') : '2xx'}` };
  }
  if (expect.body_contains !== undefined && !body.includes(expect.body_contains)) {
    return { ok: false, outputTail, detail: `HTTP ${status} but the body does not contain "${expect.body_contains}"` };
  }
  if (expect.body_matches !== undefined) {
    const matched = matchWithin(expect.body_matches, body, BODY_MATCH_LIMIT_MS);
    if (matched === 'timeout') {
      return {
        ok: false,
        outputTail,
        detail: `HTTP ${status} but matching the body against /${expect.body_matches}/ took longer than ${formatDuration(BODY_MATCH_LIMIT_MS)} and was stopped; simplify the pattern (nested repetition such as (a+)+ can take exponential time)`,
      };
    }
    if (!matched) return { ok: false, outputTail, detail: `HTTP ${status} but the body does not match /${expect.body_matches}/` };
  }
  return { ok: true, outputTail, detail: `HTTP ${status}` };
}

/**
 * Tests `pattern` against `text`, stopped after `limitMs`. V8's watchdog for `vm` scripts interrupts a backtracking
 * regular expression too, so the worker (and every other step it runs) is never held by one pattern; the pattern keeps
 * JavaScript's syntax, which the runbook format documents. A linear-time engine (RE2) would refuse back-references
 * and look-arounds that runbooks may use, for a problem the time limit already bounds.
 */
export function matchWithin(pattern: string, text: string, limitMs: number): boolean | 'timeout' {
  const re = new RegExp(pattern);
  try {
    return vm.runInNewContext('re.test(text)', { re, text }, { timeout: limitMs }) === true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return 'timeout';
    throw err;
  }
}

/** The body as text, or undefined when it is longer than {@link HTTP_BODY_LIMIT_BYTES} (the rest is not read). */
async function readCapped(response: HttpAnswer): Promise<string | undefined> {
  if (!response.body) {
    // A test double without a stream.
    const text = await response.text();
    return Buffer.byteLength(text) > HTTP_BODY_LIMIT_BYTES ? undefined : text;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > HTTP_BODY_LIMIT_BYTES) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Fetch through a dispatcher whose own timeouts are off. Fetch's defaults (undici's headers and body timeouts) give up
 * on a server that stays silent for 5 minutes, whatever the step allows; the action's deadline, its AbortSignal, is
 * the one limit here. Loaded on the first HTTP action: commands that never send one do not pay for undici.
 */
async function httpFetch(url: string, init: RequestInit & { signal: AbortSignal }): Promise<HttpAnswer> {
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
