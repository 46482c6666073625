/**
 * The repository: reads and writes the run history, the same on SQLite and PostgreSQL.
 *
 * Temporal is the truth while a run is in flight; this store keeps what must outlive it (rehearsal
 * history, planned vs actual step timings, decisions, check results, back-out) so a finished run can be
 * reviewed with Temporal gone. Writers are Temporal activities, which retry: every write is an upsert
 * or a guarded update keyed by something the caller already knows, so running it twice changes nothing.
 * Queries go through Prisma, so both providers run the same code; the one exception is PostgreSQL's
 * advisory lock that queues reservations of one runbook.
 */
import type { Prisma } from '#prisma/sqlite';
import type { StepTimes } from '../run/checkpoint.js';
import type { StartReservation } from '../run/start-check.js';
import type { CheckOutcome, Decision, RunState, RunStatus } from '../run/state.js';
import { describe, toStoreError, waitingOutLocks, type Db } from './connection.js';
import type { DatabaseLocation } from './database-url.js';
import type { ReconcileResult } from '../reconcile/result.js';
import type {
  DeliveryRecord,
  DeliveryStatus,
  EventRecord,
  ReconcileRecord,
  ReserveRunInput,
  RunDetail,
  RunRecord,
  StateRevision,
  StepAttemptInput,
  StoredRunStatus,
} from './records.js';
import { detail, iso, optionalDate, stateColumns, stepAttemptColumns, summary, toDate } from './row-mapping.js';
import { RunNotFoundError } from './store-errors.js';
import { latestRunbookSource, runbookRuns, runTimings, type RunTiming } from './timing-queries.js';
import { WebPeopleStore } from './web-people.js';

/** One client per database per process, shared by every `RecordStore` opened on it (see prisma/store.ts). */
export interface SharedConnection {
  prisma: Db;
  location: DatabaseLocation;
  holders: number;
  closed: boolean;
  /** Forgets the connection and disconnects; called when the last holder closes. */
  release(): Promise<void>;
}

const TERMINAL_STATUSES: readonly StoredRunStatus[] = ['completed', 'backed_out', 'failed'];
/** Attempts to allocate a run number before giving up: each loser of a race retries with the next one. */
const RESERVE_ATTEMPTS = 20;

/**
 * Reads and writes the run history. Get one from `openRecordStore`; pass it to whoever needs it (activities
 * factory, web app) rather than opening another.
 */
export class RecordStore {
  readonly #connection: SharedConnection;
  #closed = false;

  /** The database: absolute path of the SQLite file, or the PostgreSQL URL without its password. */
  readonly databasePath: string;
  /** Which database this store writes: `sqlite` or `postgresql`. */
  readonly provider: DatabaseLocation['provider'];
  /**
   * Migrations that were missing when this `openRecordStore` call opened the database and are applied now: empty
   * when it was up to date (no `migrate deploy` ran), or when this process had it open already.
   */
  readonly migrationsApplied: readonly string[];

  /** @internal Use `openRecordStore`. */
  constructor(connection: SharedConnection, migrationsApplied: readonly string[]) {
    this.#connection = connection;
    this.databasePath = connection.location.display;
    this.provider = connection.location.provider;
    this.migrationsApplied = migrationsApplied;
  }

  get #prisma(): Db {
    if (this.#closed) throw new Error(`The run store ${this.databasePath} is closed.`);
    return this.#connection.prisma;
  }

  /**
   * Allocates the next run number for a runbook and records the run as `pending`. Numbers are unique
   * per runbook even with several processes (or machines) reserving at once: the (runbookName, number)
   * unique index decides, and the loser of a race takes the next number. On PostgreSQL, reservations
   * of one runbook also queue on a transaction-scoped advisory lock, so they rarely race at all.
   */
  async reserveRun(input: ReserveRunInput): Promise<{ runId: string; number: number }> {
    for (let attempt = 1; ; attempt++) {
      try {
        // Waiting for a pooled connection and for the lock can take a while when many runs start at once.
        return await waitingOutLocks(() =>
          this.#prisma.$transaction((tx) => this.#reserveNext(tx, input), { maxWait: 10_000, timeout: 15_000 }),
        );
      } catch (error) {
        if (attempt >= RESERVE_ATTEMPTS || !isRaceLost(error)) throw this.#wrap(error);
        // A little jitter so the losers of a race do not collide again in lockstep.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
      }
    }
  }

