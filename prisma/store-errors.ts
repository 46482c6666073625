/**
 * The record store's errors, one class per condition. Each message is one sentence that names the
 * database (a SQLite file, or a PostgreSQL URL without its password) and says what to do; the CLI
 * shows it as is and exits 6 (cli/store.ts, cli/errors.ts).
 */

/** Base class of the store's errors; `instanceof StoreError` catches any of them. */
export class StoreError extends Error {
  /**
   * Which database: the absolute path of the SQLite file, or the PostgreSQL URL with its password
   * replaced by `***` (it appears in messages and logs).
   */
  readonly databasePath: string;

  constructor(message: string, databasePath: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.databasePath = databasePath;
  }
}

/** Thrown when the database file exists but is not a SQLite database. */
export class StoreNotADatabaseError extends StoreError {
  constructor(databasePath: string, options?: { cause?: unknown }) {
    super(`${databasePath} is not a SQLite database: move it away, or point CUTOVER_DATABASE_URL at another file.`, databasePath, options);
  }
}

/** Thrown when the database file or its folder cannot be created, opened or written. */
export class StoreNotWritableError extends StoreError {
  /** What the operating system or SQLite said. */
  readonly reason: string;

  constructor(databasePath: string, reason: string, options?: { cause?: unknown }) {
    super(
      `Cannot write the database ${databasePath} (${reason}): make its folder writable, or point CUTOVER_DATABASE_URL at a writable file.`,
      databasePath,
      options,
    );
    this.reason = reason;
  }
}

/** Thrown when the committed migrations cannot be applied to the database. */
export class StoreMigrationError extends StoreError {
  /** Migrations that were still missing when it failed. */
  readonly pending: readonly string[];
  /** Prisma's own output, for the details. */
  readonly output: string;

  constructor(databasePath: string, pending: readonly string[], output: string, databaseUrl = `file:${databasePath}`) {
    super(
      `Applying migrations ${pending.join(', ')} to ${databasePath} failed: ${migrationFailureHint(output)}; ` +
        `\`node scripts/prisma.mjs migrate deploy\` with CUTOVER_DATABASE_URL=${databaseUrl} shows Prisma's full report.`,
      databasePath,
    );
    this.pending = pending;
    this.output = output;
  }
}

/** The likely cause in Prisma's output, said as what to do. */
function migrationFailureHint(output: string): string {
  if (/SQLITE_BUSY|SocketTimeout|database is locked/i.test(output)) {
    return 'another process has the database open (a worker, a status page): stop it and retry';
  }
  if (/P3009/.test(output)) {
    return 'an earlier migration failed half-way and Prisma will not continue: start afresh on an empty database (move the SQLite file away, or drop and create the PostgreSQL database)';
  }
  if (/P3005/.test(output)) {
    return 'the database already holds tables that cutover did not create: point CUTOVER_DATABASE_URL at an empty database or one cutover created';
  }
  // The migration's SQL itself failed: the WebAssembly schema engine says only "External error", with a Rust trace.
  if (/External error|apply_migration/.test(output)) {
    return 'its SQL failed, usually because the database already holds tables of the same names that cutover did not create: point CUTOVER_DATABASE_URL at an empty database';
  }
  const error = output.split('\n').find((line) => /error/i.test(line) && !/^\s+at /.test(line));
  return error ? `Prisma said "${error.trim()}"` : 'Prisma gave no reason';
}

/**
 * Thrown when the database records a migration this cutover does not have: it was migrated by a
 * newer version, whose tables this one may not know how to write.
 */
export class StoreMigrationMissingError extends StoreError {
  /** Applied to the database, absent from this version's migrations folder. */
  readonly unknown: readonly string[];

  constructor(databasePath: string, unknown: readonly string[]) {
    super(
      `The database ${databasePath} has migration ${unknown.join(', ')} applied, which this cutover does not have: ` +
        `upgrade cutover on this machine to the version that wrote it, or point CUTOVER_DATABASE_URL at another database.`,
      databasePath,
    );
    this.unknown = unknown;
  }
}

/** Thrown when another process kept the database locked for longer than the store waits. */
export class StoreBusyError extends StoreError {
  constructor(databasePath: string, options?: { cause?: unknown }) {
    super(
      `The database ${databasePath} stayed locked by another process: retry, or stop the process that holds it (a migration in progress, a stuck worker).`,
      databasePath,
      options,
    );
  }
}

/** Thrown when the database URL is malformed or names a kind of database the store cannot open. */
export class StoreUrlError extends StoreError {
  /** The URL as given, with any password replaced by `***`. */
  readonly url: string;

  constructor(url: string, problem = 'is not supported') {
    super(
      `CUTOVER_DATABASE_URL ${url} ${problem}: use a SQLite file such as file:.cutover/cutover.db, ` +
        `or a PostgreSQL URL such as postgresql://user:password@host:5432/cutover?sslmode=require.`,
      url,
    );
    this.url = url;
  }
}

/** Thrown when the PostgreSQL server cannot be reached (refused, unknown host, timed out, TLS refused). */
export class StoreUnreachableError extends StoreError {
  /** What the network or the driver said (ECONNREFUSED, ENOTFOUND, …). */
  readonly reason: string;

  constructor(databasePath: string, reason: string, options?: { cause?: unknown }) {
    super(
      `Cannot reach the database server of ${databasePath} (${reason}): check the host and port in CUTOVER_DATABASE_URL and that PostgreSQL is running and accepts connections from this machine.`,
      databasePath,
      options,
    );
    this.reason = reason;
  }
}

/** Thrown when the TLS connection to PostgreSQL fails (no TLS on the server, a certificate not trusted). */
export class StoreTlsError extends StoreError {
  /** What the driver said. */
  readonly reason: string;

  constructor(databasePath: string, reason: string, options?: { cause?: unknown }) {
    super(
      `The TLS connection to ${databasePath} failed (${reason}): set sslmode in CUTOVER_DATABASE_URL to what the server offers (sslmode=disable for a server without TLS; sslrootcert=FILE for a private CA).`,
      databasePath,
      options,
    );
    this.reason = reason;
  }
}

/** Thrown when PostgreSQL refuses the user name or password. */
export class StoreAuthenticationError extends StoreError {
  constructor(databasePath: string, options?: { cause?: unknown }) {
    super(
      `PostgreSQL refused the user or password of ${databasePath}: fix the credentials in CUTOVER_DATABASE_URL (percent-encode special characters in the password).`,
      databasePath,
      options,
    );
  }
}

/** Thrown when the PostgreSQL database does not exist and the store may not create it. */
export class StoreDatabaseMissingError extends StoreError {
  /** The database name from the URL. */
  readonly database: string;

  constructor(databasePath: string, database: string, reason: string, options?: { cause?: unknown }) {
    super(
      `The database "${database}" of ${databasePath} does not exist and cannot be created (${reason}): create it (CREATE DATABASE "${database}"), or give the user in CUTOVER_DATABASE_URL the CREATEDB right.`,
      databasePath,
      options,
    );
    this.database = database;
  }
}

/** Thrown when a run id is not in the store (`getRun`, and writes about a run that was never reserved). */
export class RunNotFoundError extends Error {
  /** The id that was asked for. */
  readonly runId: string;

  constructor(runId: string) {
    super(`No run ${runId} is recorded in the run history: check the id (run ids look like <runbook>-<number>).`);
    this.name = 'RunNotFoundError';
    this.runId = runId;
  }
}
