/**
 * The run store: the durable record of runs, behind one small repository module.
 *
 * Temporal is the truth while a run is in flight; this store keeps what must outlive it (rehearsal
 * history, planned vs actual step timings, decisions, check results, back-out) so a finished run can be
 * reviewed with Temporal gone. Writers are Temporal activities, which retry: every write is an upsert
 * or a guarded update keyed by something the caller already knows, so running it twice changes nothing.
 *
 * Callers get plain objects with ISO time strings, never Prisma classes, so the CLI, the web page and
 * the activities do not depend on Prisma types. Queries go through Prisma (no hand-written SQL beyond
 * reading Prisma's own migration table) so the same code can later run on Postgres.
 */
import { mkdirSync, readdirSync, readFileSync, existsSync, statSync, accessSync, constants } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { Prisma, PrismaClient } from '@prisma/client';
import type { BackoutState, CheckOutcome, Decision, RunMode, RunState, RunStatus, StepAttemptRow } from '../runbook/run-state.js';

// ---------------------------------------------------------------------------------------------------
// Errors

/** Base class of the store's errors; `instanceof StoreError` catches any of them. */
export class StoreError extends Error {
  /** Absolute path of the SQLite file the store was opening or using. */
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

  constructor(databasePath: string, pending: readonly string[], output: string) {
    super(
      `Applying migrations ${pending.join(', ')} to ${databasePath} failed: ${migrationFailureHint(output)}; ` +
        `\`node scripts/prisma.mjs migrate deploy\` with CUTOVER_DATABASE_URL=file:${databasePath} shows Prisma's full report.`,
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
    return 'an earlier migration failed half-way and Prisma will not continue: move the file away to start afresh';
  }
  const error = output.split('\n').find((line) => /error/i.test(line) && !/^\s+at /.test(line));
  return error ? `Prisma said "${error.trim()}"` : 'Prisma gave no reason';
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

/** Thrown when the database URL is not one this store can open (today: a SQLite `file:` URL or path). */
export class StoreUrlError extends StoreError {
  /** The URL as given. */
  readonly url: string;

  constructor(url: string) {
    super(`The database URL ${url} is not supported: use a SQLite file such as file:.cutover/cutover.db in CUTOVER_DATABASE_URL.`, url);
    this.url = url;
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

// ---------------------------------------------------------------------------------------------------
// Plain types callers see

/** A run's status in the store: the workflow's statuses plus `pending` (reserved, not started yet). */
export type StoredRunStatus = 'pending' | RunStatus;

/** A step attempt's status: a forward step's (`StepStatus`) or a back-out's (`BackoutStepState`). */
export type StepAttemptStatus = StepAttemptRow['status'];

/** What `reserveRun` needs to know before the workflow starts. */
export interface ReserveRunInput {
  runbookName: string;
  mode: RunMode;
  runbookVersion: string;
  versionHash: string;
  /** The runbook YAML exactly as run, so a review does not depend on today's file. */
  runbookSource: string;
  startedBy: string;
  /** ISO time the cutover window opens, when one is planned. */
  plannedStart?: string;
  /** Length of the cutover window. */
  windowMs?: number;
}

/** Fields of a step attempt that an update may leave out (kept) or set to `null` (cleared). */
type ClearableAttemptField = 'plannedStartMs' | 'plannedDurationMs' | 'startedAt' | 'endedAt' | 'exitCode' | 'outputTail' | 'error';

/**
 * One attempt of one step, or of its back-out, as recorded by an activity (`StepAttemptRow`).
 * In an update, a field left `undefined` keeps the stored value (so "ended" need not repeat
 * "started"); `null` clears it.
 */
export type StepAttemptInput = Omit<StepAttemptRow, ClearableAttemptField> & {
  [K in ClearableAttemptField]?: StepAttemptRow[K] | null;
};

/** A run as listed: everything but the runbook text, the snapshot and the per-step rows. */
export interface RunSummary {
  /** `${runbookName}-${number}`; also the Temporal workflow id. */
  id: string;
  runbookName: string;
  number: number;
  mode: RunMode;
  status: StoredRunStatus;
  runbookVersion: string;
  versionHash: string;
  startedBy: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  plannedStart: string | null;
  windowMs: number | null;
  outcome: string | null;
  backoutTrigger: NonNullable<BackoutState['trigger']> | null;
  backoutReason: string | null;
  backoutRequestedBy: string | null;
  backoutStartedAt: string | null;
  backoutEndedAt: string | null;
  temporalRunId: string | null;
}

/** A recorded step attempt (times as ISO strings, absent values as `null`). */
export interface StepAttemptRecord {
  stepId: string;
  phaseId: string;
  title: string;
  owner: string;
  kind: string;
  purpose: 'forward' | 'backout';
  attempt: number;
  treatment: 'run' | 'simulate' | 'skip';
  status: StepAttemptStatus;
  plannedStartMs: number | null;
  plannedDurationMs: number | null;
  startedAt: string | null;
  endedAt: string | null;
  exitCode: number | null;
  outputTail: string | null;
  error: string | null;
  idempotencyKey: string;
}

/** A recorded check: the `CheckOutcome` as given, plus where it belongs. */
export interface CheckRecord extends CheckOutcome {
  stepId: string;
  attempt: number;
  /** Index of the check in the step's list. */
  seq: number;
}

/** A recorded decision: the `Decision` as given, plus its index in the run's decision log. */
export interface DecisionRecord extends Decision {
  seq: number;
}

/** Everything recorded about one run. */
export interface RunDetail extends RunSummary {
  runbookSource: string;
  /** The latest `RunState` snapshot, `null` until the workflow recorded one. */
  state: RunState | null;
  /** In the order they were first recorded, which is the order they started. */
  steps: StepAttemptRecord[];
  /** In the order they were first recorded. */
  checks: CheckRecord[];
  /** By `seq`. */
  decisions: DecisionRecord[];
}

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /**
   * `file:<path>` or a plain path; relative paths are relative to the project root. Default:
   * `CUTOVER_DATABASE_URL`, else `file:<CUTOVER_HOME or .cutover>/cutover.db`.
   */
  databaseUrl?: string;
  /** The project root (holding `prisma/migrations`). Default: found from this module's location. */
  projectRoot?: string;
}

// ---------------------------------------------------------------------------------------------------
// Locations

/**
 * Finds the project root by walking up from this module to the `package.json` named `cutover`: the
 * module runs both as `prisma/store.ts` and compiled as `dist/prisma/store.js`.
 */
export function findProjectRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'cutover') return dir;
      } catch {
        // An unreadable package.json on the way up is not ours; keep walking.
      }
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`No package.json named "cutover" above ${from}: the store must run inside the project.`);
    }
  }
}

