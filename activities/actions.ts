/**
 * The side effects a step can have: run a shell command, call an HTTP endpoint, query a
 * database, or simulate (sleep) for dry runs. Each returns an {@link ActionResult}; none
 * throws for an ordinary failure (a non-zero exit, a 503), so callers decide about retries.
 *
 * Action kinds form one registry ({@link performAction}); a new kind adds a case there.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher, fetch as UndiciFetch } from 'undici';
import { durationMs, formatDuration } from '../runbook/duration.js';
import type { Action } from '../runbook/schema.js';
import { redact } from '../lib/redact.js';
import { commandEnvironment, type ActionContext, type ActionResult } from './action-context.js';
import { runReconcile } from './reconcile.js';
import { runSqlStatement, type SqlTarget } from './sql-process.js';

/** Thrown when an action kind exists in the format but this version cannot run it. */
export class UnsupportedActionError extends Error {
  constructor(readonly kind: string) {
    super(`${kind} actions are not available yet in this version of cutover`);
    this.name = 'UnsupportedActionError';
  }
}

const OUTPUT_TAIL_BYTES = 4000;
const HEARTBEAT_EVERY_MS = 5000;

/** Runs one action of any kind. */
export async function performAction(action: Action, ctx: ActionContext): Promise<ActionResult> {
  switch (action.kind) {
    case 'shell':
      return runShellCommand(action, ctx);
    case 'http':
      return sendHttpRequest(action, ctx);
    case 'sql':
      return runSqlQuery(action, ctx);
    case 'simulate':
      return simulate(action, ctx);
    case 'reconcile':
      return runReconcile(action, ctx);
    case 'manual':
    case 'wait':
      // The workflow handles these itself (an Update, a durable timer).
      throw new UnsupportedActionError(action.kind);
    default:
      throw new UnsupportedActionError((action as { kind: string }).kind);
  }
}

/** Keeps the last `max` bytes of a stream, cut at a line start when possible. */
function tail(text: string, max = OUTPUT_TAIL_BYTES): string {
  if (text.length <= max) return text;
  const cut = text.slice(-max);
  const newline = cut.indexOf('\n');
  return newline >= 0 && newline < 200 ? cut.slice(newline + 1) : cut;
}

/** Runs `command` with /bin/sh in its own process group, killed as a group on timeout. */
export async function runShellCommand(
  action: {
    command: string;
    env?: Record<string, string>;
    cwd?: string;
    timeout?: string;
    expect?: { exit_code: number; output_contains?: string };
  },
  ctx: ActionContext,
): Promise<ActionResult> {
  const timeoutMs = action.timeout ? durationMs(action.timeout) : ctx.timeoutMs;
  const cwd = path.resolve(ctx.baseDir, action.cwd ?? '.');
  const expected = action.expect?.exit_code ?? 0;
  return new Promise<ActionResult>((resolve) => {
    let output = '';
    let timedOut = false;
    let cancelled = false;
    const child = spawn('/bin/sh', ['-c', action.command], {
      cwd,
      env: { ...commandEnvironment(), ...ctx.env, ...action.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // Looked for while the output streams: a verbose command may print it long before the end.
    const wanted = action.expect?.output_contains;
    let seenWanted = false;
    const collect = (chunk: Buffer) => {
      const joined = output + chunk.toString('utf8');
      if (wanted !== undefined && !seenWanted) seenWanted = joined.includes(wanted);
      output = tail(joined, OUTPUT_TAIL_BYTES * 2);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    const stop = () => {
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 5000).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    const beat = ctx.heartbeat ? setInterval(ctx.heartbeat, HEARTBEAT_EVERY_MS) : undefined;
    const onAbort = () => {
      if (ctx.workerStopping?.() && !ctx.check) {
        // Leave the command (its own process group) running and stop watching it.
        clearTimeout(timer);
        if (beat) clearInterval(beat);
        child.stdout.destroy();
        child.stderr.destroy();
        child.unref();
        resolve({
          ok: false,
          interrupted: true,
          outputTail: tail(output),
          detail: `the worker stopped while the command ran (pid ${child.pid}); it was left running`,
        });
        return;
      }
      cancelled = true;
      stop();
    };
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      clearTimeout(timer);
      if (beat) clearInterval(beat);
      resolve({ ok: false, detail: `could not start the command in ${cwd}: ${err.message}` });
    });
    // 'close' waits for every holder of the pipes; a command that starts a service with `&`
    // leaves one. After the command itself exits, give the pipes a moment, then stop waiting.
    child.on('exit', () => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 500).unref();
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (beat) clearInterval(beat);
      ctx.signal?.removeEventListener('abort', onAbort);
      const outputTail = tail(output);
      if (timedOut) {
        resolve({ ok: false, detail: `timed out after ${action.timeout ?? `${timeoutMs}ms`} and was killed`, outputTail });
        return;
      }
      if (cancelled) {
        resolve({ ok: false, detail: 'cancelled and killed', outputTail });
        return;
      }
      const exitCode = code ?? (signal ? 128 : -1);
      if (exitCode !== expected) {
        const lastLine = outputTail.trim().split('\n').pop() ?? '';
        resolve({
          ok: false,
          exitCode,
          outputTail,
          detail: `exit code ${exitCode}${signal ? ` (${signal})` : ''}, expected ${expected}${lastLine ? `: ${lastLine.slice(0, 200)}` : ''}`,
        });
        return;
      }
      if (wanted !== undefined && !seenWanted) {
        resolve({ ok: false, exitCode, outputTail, detail: `output does not contain "${wanted}"` });
        return;
      }
      resolve({ ok: true, exitCode, outputTail, detail: `exit code ${exitCode}` });
    });
  });
}

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
  const outputTail = tail(body, 1000);
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

