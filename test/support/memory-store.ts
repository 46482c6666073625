/**
 * An in-memory {@link ActivityStore} for workflow tests that are about the engine, not the
 * store (the store has its own tests against a real database, and the CLI tests use both).
 */
import type { ActivityStore } from '../../prisma/records.js';
import type { DeliveryRecord, EventRecord, ReconcileRecord, RunRecord } from '../../prisma/records.js';
import type { StartReservation } from '../../run/start-check.js';
import type { CheckOutcome, Decision, RunState, StepAttempt } from '../../run/state.js';

export class MemoryStore implements ActivityStore {
  readonly attempts: StepAttempt[] = [];
  readonly checks: Array<{ runId: string; stepId: string; attempt: number; checks: CheckOutcome[] }> = [];
  readonly decisions = new Map<string, Decision[]>();
  readonly finished = new Map<string, { status: string; outcome: string; state: RunState }>();
  readonly snapshots: RunState[] = [];

  readonly startedAt = new Map<string, string>();
  readonly sources = new Map<string, string>();
  readonly reconciliations: ReconcileRecord[] = [];
  readonly deliveryRows: DeliveryRecord[] = [];
  readonly eventRows: EventRecord[] = [];
  /** Who sent each decision's request, by run and Update id. */
  readonly senders = new Map<string, Record<string, string>>();
  /** What each run was reserved as (the workflow checks its start against it). */
  readonly reservations = new Map<string, StartReservation>();
  /** Each runbook's recorded runs, newest first: the rehearsals a live run's evidence is read from. */
  readonly runs = new Map<string, RunRecord[]>();
  /**
   * What `cutover rehearse` does before it starts the workflow: the run and its runbook recorded, as a run of `mode`
   * (a rehearsal by default) of version `versionHash`, with or without `autoApprove`.
   */
  reserve(runId: string, source: string, reservation: Partial<Omit<StartReservation, 'status'>> = {}): void {
    this.sources.set(runId, source);
    this.reservations.set(runId, {
      mode: 'rehearsal',
      versionHash: 'test',
      autoApprove: false,
      baseDir: null,
      ...reservation,
      status: 'pending',
    });
  }
  /** Records that `runbookName` was rehearsed at `versionHash` to its end, and backed out once: a live run's evidence. */
  rehearsed(runbookName: string, versionHash: string): void {
    const at = new Date().toISOString();
    const run = (id: string, extra: Partial<RunRecord>): RunRecord => ({
      id,
      runbookName,
      number: 0,
      mode: 'rehearsal',
      status: 'completed',
      runbookVersion: '1',
      versionHash,
      startedBy: 'test',
      createdAt: at,
      startedAt: at,
      endedAt: at,
      plannedStart: null,
      windowMs: null,
      outcome: null,
      backoutTrigger: null,
      backoutReason: null,
      backoutRequestedBy: null,
      backoutStartedAt: null,
      backoutEndedAt: null,
      temporalRunId: null,
      autoApprove: false,
      ...extra,
    });
    this.runs.set(runbookName, [
      run(`${runbookName}-rehearsed`, {}),
      run(`${runbookName}-backed-out`, { status: 'backed_out', backoutStartedAt: at, backoutEndedAt: at }),
      ...(this.runs.get(runbookName) ?? []),
    ]);
  }
  async runReservation(runId: string): Promise<StartReservation> {
    const reservation = this.reservations.get(runId);
    if (!reservation) throw Object.assign(new Error(`no run ${runId}`), { name: 'RunNotFoundError' });
    return { ...reservation };
  }
  async runbookRuns(runbookName: string): Promise<RunRecord[]> {
    return this.runs.get(runbookName) ?? [];
  }
  async recordEvents(records: EventRecord[]): Promise<void> {
    for (const record of records) {
      if (!this.eventRows.some((r) => r.runId === record.runId && r.eventId === record.eventId)) this.eventRows.push(record);
    }
  }
  async events(runId: string): Promise<EventRecord[]> {
    return this.eventRows.filter((r) => r.runId === runId).sort((a, b) => a.seq - b.seq);
  }
  async recordDelivery(record: DeliveryRecord): Promise<void> {
    this.deliveryRows.push(record);
  }
  async deliveries(filter: { runId?: string; idempotencyKey?: string }): Promise<DeliveryRecord[]> {
    return this.deliveryRows.filter(
      (r) =>
        (filter.runId === undefined || r.runId === filter.runId) &&
        (filter.idempotencyKey === undefined || r.idempotencyKey === filter.idempotencyKey),
    );
  }
  async recordReconcileResult(record: ReconcileRecord): Promise<void> {
    const same = (r: ReconcileRecord): boolean =>
      r.runId === record.runId &&
      r.stepId === record.stepId &&
      r.attempt === record.attempt &&
      r.check === record.check &&
      r.round === record.round;
    const at = this.reconciliations.findIndex(same);
    if (at >= 0) this.reconciliations[at] = record;
    else this.reconciliations.push(record);
  }