  /** One attempt of `reserveRun`, inside its transaction: max + 1. */
  async #reserveNext(tx: Prisma.TransactionClient, input: ReserveRunInput): Promise<{ runId: string; number: number }> {
    if (this.provider === 'postgresql') {
      // Taken until the transaction ends; hashtext: the lock key is a number, the runbook name is not.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${input.runbookName}))`;
    }
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
        autoApprove: input.autoApprove === true,
        baseDir: input.baseDir ?? null,
      },
    });
    return { runId, number };
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
    const values = stepAttemptColumns(row);
    const key = { runId: row.runId, stepId: row.stepId, purpose: row.purpose, attempt: row.attempt };
    await this.#write(row.runId, (prisma) =>
      prisma.stepRun.upsert({
        where: { runId_stepId_purpose_attempt: key },
        create: { ...key, ...values },
        update: values,
        // Twice per step: without a select, Prisma returns and maps every column of the row that
        // nobody reads: about a fifth of the CPU a write costs the worker (see bench/README.md, deploy).
        select: { id: true },
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

  /** Records one reconciliation (a round of a repeating check is one); the same key again replaces it. */
  async recordReconcileResult(record: ReconcileRecord): Promise<void> {
    const { runId, stepId, attempt, check, round, result } = record;
    const key = { runId, stepId, attempt, check, round };
    const values = {
      startedAt: toDate(record.startedAt, 'reconcile.startedAt'),
      endedAt: toDate(record.endedAt, 'reconcile.endedAt'),
      withinLimits: result.within_limits,
      matched: BigInt(result.matched),
      missingInTarget: BigInt(result.missing_in_target),
      extraInTarget: BigInt(result.extra_in_target),
      mismatched: BigInt(result.mismatched),
      resultJson: JSON.stringify(result),
    };
    await this.#write(runId, (prisma) =>
      prisma.reconcileResult.upsert({ where: { runId_stepId_attempt_check_round: key }, create: { ...key, ...values }, update: values }),
    );
  }

  /**
   * A run's reconciliations in the order they ran (by step, attempt, check and round), optionally of one step,
   * attempt or check.
   */
  async reconcileResults(runId: string, filter: { stepId?: string; attempt?: number; check?: string } = {}): Promise<ReconcileRecord[]> {
    const rows = await this.#prisma.reconcileResult
      .findMany({ where: { runId, ...filter }, orderBy: [{ startedAt: 'asc' }, { id: 'asc' }] })
      .catch((error: unknown) => {
        throw this.#wrap(error);
      });
    return rows.map((row) => ({
      runId: row.runId,
      stepId: row.stepId,
      attempt: row.attempt,
      check: row.check,
      round: row.round,
      startedAt: row.startedAt.toISOString(),
      endedAt: row.endedAt.toISOString(),
      result: JSON.parse(row.resultJson) as ReconcileResult,
    }));
  }

  /** The page's people, enrolment links, sessions and events (issue 19, prisma/web-people.ts). */
  get webPeople(): WebPeopleStore {
    return new WebPeopleStore(
      () => this.#prisma,
      (error) => this.#wrap(error),
    );
  }

  /** Appends one notification delivery attempt (attempts are rows of their own: nothing to upsert). */
  async recordDelivery(record: DeliveryRecord): Promise<void> {
    await this.#write(record.runId, (prisma) =>
      prisma.delivery.create({ data: { ...record, reason: record.reason ?? null, at: toDate(record.at, 'delivery.at') } }),
    );
  }

  /** Writes each event once: one recorded before (a retried activity) stays as it was. */
  async recordEvents(records: EventRecord[]): Promise<void> {
    for (const record of records) {
      const data = {
        runId: record.runId,
        eventId: record.eventId,
        seq: record.seq,
        kind: record.kind,
        at: toDate(record.at, 'event.at'),
        summary: record.summary,
        eventJson: JSON.stringify({ event: record.event, deliveries: record.deliveries }),
      };
      await this.#write(record.runId, (prisma) =>
        prisma.notificationEvent.upsert({
          where: { runId_eventId: { runId: record.runId, eventId: record.eventId } },
          create: data,
          update: {},
        }),
      );
    }
  }

  /** A run's events in the order its notifier took them. */
  async events(runId: string): Promise<EventRecord[]> {
    const rows = await this.#prisma.notificationEvent
      .findMany({ where: { runId }, orderBy: [{ seq: 'asc' }, { id: 'asc' }] })
      .catch((error: unknown) => {
        throw this.#wrap(error);
      });
    return rows.map((row) => {
      const body = JSON.parse(row.eventJson) as Pick<EventRecord, 'event' | 'deliveries'>;
      return { runId, eventId: row.eventId, seq: row.seq, kind: row.kind, at: row.at.toISOString(), summary: row.summary, ...body };
    });
  }

  /** Delivery attempts in the order they were made, of a run or of one idempotency key. */
  async deliveries(filter: { runId?: string; idempotencyKey?: string }): Promise<DeliveryRecord[]> {
    const rows = await this.#prisma.delivery.findMany({ where: filter, orderBy: [{ id: 'asc' }] }).catch((error: unknown) => {
      throw this.#wrap(error);
    });
    return rows.map(({ id: _id, reason, at, status, ...row }) => ({
      ...row,
      status: status as DeliveryStatus,
      ...(reason !== null ? { reason } : {}),
      at: at.toISOString(),
    }));
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
      // What the entry says of a signature: the signature and the request it covers, or a refused request's claimed key.
      signatureJson:
        decision.signature || decision.claimed
          ? JSON.stringify({
              ...(decision.signature ? { signature: decision.signature, request: decision.request ?? {} } : {}),
              ...(decision.claimed ? { claimed: decision.claimed } : {}),
            })
          : null,
      evidence: decision.evidence ?? null,
      hash: decision.hash ?? null,
      updateId: decision.updateId ?? null,
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
   * Records who sent each decision's request (the client identity Temporal recorded, by Update id), for the log to
   * show it once Temporal's history of the run is gone.
   */
  async recordSenders(runId: string, senders: Record<string, string>): Promise<void> {
    const entries = Object.entries(senders);
    if (entries.length === 0) return;
    await this.#write(runId, (prisma) =>
      prisma.$transaction(
        entries.map(([updateId, sentFrom]) => prisma.decision.updateMany({ where: { runId, updateId }, data: { sentFrom } })),
      ),
    );
  }

  /**
   * Stores the workflow's latest state: status, back-out and the JSON snapshot. Once a run has ended
   * (`finishRun`), a late retry carrying an older, unfinished state is ignored rather than reopening it. A snapshot
   * that says where it is in the run's life (`at`) is written only over an older one: the workflow does not wait for
   * every write, so two can land in either order.
   */
  async recordRunState(runId: string, state: RunState, at?: StateRevision): Promise<void> {
    const data = { ...stateColumns(state), ...(at ? { stateExecution: at.execution, stateRevision: at.revision } : {}) };
    const older = at
      ? {
          OR: [
            { stateRevision: null },
            { stateExecution: { lt: at.execution } },
            { stateExecution: at.execution, stateRevision: { lte: at.revision } },
          ],
        }
      : {};
    await this.#write(runId, async (prisma) => {
      const terminal = (TERMINAL_STATUSES as readonly string[]).includes(state.status);
      const { count } = await prisma.run.updateMany({
        where: terminal ? { id: runId, ...older } : { id: runId, status: { notIn: [...TERMINAL_STATUSES] }, ...older },
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
  async stepTimes(runId: string, stepIds: readonly string[]): Promise<StepTimes> {
    const times: StepTimes = {};
    // Chunks keep each statement well under the databases' limits on bound parameters.
    for (let i = 0; i < stepIds.length; i += 500) {
      const rows = await this.#prisma.stepRun
        .groupBy({
          by: ['stepId'],
          where: { runId, purpose: 'forward', stepId: { in: stepIds.slice(i, i + 500) } },
          _min: { startedAt: true },
          _max: { endedAt: true, worker: true },
        })
        .catch((error: unknown) => {
          throw this.#wrap(error);
        });
      for (const row of rows) times[row.stepId] = [iso(row._min.startedAt), iso(row._max.endedAt), row._max.worker];
    }
    return times;
  }

  /** What was reserved for a run: its start is checked against it. @throws RunNotFoundError for an unknown run. */
  async runReservation(runId: string): Promise<StartReservation> {
    const run = await this.#prisma.run
      .findUnique({ where: { id: runId }, select: { mode: true, versionHash: true, autoApprove: true, status: true, baseDir: true } })
      .catch((error: unknown) => {
        throw this.#wrap(error);
      });
    if (!run) throw new RunNotFoundError(runId);
    return run;
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
    return run ? detail(run) : null;
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
  async listRuns(query: { runbookName?: string; limit?: number } = {}): Promise<RunRecord[]> {
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

  /** One runbook's runs, newest first (all of them unless `limit`); see prisma/timing-queries.ts. */
  async runbookRuns(runbookName: string, limit?: number): Promise<RunRecord[]> {
    return runbookRuns(this.#prisma, runbookName, limit).catch((error: unknown) => {
      throw this.#wrap(error);
    });
  }

  /** The given runs with how long each step took, forward and in back-out; see prisma/timing-queries.ts. */
  async runTimings(runs: readonly RunRecord[]): Promise<RunTiming[]> {
    return runTimings(this.#prisma, runs).catch((error: unknown) => {
      throw this.#wrap(error);
    });
  }

  /** The runbook YAML of a runbook's latest run, or null when it has no runs. */
  async latestRunbookSource(runbookName: string): Promise<{ runId: string; source: string } | null> {
    return latestRunbookSource(this.#prisma, runbookName).catch((error: unknown) => {
      throw this.#wrap(error);
    });
  }

  /** Releases this store; the connection closes when the last store on the database is closed. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const connection = this.#connection;
    connection.holders -= 1;
    if (connection.holders > 0) return;
    connection.closed = true;
    await connection.release();
  }

  /** Runs a write about one run, turning "that run does not exist" into RunNotFoundError. */
  async #write<T>(runId: string, write: (prisma: Db) => Promise<T>): Promise<T> {
    try {
      return await waitingOutLocks(() => write(this.#prisma));
    } catch (error) {
      // P2025: the record to update is missing; P2003: a row refers to a run that is not there.
      if (prismaCode(error) === 'P2025' || prismaCode(error) === 'P2003') {
        throw new RunNotFoundError(runId);
      }
      throw this.#wrap(error);
    }
  }

  #wrap(error: unknown): unknown {
    return toStoreError(error, this.#connection.location);
  }
}

/** Prisma's error code (P2002…), if the error is one of Prisma's known request errors. */
function prismaCode(error: unknown): string | undefined {
  // By name, not instanceof: each provider's generated client re-exports the runtime's class.
  if (error instanceof Error && error.name === 'PrismaClientKnownRequestError') {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * True when another writer took the run number first: the unique index (P2002), or, on SQLite with
 * several processes, the write lock (SQLITE_BUSY, reported as a timeout or a write conflict).
 */
function isRaceLost(error: unknown): boolean {
  if (['P2002', 'P2034', 'P1008'].includes(prismaCode(error) ?? '')) return true;
  return /SQLITE_BUSY|database is locked|could not serialize/i.test(describe(error));
}
