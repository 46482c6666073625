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
import { durationMs, formatDuration } from '../runbook/duration.js';
import type { Action } from '../runbook/schema.js';
import { redact } from '../lib/redact.js';
import { dataFileRefusal } from '../common/secret-file.js';
import {
  actionEnvironment,
  actionUser,
  ActionUserError,
  OUTPUT_TAIL_BYTES,
  tail,
  type ActionContext,
  type ActionResult,
  type ActionUser,
} from './action-context.js';
import { sendHttpRequest } from './http-request.js';
import { runReconcile } from './reconcile.js';
import { runSqlStatement, type SqlTarget } from './sql-process.js';

export { expandEnv, sendHttpRequest } from './http-request.js';

/** Thrown when an action kind exists in the format but this version cannot run it. */
export class UnsupportedActionError extends Error {
  constructor(readonly kind: string) {
    super(`${kind} actions are not available yet in this version of cutover`);
    this.name = 'UnsupportedActionError';
  }
}

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
    case 'notify':
      // The workflow handles these itself (an Update, a durable timer, a signal to the run's notifier).
      throw new UnsupportedActionError(action.kind);
    default:
      throw new UnsupportedActionError((action as { kind: string }).kind);
  }
}

let actionUserCache: { name: string | undefined; user: ActionUser | undefined } | undefined;

/** {@link actionUser}, looked up once per name (a worker's setting does not change while it runs). */
function cachedActionUser(): ActionUser | undefined {
  const name = process.env.CUTOVER_ACTION_USER;
  const cached = actionUserCache;
  if (cached && cached.name === name) return cached.user;
  const user = actionUser();
  actionUserCache = { name, user };
  return user;
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
  const mask = ctx.redact ?? ((text: string) => text);
  let user: ActionUser | undefined;
  try {
    user = cachedActionUser();
  } catch (err) {
    if (err instanceof ActionUserError) return { ok: false, detail: `${err.message}; nothing ran` };
    throw err;
  }
  return new Promise<ActionResult>((resolve) => {
    let output = '';
    let timedOut = false;
    let cancelled = false;
    const child = spawn('/bin/sh', ['-c', action.command], {
      cwd,
      // Built for the command (an allow-list), never the worker's own: see actionEnvironment.
      env: { ...actionEnvironment(process.env, user), ...ctx.env, ...action.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    // Looked for while the output streams: a verbose command may print it long before the end.
    const wanted = action.expect?.output_contains;
    let seenWanted = false;
    const collect = (chunk: Buffer) => {
      const joined = output + chunk.toString('utf8');
      if (wanted !== undefined && !seenWanted) seenWanted = joined.includes(wanted);
      // Masked before it is cut: the cut must never split a secret (a part of it would survive the mask).
      output = tail(mask(joined), OUTPUT_TAIL_BYTES * 2);
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
 * Runs one SQL statement on a named connection and compares the result with the expectation.
 * The statement runs in its own process (see sql-process.ts), stopped after the action's
 * timeout (the step's, for actions; a check's own), so it never blocks the worker.
 */
export async function runSqlQuery(action: Extract<Action, { kind: 'sql' }>, ctx: ActionContext): Promise<ActionResult> {
  const connection = ctx.connections[action.connection];
  if (!connection) return { ok: false, detail: `no connection named ${action.connection} in the runbook` };
  if (connection.driver === 'csv')
    return { ok: false, detail: `connection ${action.connection} is a CSV file, which only reconcile steps read` };
  const refused = connection.driver === 'sqlite' ? dataFileRefusal(path.resolve(ctx.baseDir, connection.path)) : undefined;
  if (refused) return { ok: false, detail: `connection ${action.connection}: ${refused}` };
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