  async reconcileResults(runId: string, filter: { stepId?: string; attempt?: number; check?: string } = {}): Promise<ReconcileRecord[]> {
    return this.reconciliations.filter(
      (r) =>
        r.runId === runId &&
        (filter.stepId === undefined || r.stepId === filter.stepId) &&
        (filter.attempt === undefined || r.attempt === filter.attempt) &&
        (filter.check === undefined || r.check === filter.check),
    );
  }

  async runbookSource(runId: string): Promise<string> {
    const source = this.sources.get(runId);
    if (source === undefined) throw Object.assign(new Error(`no run ${runId}`), { name: 'RunNotFoundError' });
    return source;
  }
  async stepTimes(runId: string, stepIds: readonly string[]): Promise<Record<string, [string | null, string | null]>> {
    const times: Record<string, [string | null, string | null]> = {};
    for (const id of stepIds) {
      const rows = this.attempts.filter((r) => r.runId === runId && r.stepId === id && r.purpose === 'forward');
      if (rows.length === 0) continue;
      const starts = rows
        .map((r) => r.startedAt)
        .filter((t): t is string => !!t)
        .sort();
      const ends = rows
        .map((r) => r.endedAt)
        .filter((t): t is string => !!t)
        .sort();
      times[id] = [starts[0] ?? null, ends[ends.length - 1] ?? null];
    }
    return times;
  }
  async markRunStarted(runId: string, fields: { startedAt: string }): Promise<void> {
    this.startedAt.set(runId, fields.startedAt);
    const reservation = this.reservations.get(runId);
    if (reservation?.status === 'pending') reservation.status = 'running';
  }
  async recordStepAttempt(row: StepAttempt): Promise<void> {
    const i = this.attempts.findIndex(
      (r) => r.runId === row.runId && r.stepId === row.stepId && r.purpose === row.purpose && r.attempt === row.attempt,
    );
    if (i >= 0) this.attempts[i] = row;
    else this.attempts.push(row);
  }
  async recordCheckResults(runId: string, stepId: string, attempt: number, checks: CheckOutcome[]): Promise<void> {
    this.checks.push({ runId, stepId, attempt, checks });
  }
  async recordSenders(runId: string, senders: Record<string, string>): Promise<void> {
    this.senders.set(runId, { ...this.senders.get(runId), ...senders });
  }

  async recordDecision(runId: string, seq: number, decision: Decision): Promise<void> {
    const list = this.decisions.get(runId) ?? [];
    list[seq] = decision;
    this.decisions.set(runId, list);
  }
  async recordRunState(_runId: string, state: RunState): Promise<void> {
    this.snapshots.push(structuredClone(state));
  }
  async finishRun(runId: string, fields: { status: string; outcome: string; endedAt: string; state: RunState }): Promise<void> {
    this.finished.set(runId, fields);
    const reservation = this.reservations.get(runId);
    if (reservation) reservation.status = fields.status;
  }

  /** Attempt rows of one run, in the order they were first written. */
  rowsOf(runId: string, purpose: 'forward' | 'backout' = 'forward'): StepAttempt[] {
    return this.attempts.filter((r) => r.runId === runId && r.purpose === purpose);
  }
}
