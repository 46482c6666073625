/**
 * The one rule that says where the record store is, used by the CLI's settings (cli/settings.ts), the
 * store (prisma/connection.ts) and the Prisma CLI's configuration (prisma/prisma.config.ts).
 *
 * - `CUTOVER_DATABASE_URL` unset or empty: the SQLite file `<CUTOVER_HOME or .cutover>/cutover.db`.
 * - `file:<path>` or a plain path: that SQLite file. Relative paths, like `CUTOVER_HOME`, are relative
 *   to the working directory of the process that reads them.
 * - `postgres://…` or `postgresql://…` (with `sslmode`, `schema` and the other libpq-style parameters
 *   node-postgres understands): PostgreSQL.
 *
 * Pure (Node's `path` only, no Prisma), so the Prisma CLI's configuration can load it.
 */
import path from 'node:path';
import { StoreUrlError } from './store-errors.js';
import { redact } from '../lib/redact.js';

/** A SQLite file. */
export interface SqliteLocation {
  provider: 'sqlite';
  /** Absolute path of the file. */
  path: string;
  /** `file:<absolute path>`. */
  url: string;
  /** How messages name it: the path. */
  display: string;
}

/** A PostgreSQL database. */
export interface PostgresLocation {
  provider: 'postgresql';
  /** The URL as given (it holds the password, if any: never print it; print `display`). */
  url: string;
  /**
   * What node-postgres gets: the URL, with `uselibpqcompat=true` added when it has an `sslmode`, so
   * `sslmode` means what it means to psql and libpq (`require`: encrypted; `verify-full`: encrypted
   * and the server's certificate checked) instead of node-postgres 8's reading of `require` as
   * `verify-full`, which it also announces with a multi-line warning on every start.
   */
  connectionString: string;
  /** The database name from the URL's path. */
  database: string;
  /** The URL with the password replaced by `***`, for messages and logs. */
  display: string;
}

export type DatabaseLocation = SqliteLocation | PostgresLocation;

/** The `sslmode` values node-postgres and libpq know. */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/**
 * Where the record store is, from `CUTOVER_DATABASE_URL` and `CUTOVER_HOME` in `env`.
 * @throws StoreUrlError for a malformed URL or an unknown scheme
 */
export function databaseLocation(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): DatabaseLocation {
  const given = env.CUTOVER_DATABASE_URL?.trim();
  if (!given) {
    const file = path.resolve(cwd, env.CUTOVER_HOME || '.cutover', 'cutover.db');
    return { provider: 'sqlite', path: file, url: `file:${file}`, display: file };
  }
  return parseDatabaseUrl(given, cwd);
}

/**
 * Where a database URL points (see the module comment for the forms).
 * @throws StoreUrlError for a malformed URL or an unknown scheme
 */
export function parseDatabaseUrl(url: string, cwd: string = process.cwd()): DatabaseLocation {
  if (/^postgres(ql)?:\/\//i.test(url)) return parsePostgresUrl(url);
  // Another scheme is not ours; `C:\…` is a Windows path, not a scheme.
  if (/^[a-z][a-z0-9+.-]+:/i.test(url) && !url.startsWith('file:')) {
    throw new StoreUrlError(redact(url), 'is neither a file: nor a postgres:// URL');
  }
  const file = url.replace(/^file:(\/\/(?=\/))?/, '').replace(/\?.*$/, '');
  if (file === '' || file === ':memory:') throw new StoreUrlError(url, 'names no file');
  const absolute = path.resolve(cwd, file);
  return { provider: 'sqlite', path: absolute, url: `file:${absolute}`, display: absolute };
}

function parsePostgresUrl(url: string): PostgresLocation {
  const display = redact(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreUrlError(display, 'is not a valid URL (percent-encode special characters in the user and password)');
  }
  if (!parsed.hostname && !parsed.searchParams.get('host')) throw new StoreUrlError(display, 'names no host');
  let database: string;
  try {
    database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  } catch {
    throw new StoreUrlError(display, 'has a malformed database name');
  }
  if (database === '' || database.includes('/')) throw new StoreUrlError(display, 'names no database (…/cutover at the end)');
  const sslmode = parsed.searchParams.get('sslmode');
  if (sslmode !== null && !SSL_MODES.includes(sslmode)) {
    throw new StoreUrlError(display, `has sslmode=${sslmode}, which is none of ${SSL_MODES.join(', ')}`);
  }
  if (sslmode !== null && !parsed.searchParams.has('uselibpqcompat')) parsed.searchParams.set('uselibpqcompat', 'true');
  return { provider: 'postgresql', url, connectionString: parsed.toString(), database, display };
}