/**
 * The absolute SQLite file path for a database URL (see `OpenStoreOptions.databaseUrl`). Kept in step
 * with `databaseFile()` in prisma/prisma.config.ts, which the Prisma CLI uses.
 */
export function resolveDatabasePath(
  projectRoot: string,
  databaseUrl: string | undefined = process.env.CUTOVER_DATABASE_URL || undefined,
): string {
  if (databaseUrl === undefined) {
    return path.resolve(projectRoot, process.env.CUTOVER_HOME || '.cutover', 'cutover.db');
  }
  // A scheme other than file: (postgres://…) is for a later store; `C:\…` is a Windows path, not a scheme.
  if (/^[a-z][a-z0-9+.-]+:/i.test(databaseUrl) && !databaseUrl.startsWith('file:')) {
    throw new StoreUrlError(databaseUrl);
  }
  const file = databaseUrl.replace(/^file:(\/\/(?=\/))?/, '').replace(/\?.*$/, '');
  if (file === '' || file === ':memory:') throw new StoreUrlError(databaseUrl);
  return path.resolve(projectRoot, file);
}

/** Names of the committed migrations (folders holding a migration.sql), in the order Prisma applies them. */
function committedMigrations(migrationsDir: string): string[] {
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(migrationsDir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort();
}

// ---------------------------------------------------------------------------------------------------
// Opening

/**
 * One PrismaClient per database file per process, shared by every `RunStore` opened on it. Beyond
 * economy, this matters for SQLite: better-sqlite3 is synchronous, so a second connection in the same
 * process that waits for the first one's write lock would block the very event loop the first one needs
 * to finish its transaction.
 */
interface SharedConnection {
  prisma: PrismaClient;
  databasePath: string;
  holders: number;
  closed: boolean;
}

const connections = new Map<string, Promise<{ connection: SharedConnection; applied: string[] }>>();

/**
 * Opens the run store, creating the SQLite file and applying committed migrations when needed.
 *
 * Opening an up-to-date database only compares migration names (a few ms); `migrate deploy` runs, as a
 * child process through scripts/prisma.mjs, only when a committed migration is missing. Stores opened
 * on the same file in one process share one connection; each `close()` releases its own hold.
 *
 * @throws StoreNotADatabaseError, StoreNotWritableError, StoreMigrationError, StoreBusyError, StoreUrlError
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<RunStore> {
  const projectRoot = options.projectRoot ?? findProjectRoot();
  const databasePath = resolveDatabasePath(projectRoot, options.databaseUrl);
  for (;;) {
    let opening = connections.get(databasePath);
    let first = false;
    if (!opening) {
      first = true;
      opening = connect(projectRoot, databasePath).then(({ prisma, applied }) => ({
        connection: { prisma, databasePath, holders: 0, closed: false },
        applied,
      }));
      connections.set(databasePath, opening);
      // A failed open must not poison later attempts (the user may fix the file and retry).
      opening.catch(() => connections.delete(databasePath));
    }
    const { connection, applied } = await opening;
    // The last holder closed it while we waited: open afresh.
    if (connection.closed) continue;
    connection.holders += 1;
    return new RunStore(connection, first ? applied : []);
  }
}

async function connect(projectRoot: string, databasePath: string): Promise<{ prisma: PrismaClient; applied: string[] }> {
  ensureWritable(databasePath);
  const committed = committedMigrations(path.join(projectRoot, 'prisma', 'migrations'));
  let prisma: PrismaClient | undefined;
  try {
    prisma = await createClient(databasePath);
    const before = await appliedMigrations(prisma);
    const pending = committed.filter((name) => !before.has(name));
    if (pending.length === 0) return { prisma, applied: [] };

    // Prisma's SQLite migrator takes `locking_mode=EXCLUSIVE`, which in WAL mode needs every other
    // connection to the file closed, ours included: close it while the child process migrates. The
    // same lock keeps two processes opening a fresh file at once from both applying a migration: the
    // loser's `migrate deploy` gives up on the lock, and the check below finds the work done.
    await prisma.$disconnect();
    prisma = undefined;
    const output = await migrateDeploy(projectRoot, databasePath);
    prisma = await createClient(databasePath);
    const after = await appliedMigrations(prisma);
    const stillPending = committed.filter((name) => !after.has(name));
    if (stillPending.length > 0) throw new StoreMigrationError(databasePath, stillPending, output);
    return { prisma, applied: pending.filter((name) => after.has(name)) };
  } catch (error) {
    await prisma?.$disconnect().catch(() => undefined);
    throw toStoreError(error, databasePath);
  }
}

async function createClient(databasePath: string): Promise<PrismaClient> {
  // timeout: how long SQLite waits for another process's lock (the CLI, a worker and the status page
  // share the file) within one statement before giving up with SQLITE_BUSY; see BUSY_TIMEOUT_MS.
  const adapter = new PrismaBetterSQLite3({ url: `file:${databasePath}`, timeout: BUSY_TIMEOUT_MS });
  const prisma = new PrismaClient({ adapter });
  try {
    // WAL lets the status page read while a worker writes. Foreign keys: better-sqlite3's build turns
    // them on, but SQLite's own default is off and the schema's references and cascades rely on them.
    await waitingOutLocks(() => prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL'));
    await prisma.$queryRawUnsafe('PRAGMA foreign_keys = ON');
    return prisma;
  } catch (error) {
    await prisma.$disconnect().catch(() => undefined);
    throw error;
  }
}

/** Fails early, with the path in the message, rather than deep inside SQLite or the Prisma CLI. */
function ensureWritable(databasePath: string): void {
  const dir = path.dirname(databasePath);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    if (existsSync(databasePath)) {
      if (!statSync(databasePath).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
      accessSync(databasePath, constants.R_OK | constants.W_OK);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StoreNotWritableError(databasePath, code ?? String(error), { cause: error });
  }
}

/** Finished, not rolled back: what Prisma counts as applied. */
async function appliedMigrations(prisma: PrismaClient): Promise<Set<string>> {
  try {
    const rows = await prisma.$queryRawUnsafe<{ migration_name: string }[]>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    return new Set(rows.map((row) => row.migration_name));
  } catch (error) {
    // A fresh file has no migration table yet: nothing is applied.
    if (/no such table|does not exist/i.test(describe(error))) return new Set();
    throw error;
  }
}

interface PrismaScript {
  runPrisma: (args: readonly string[], options?: { env?: NodeJS.ProcessEnv }) => Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Runs `prisma migrate deploy` on this file through scripts/prisma.mjs (which keeps Prisma offline). */
async function migrateDeploy(projectRoot: string, databasePath: string): Promise<string> {
  const script = path.join(projectRoot, 'scripts', 'prisma.mjs');
  const { runPrisma } = (await import(pathToFileURL(script).href)) as PrismaScript;
  const result = await runPrisma(['migrate', 'deploy'], {
    env: { CUTOVER_DATABASE_URL: `file:${databasePath}` },
  });
  return `${result.stdout}${result.stderr}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause === undefined ? '' : ` ${describe(error.cause)}`;
    // Prisma puts SQLite's code (SQLITE_NOTADB, SQLITE_BUSY_SNAPSHOT…) in `code`, not in the message.
    const { code, meta } = error as { code?: unknown; meta?: unknown };
    return `${String(code ?? '')} ${error.message}${meta === undefined ? '' : ` ${JSON.stringify(meta)}`}${cause}`;
  }
  return String(error);
}

/**
 * How long SQLite itself waits for another process's lock, within one statement. better-sqlite3 is
 * synchronous: while SQLite waits, the whole Node thread waits with it, and a worker then answers no
 * query, sends no heartbeat and runs nothing else. So SQLite waits only briefly, and the store waits
 * out a longer lock between tries, without blocking ({@link waitingOutLocks}).
 */
const BUSY_TIMEOUT_MS = 100;
/** How long one store call waits for another process's lock before it fails with StoreBusyError. */
const LOCK_WAIT_MS = 5000;
const LOCK_RETRY_MS = 100;

function isBusy(error: unknown): boolean {
  return /SQLITE_BUSY|database is locked/i.test(describe(error));
}

/**
 * Runs `fn` again while another process holds the database locked, for up to LOCK_WAIT_MS. Safe for
 * the store's writes: a statement refused for a lock changed nothing, and every write is an upsert or
 * a guarded update anyway.
 */
async function waitingOutLocks<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      await sleep(LOCK_RETRY_MS);
    }
  }
}

/** Turns what SQLite says through Prisma into the store's own errors, naming the file. */
function toStoreError(error: unknown, databasePath: string): unknown {
  if (error instanceof StoreError) return error;
  const text = describe(error);
  if (/SQLITE_NOTADB|file is not a database|file is encrypted/i.test(text)) {
    return new StoreNotADatabaseError(databasePath, { cause: error });
  }
  if (/SQLITE_BUSY|database is locked/i.test(text)) return new StoreBusyError(databasePath, { cause: error });
  const io = /SQLITE_(CANTOPEN|READONLY|IOERR|PERM)\w*|unable to open database file|readonly database/i.exec(text);
  if (io) return new StoreNotWritableError(databasePath, io[0], { cause: error });
  return error;
}

// ---------------------------------------------------------------------------------------------------
// The repository

const TERMINAL_STATUSES: readonly StoredRunStatus[] = ['completed', 'backed_out', 'failed'];
/** Attempts to allocate a run number before giving up: each loser of a race retries with the next one. */
const RESERVE_ATTEMPTS = 20;

/**
 * Reads and writes the run history. Get one from `openStore`; pass it to whoever needs it (activities
 * factory, web app) rather than opening another.
 */
export class RunStore {
  readonly #connection: SharedConnection;
  #closed = false;

  /** Absolute path of the SQLite file. */
  readonly databasePath: string;
  /**
   * Migrations that were missing when this `openStore` call opened the file and are applied now: empty
   * when it was up to date (no `migrate deploy` ran), or when this process had it open already.
   */
  readonly migrationsApplied: readonly string[];

  /** @internal Use `openStore`. */
  constructor(connection: SharedConnection, migrationsApplied: readonly string[]) {
    this.#connection = connection;
    this.databasePath = connection.databasePath;
    this.migrationsApplied = migrationsApplied;
  }

  get #prisma(): PrismaClient {
    if (this.#closed) throw new Error(`The run store ${this.databasePath} is closed.`);
    return this.#connection.prisma;
  }

  /**
   * Allocates the next run number for a runbook and records the run as `pending`. Numbers are unique
   * per runbook even with several processes reserving at once: the (runbookName, number) unique index
   * decides, and the loser of a race takes the next number.
   */
  async reserveRun(input: ReserveRunInput): Promise<{ runId: string; number: number }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await waitingOutLocks(() =>
          this.#prisma.$transaction(async (tx) => {
            const last = await tx.run.findFirst({
              where: { runbookName: input.runbookName },
              orderBy: { number: 'desc' },
              select: { number: true },
            });
            const number = (last?.number ?? 0) + 1;
            const runId = `${input.runbookName}-${number}`;
            await tx.run.create({
              data: {
                id: runId,
                runbookName: input.runbookName,
                number,
                mode: input.mode,
                status: 'pending',
                runbookVersion: input.runbookVersion,
                versionHash: input.versionHash,
                runbookSource: input.runbookSource,
                startedBy: input.startedBy,
                createdAt: new Date(),
                plannedStart: optionalDate(input.plannedStart, 'plannedStart'),
                windowMs: input.windowMs ?? null,
              },
            });
            return { runId, number };
          }),
        );
      } catch (error) {
        if (attempt >= RESERVE_ATTEMPTS || !isRaceLost(error)) throw this.#wrap(error);
      }
    }
  }

  /**
   * Deletes a run that was reserved but never started (Temporal was unreachable, the start failed), so
   * no half-written record remains. A run that started is history and stays.
   *
   * @returns true when a pending run was deleted; false when the run is unknown or has started. Never
   * throws for those, because it is called while reporting another failure.
   */
  async discardRun(runId: string): Promise<boolean> {
    const { count } = await this.#prisma.run
      .deleteMany({ where: { id: runId, status: 'pending', startedAt: null } })
      .catch((error: unknown) => {
        throw this.#wrap(error);
      });
    return count > 0;
  }

  /**
   * Records that the workflow started. `pending` becomes `running`; a status the workflow already
   * recorded (it may get there first) is kept.
   */
  async markRunStarted(runId: string, started: { startedAt: string; temporalRunId?: string }): Promise<void> {
    await this.#write(runId, async (prisma) => {
      await prisma.run.update({
        where: { id: runId },
        data: { startedAt: toDate(started.startedAt, 'startedAt'), temporalRunId: started.temporalRunId },
      });
      await prisma.run.updateMany({ where: { id: runId, status: 'pending' }, data: { status: 'running' } });
    });
  }

  /** Records one step attempt; recording the same (run, step, purpose, attempt) again updates that row. */
  async recordStepAttempt(row: StepAttemptInput): Promise<void> {
    const values = {
      phaseId: row.phaseId,
      title: row.title,
      owner: row.owner,
      kind: row.kind,
      treatment: row.treatment,
      status: row.status,
      plannedStartMs: row.plannedStartMs,
      plannedDurationMs: row.plannedDurationMs,
      startedAt: optionalDate(row.startedAt, 'startedAt'),
      endedAt: optionalDate(row.endedAt, 'endedAt'),
      exitCode: row.exitCode,
      outputTail: row.outputTail,
      error: row.error,
      idempotencyKey: row.idempotencyKey,
    };
    const key = { runId: row.runId, stepId: row.stepId, purpose: row.purpose, attempt: row.attempt };
    await this.#write(row.runId, (prisma) =>
      prisma.stepRun.upsert({
        where: { runId_stepId_purpose_attempt: key },
        create: { ...key, ...values },
        update: values,
      }),
    );
  }

  /** Records the checks run after one step attempt; `seq` is each check's index in `checks`. */
  async recordCheckResults(runId: string, stepId: string, attempt: number, checks: CheckOutcome[]): Promise<void> {
    if (checks.length === 0) return;
    await this.#write(runId, (prisma) =>
      prisma.$transaction(
        checks.map((check, seq) => {
          const key = { runId, stepId, attempt, seq };
          const values = {
            name: check.name,
            kind: check.kind,
            passed: check.passed,
            detail: check.detail,
            at: toDate(check.at, 'check.at'),
          };
          return prisma.checkResult.upsert({
            where: { runId_stepId_attempt_seq: key },
            create: { ...key, ...values },
            update: values,
          });
        }),
      ),
    );
  }

  /** Records entry `seq` of the run's decision log (its index in `RunState.decisions`). */
  async recordDecision(runId: string, seq: number, decision: Decision): Promise<void> {
    const values = {
      kind: decision.kind,
      by: decision.by,
      role: decision.role,
      target: decision.target ?? null,
      reason: decision.reason ?? null,
      at: toDate(decision.at, 'decision.at'),
      automatic: decision.automatic,
    };
    await this.#write(runId, (prisma) =>
      prisma.decision.upsert({
        where: { runId_seq: { runId, seq } },
        create: { runId, seq, ...values },
        update: values,
      }),
    );
  }

  /**
   * Stores the workflow's latest state: status, back-out and the JSON snapshot. Once a run has ended
   * (`finishRun`), a late retry carrying an older, unfinished state is ignored rather than reopening it.
   */
  async recordRunState(runId: string, state: RunState): Promise<void> {
    const data = stateColumns(state);
    await this.#write(runId, async (prisma) => {
      const terminal = (TERMINAL_STATUSES as readonly string[]).includes(state.status);
      const { count } = await prisma.run.updateMany({
        where: terminal ? { id: runId } : { id: runId, status: { notIn: [...TERMINAL_STATUSES] } },
        data,
      });
      if (count > 0) {
        // The state knows when the run started; the CLI's markRunStarted may not have come yet.
        await prisma.run.updateMany({
          where: { id: runId, startedAt: null },
          data: { startedAt: toDate(state.startedAt, 'state.startedAt') },
        });
      } else if ((await prisma.run.count({ where: { id: runId } })) === 0) {
        throw new RunNotFoundError(runId);
      }
    });
  }

  /** Records how the run ended, with the final state. Last word: always applied. */
  async finishRun(
    runId: string,
    finish: { status: Extract<RunStatus, 'completed' | 'backed_out' | 'failed'>; outcome: string; endedAt: string; state: RunState },
  ): Promise<void> {
    await this.#write(runId, (prisma) =>
      prisma.run.update({
        where: { id: runId },
        data: {
          ...stateColumns(finish.state),
          status: finish.status,
          outcome: finish.outcome,
          endedAt: toDate(finish.endedAt, 'endedAt'),
        },
      }),
    );
  }

  /** The runbook YAML the run was started with. @throws RunNotFoundError for an unknown run. */
  async runbookSource(runId: string): Promise<string> {
    const run = await this.#prisma.run.findUnique({ where: { id: runId }, select: { runbookSource: true } }).catch((error: unknown) => {
      throw this.#wrap(error);
    });
    if (!run) throw new RunNotFoundError(runId);
    return run.runbookSource;
  }

  /**
   * When each of `stepIds` first started and last ended going forward, from its attempt rows: what a
   * run that continued as new reads back instead of carrying it. Steps without rows are left out.
   */
  async stepTimes(runId: string, stepIds: readonly string[]): Promise<Record<string, [string | null, string | null]>> {
    const times: Record<string, [string | null, string | null]> = {};
    // Chunks keep each statement well under the databases' limits on bound parameters.
    for (let i = 0; i < stepIds.length; i += 500) {
      const rows = await this.#prisma.stepRun
        .groupBy({
          by: ['stepId'],
          where: { runId, purpose: 'forward', stepId: { in: stepIds.slice(i, i + 500) } },
          _min: { startedAt: true },
          _max: { endedAt: true },
        })
        .catch((error: unknown) => {
          throw this.#wrap(error);
        });
      for (const row of rows) times[row.stepId] = [iso(row._min.startedAt), iso(row._max.endedAt)];
    }
    return times;
  }

  /** Everything recorded about a run, or `null` when the id is unknown. */
  async findRun(runId: string): Promise<RunDetail | null> {
    const run = await this.#prisma.run
      .findUnique({
        where: { id: runId },
        include: {
          steps: { orderBy: { id: 'asc' } },
          checks: { orderBy: { id: 'asc' } },
          decisions: { orderBy: { seq: 'asc' } },
        },
      })
      .catch((error: unknown) => {
        throw this.#wrap(error);
      });
    if (!run) return null;
    return {
      ...summary(run),
      runbookSource: run.runbookSource,
      state: run.stateJson === null ? null : (JSON.parse(run.stateJson) as RunState),
      steps: run.steps.map((step) => ({
        stepId: step.stepId,
        phaseId: step.phaseId,
        title: step.title,
        owner: step.owner,
        kind: step.kind,
        purpose: step.purpose as StepAttemptRecord['purpose'],
        attempt: step.attempt,
        treatment: step.treatment as StepAttemptRecord['treatment'],
        status: step.status as StepAttemptStatus,
        plannedStartMs: step.plannedStartMs,
        plannedDurationMs: step.plannedDurationMs,
        startedAt: iso(step.startedAt),
        endedAt: iso(step.endedAt),
        exitCode: step.exitCode,
        outputTail: step.outputTail,
        error: step.error,
        idempotencyKey: step.idempotencyKey,
      })),
      checks: run.checks.map((check) => ({
        stepId: check.stepId,
        attempt: check.attempt,
        seq: check.seq,
        name: check.name,
        kind: check.kind,
        passed: check.passed,
        detail: check.detail,
        at: check.at.toISOString(),
      })),
      decisions: run.decisions.map((row) => {
        const decision: DecisionRecord = {
          seq: row.seq,
          kind: row.kind as Decision['kind'],
          by: row.by,
          role: row.role,
          at: row.at.toISOString(),
          automatic: row.automatic,
        };
        if (row.target !== null) decision.target = row.target;
        if (row.reason !== null) decision.reason = row.reason;
        return decision;
      }),
    };
  }

  /**
   * Everything recorded about a run.
   * @throws RunNotFoundError when the id is unknown
   */
  async getRun(runId: string): Promise<RunDetail> {
    const run = await this.findRun(runId);
    if (!run) throw new RunNotFoundError(runId);
    return run;
  }

  /** Runs, newest first; only one runbook's when `runbookName` is given. `limit` defaults to 100. */
  async listRuns(query: { runbookName?: string; limit?: number } = {}): Promise<RunSummary[]> {
    const runs = await this.#prisma.run
      .findMany({
        where: query.runbookName === undefined ? {} : { runbookName: query.runbookName },
        orderBy: [{ createdAt: 'desc' }, { number: 'desc' }],
        // Prisma reads a negative `take` as "from the end"; a limit is a count.
        take: Math.max(0, Math.trunc(query.limit ?? 100)),
        omit: { runbookSource: true, stateJson: true },
      })
      .catch((error: unknown) => {
        throw this.#wrap(error);
      });
    return runs.map(summary);
  }

  /** Releases this store; the connection closes when the last store on the file is closed. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const connection = this.#connection;
    connection.holders -= 1;
    if (connection.holders > 0) return;
    connection.closed = true;
    connections.delete(connection.databasePath);
    await connection.prisma.$disconnect();
  }

  /** Runs a write about one run, turning "that run does not exist" into RunNotFoundError. */
  async #write<T>(runId: string, write: (prisma: PrismaClient) => Promise<T>): Promise<T> {
    try {
      return await waitingOutLocks(() => write(this.#prisma));
    } catch (error) {
      // P2025: the record to update is missing; P2003: a row refers to a run that is not there.
      if (error instanceof Prisma.PrismaClientKnownRequestError && (error.code === 'P2025' || error.code === 'P2003')) {
        throw new RunNotFoundError(runId);
      }
      throw this.#wrap(error);
    }
  }

  #wrap(error: unknown): unknown {
    return toStoreError(error, this.databasePath);
  }
}

// ---------------------------------------------------------------------------------------------------
// Mapping

type RunRow = Omit<Prisma.RunGetPayload<true>, 'runbookSource' | 'stateJson'>;

function summary(run: RunRow): RunSummary {
  return {
    id: run.id,
    runbookName: run.runbookName,
    number: run.number,
    mode: run.mode as RunMode,
    status: run.status as StoredRunStatus,
    runbookVersion: run.runbookVersion,
    versionHash: run.versionHash,
    startedBy: run.startedBy,
    createdAt: run.createdAt.toISOString(),
    startedAt: iso(run.startedAt),
    endedAt: iso(run.endedAt),
    plannedStart: iso(run.plannedStart),
    windowMs: run.windowMs,
    outcome: run.outcome,
    backoutTrigger: run.backoutTrigger as RunSummary['backoutTrigger'],
    backoutReason: run.backoutReason,
    backoutRequestedBy: run.backoutRequestedBy,
    backoutStartedAt: iso(run.backoutStartedAt),
    backoutEndedAt: iso(run.backoutEndedAt),
    temporalRunId: run.temporalRunId,
  };
}

/** The run columns a `RunState` determines. */
function stateColumns(state: RunState) {
  return {
    status: state.status,
    outcome: state.outcome ?? null,
    endedAt: optionalDate(state.endedAt, 'state.endedAt') ?? null,
    backoutTrigger: state.backout.trigger ?? null,
    backoutReason: state.backout.reason ?? null,
    backoutRequestedBy: state.backout.requestedBy ?? null,
    backoutStartedAt: optionalDate(state.backout.startedAt, 'backout.startedAt') ?? null,
    backoutEndedAt: optionalDate(state.backout.endedAt, 'backout.endedAt') ?? null,
    stateJson: JSON.stringify(state),
  };
}

function iso(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}

/** Parses an ISO time; a malformed one is a caller's bug, named here rather than deep in Prisma. */
function toDate(value: string, field: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new RangeError(`${field} is not an ISO time: ${JSON.stringify(value)}.`);
  return date;
}

/** `undefined` stays `undefined` (Prisma: leave as is), `null` stays `null` (clear). */
function optionalDate(value: string | null | undefined, field: string): Date | null | undefined {
  return value === undefined || value === null ? value : toDate(value, field);
}

/**
 * True when another writer took the run number first: the unique index (P2002), or, on SQLite with
 * several processes, the write lock (SQLITE_BUSY, reported as a timeout or a write conflict).
 */
function isRaceLost(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError && ['P2002', 'P2034', 'P1008'].includes(error.code)) {
    return true;
  }
  return /SQLITE_BUSY|database is locked/i.test(describe(error));
}