/**
 * Runs one SQL statement on a named connection and compares the result with the expectation.
 * The statement runs in its own process (see sql-process.ts), stopped after the action's
 * timeout (the step's, for actions; a check's own), so it never blocks the worker.
 */
export async function runSqlQuery(action: Extract<Action, { kind: 'sql' }>, ctx: ActionContext): Promise<ActionResult> {
  const connection = ctx.connections[action.connection];
  if (!connection) return { ok: false, detail: `no connection named ${action.connection} in the runbook` };
  if (connection.driver === 'csv')
    return { ok: false, detail: `connection ${action.connection} is a CSV file, which only reconcile steps read` };
  const target: SqlTarget =
    connection.driver === 'sqlite'
      ? { driver: 'sqlite', file: path.resolve(ctx.baseDir, connection.path), readonly: connection.readonly }
      : { driver: 'postgres', url: connection.url, readonly: connection.readonly };
  // How messages name the database: the file, or the URL with any password as ***.
  const where = target.driver === 'sqlite' ? target.file : redact(target.url);
  // The format has no `timeout` on sql actions today; honour one if it gets one.
  const own = (action as { timeout?: unknown }).timeout;
  const timeoutMs = typeof own === 'string' ? durationMs(own) : ctx.timeoutMs;
  const answer = await runSqlStatement({
    target,
    query: action.query,
    timeoutMs,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    leaveRunning: () => ctx.workerStopping?.() === true && !ctx.check,
  });
  switch (answer.kind) {
    case 'open_failed':
      return { ok: false, detail: `cannot open ${action.connection} (${where}): ${answer.message}` };
    case 'failed':
      return { ok: false, detail: `query on ${action.connection} failed: ${answer.message}` };
    case 'crashed':
      return { ok: false, detail: `query on ${action.connection} failed: ${answer.message}` };
    case 'timed_out':
      return {
        ok: false,
        detail: `query on ${action.connection} timed out after ${typeof own === 'string' ? own : formatDuration(timeoutMs)} and was stopped`,
      };
    case 'cancelled':
      // A worker stop during a check lands here too; the checks report the interruption.
      return { ok: false, detail: `query on ${action.connection} was cancelled and stopped` };
    case 'left_running':
      return {
        ok: false,
        interrupted: true,
        detail: `the worker stopped while the query on ${action.connection} ran (pid ${answer.pid}); it was left running`,
      };
    case 'changed':
      return compareSql(action, [{ changes: answer.changes }], `${answer.changes} row(s) changed`);
    case 'rows': {
      const summary = answer.rowCount === 1 && answer.width === 1 ? `value ${JSON.stringify(answer.first)}` : `${answer.rowCount} row(s)`;
      return compareSql(action, answer.rowCount > 0 ? [{ value: answer.first }] : [], summary, answer.rowCount);
    }
  }
}

function compareSql(
  action: Extract<Action, { kind: 'sql' }>,
  rows: Array<Record<string, unknown>>,
  summary: string,
  rowCount = rows.length,
): ActionResult {
  const expect = action.expect;
  if (!expect) return { ok: true, detail: summary };
  const first = Object.values(rows[0] ?? {})[0];
  if (expect.rows !== undefined && rowCount !== expect.rows) {
    return { ok: false, detail: `${rowCount} row(s), expected ${expect.rows}` };
  }
  if (expect.value !== undefined && !sameValue(first, expect.value)) {
    return { ok: false, detail: `value ${JSON.stringify(first)}, expected ${JSON.stringify(expect.value)}` };
  }
  if (expect.min !== undefined && !(Number(first) >= expect.min)) {
    return { ok: false, detail: `value ${JSON.stringify(first)}, expected at least ${expect.min}` };
  }
  if (expect.max !== undefined && !(Number(first) <= expect.max)) {
    return { ok: false, detail: `value ${JSON.stringify(first)}, expected at most ${expect.max}` };
  }
  return { ok: true, detail: summary };
}

/** SQLite returns numbers for booleans and may return bigint; compare as people mean it. */
function sameValue(actual: unknown, expected: string | number | boolean | null): boolean {
  if (expected === null) return actual === null || actual === undefined;
  if (typeof expected === 'boolean') return Number(actual) === (expected ? 1 : 0);
  if (typeof expected === 'number') return Number(actual) === expected;
  return String(actual) === expected;
}

/** Waits for the simulated duration (heartbeating), then succeeds or fails as asked. */
export async function simulate(action: Extract<Action, { kind: 'simulate' }>, ctx: ActionContext): Promise<ActionResult> {
  const ms = durationMs(action.duration);
  const beat = ctx.heartbeat && ms > HEARTBEAT_EVERY_MS ? setInterval(ctx.heartbeat, HEARTBEAT_EVERY_MS) : undefined;
  try {
    if (ms > 0) await sleep(ms, undefined, ctx.signal ? { signal: ctx.signal } : {});
  } catch {
    if (ctx.workerStopping?.())
      return { ok: false, interrupted: true, detail: `the worker stopped during the simulated ${action.duration}` };
    return { ok: false, detail: 'cancelled' };
  } finally {
    if (beat) clearInterval(beat);
  }
  return action.outcome === 'failure'
    ? { ok: false, detail: `simulated failure after ${action.duration}` }
    : { ok: true, detail: `simulated for ${action.duration}` };
}
