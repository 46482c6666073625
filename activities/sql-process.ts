/**
 * Runs one SQL statement away from the worker's main thread, with a timeout that really stops
 * it: better-sqlite3 is synchronous, so a slow statement run in-process would starve the
 * heartbeats of every step the worker hosts.
 *
 * PostgreSQL runs there too, for one code path and one way to stop a statement: the session's
 * `statement_timeout` makes the server end it at the deadline even if nobody is left to ask, and
 * `client_connection_check_interval` (PostgreSQL 14 and later) makes the server notice within a
 * second that the killed process is gone, instead of running the statement to its end.
 *
 * Why a child process and not a `worker_threads` Worker: `Worker.terminate()` only stops
 * JavaScript. A statement is one long native call (`sqlite3_step`) that never returns to
 * JavaScript until it ends, and better-sqlite3 exposes no `sqlite3_interrupt`, so a terminated
 * thread goes on holding the database (and a core) until the statement finishes (measured
 * here: a recursive CTE ran on for minutes and `terminate()` never resolved). Killing a process
 * stops the statement for sure, and SQLite rolls the half-done statement back on the next open.
 *
 * Why the child's code is a string run with `node -e`: tests run the TypeScript sources under
 * vitest, production runs compiled `dist/*.js`, so a sibling file would be `.ts` in one and
 * `.js` in the other. A small plain CommonJS string is the same in both, needs no build step,
 * and loads better-sqlite3 from the path this module resolves.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { StderrTail } from './stderr-tail.js';

/** What the statement gave: an error, a change count, or the first value and the row count. */
export type SqlAnswer =
  | { kind: 'open_failed'; message: string }
  | { kind: 'failed'; message: string }
  | { kind: 'changed'; changes: number }
  | { kind: 'rows'; rowCount: number; width: number; first: unknown }
  | { kind: 'timed_out' }
  | { kind: 'cancelled' }
  /** The worker is stopping and the statement was left running in its own process. */
  | { kind: 'left_running'; pid: number | undefined }
  | { kind: 'crashed'; message: string };

/** Where the statement runs: a SQLite file, or a PostgreSQL server (the URL may hold a resolved password). */
export type SqlTarget = { driver: 'sqlite'; file: string; readonly: boolean } | { driver: 'postgres'; url: string; readonly: boolean };

export interface SqlRequest {
  target: SqlTarget;
  query: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Asked when `signal` aborts: true leaves the statement running instead of stopping it. */
  leaveRunning?: () => boolean;
}

// Plain CommonJS on purpose (see above). Only the first value and the row count travel back:
// that is all the comparison uses, and a SELECT of a million rows should not cross a pipe.
const CHILD_CODE = `
const reply = (answer) => { if (process.connected) process.send(answer, () => process.disconnect()); };
const rows = (count, width, first) => ({ kind: 'rows', rowCount: count, width, first });
function sqlite({ file, readonly }, query) {
  const Database = require(process.env.CUTOVER_SQLITE_MODULE);
  let db;
  try {
    db = new Database(file, { readonly, fileMustExist: readonly });
  } catch (err) {
    reply({ kind: 'open_failed', message: err.message });
    return;
  }
  try {
    db.pragma('busy_timeout = 5000');
    const statement = db.prepare(query);
    if (!statement.reader) {
      reply({ kind: 'changed', changes: statement.run().changes });
    } else {
      const all = statement.raw(true).all();
      reply(rows(all.length, all[0] ? all[0].length : 0, all[0] ? all[0][0] : undefined));
    }
  } catch (err) {
    reply({ kind: 'failed', message: err.message });
  } finally {
    db.close();
  }
}
async function postgres({ url, readonly }, query, timeoutMs) {
  const { Client } = require(process.env.CUTOVER_PG_MODULE);
  const client = new Client({ connectionString: url, statement_timeout: timeoutMs, application_name: 'cutover', connectionTimeoutMillis: 15000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    reply({ kind: 'open_failed', message: err.message });
    return;
  }
  try {
    await client.query("SET client_connection_check_interval = '1s'").catch(() => undefined);
    if (readonly) await client.query('SET default_transaction_read_only = on');
    let result = await client.query({ text: query, rowMode: 'array' });
    if (Array.isArray(result)) result = result[result.length - 1];
    if (result.fields && result.fields.length > 0) {
      reply(rows(result.rows.length, result.fields.length, result.rows[0] ? result.rows[0][0] : undefined));
    } else {
      reply({ kind: 'changed', changes: result.rowCount || 0 });
    }
  } catch (err) {
    reply({ kind: 'failed', message: err.message });
  } finally {
    await client.end().catch(() => undefined);
  }
}
process.once('message', ({ target, query, timeoutMs }) => {
  if (target.driver === 'postgres') postgres(target, query, timeoutMs);
  else sqlite(target, query);
});
`;

const requireHere = createRequire(import.meta.url);
const sqliteModule = requireHere.resolve('better-sqlite3');
const pgModule = requireHere.resolve('pg');

/** Runs `query` on the target database in a child process; never throws. */
export function runSqlStatement(request: SqlRequest): Promise<SqlAnswer> {
  return new Promise<SqlAnswer>((resolve) => {
    let settled = false;
    const stderr = new StderrTail();
    const child = spawn(process.execPath, ['-e', CHILD_CODE], {
      // Its own process group, like shell commands: a Ctrl-C meant for the worker does not
      // reach a statement that is left running on purpose.
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // Structured clone keeps blobs and numbers as they are (JSON would not).
      serialization: 'advanced',
      env: { CUTOVER_SQLITE_MODULE: sqliteModule, CUTOVER_PG_MODULE: pgModule, PATH: process.env.PATH ?? '' },
    });
    const done = (answer: SqlAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      resolve(answer);
    };
    const kill = (): void => {
      try {
        child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      kill();
      done({ kind: 'timed_out' });
    }, request.timeoutMs);
    const onAbort = (): void => {
      if (request.leaveRunning?.()) {
        // Stop watching; the statement finishes (or not) on its own.
        child.stderr?.destroy();
        if (child.connected) child.disconnect();
        child.unref();
        done({ kind: 'left_running', pid: child.pid });
        return;
      }
      kill();
      done({ kind: 'cancelled' });
    };
    if (request.signal?.aborted) {
      kill();
      done({ kind: 'cancelled' });
      return;
    }
    request.signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.add(chunk.toString('utf8'));
    });
    child.on('message', (message: SqlAnswer) => {
      // A blob comes back as a Uint8Array; the comparison saw a Buffer before, and still does.
      if (message.kind === 'rows' && message.first instanceof Uint8Array && !Buffer.isBuffer(message.first)) {
        message.first = Buffer.from(message.first);
      }
      done(message);
    });
    child.on('error', (err) => done({ kind: 'crashed', message: `could not start the query process: ${err.message}` }));
    // 'close', not 'exit': the answer may still be in the pipe when the process has exited.
    child.on('close', (code, signal) => {
      const last = stderr.lastLine();
      done({
        kind: 'crashed',
        message: `the query process ended without an answer (${signal ?? `exit code ${code}`})${last ? `: ${last}` : ''}`,
      });
    });
    child.send({ target: request.target, query: request.query, timeoutMs: request.timeoutMs });
  });
}
