/**
 * Between the record store's rows (Prisma's types, `Date`s) and the plain records its callers see
 * (prisma/records.ts: ISO strings, `null`s). Pure functions, the same for both providers.
 */
import type { Prisma } from '#prisma/sqlite';
import type { Decision, RunMode, RunState } from '../run/state.js';
import type {
  CheckRecord,
  DecisionRecord,
  RunDetail,
  RunRecord,
  StepAttemptInput,
  StepAttemptRecord,
  StepAttemptStatus,
  StoredRunStatus,
} from './records.js';

type RunRow = Omit<Prisma.RunGetPayload<true>, 'runbookSource' | 'stateJson'>;

export function summary(run: RunRow): RunRecord {
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
    windowMs: milliseconds(run.windowMs),
    outcome: run.outcome,
    backoutTrigger: run.backoutTrigger as RunRecord['backoutTrigger'],
    backoutReason: run.backoutReason,
    backoutRequestedBy: run.backoutRequestedBy,
    backoutStartedAt: iso(run.backoutStartedAt),
    backoutEndedAt: iso(run.backoutEndedAt),
    temporalRunId: run.temporalRunId,
    autoApprove: run.autoApprove,
  };
}

/**
 * A duration column (BIGINT: a hypercare phase can plan weeks, past a 32-bit column's 24.8 days) as the number the
 * rest of cutover uses; milliseconds stay exact in a double up to 285,000 years.
 */
function milliseconds(value: bigint | null): number | null {
  return value === null ? null : Number(value);
}

/** The run columns a `RunState` determines. */
export function stateColumns(state: RunState) {
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

export function iso(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}

/** Parses an ISO time; a malformed one is a caller's bug, named here rather than deep in Prisma. */
export function toDate(value: string, field: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new RangeError(`${field} is not an ISO time: ${JSON.stringify(value)}.`);
  return date;
}

/** `undefined` stays `undefined` (Prisma: leave as is), `null` stays `null` (clear). */
export function optionalDate(value: string | null | undefined, field: string): Date | null | undefined {
  return value === undefined || value === null ? value : toDate(value, field);
}

type RunWithRows = Prisma.RunGetPayload<{ include: { steps: true; checks: true; decisions: true } }>;

/** A run with its step attempts, checks and decisions, as callers see it. */
export function detail(run: RunWithRows): RunDetail {
  return {
    ...summary(run),
    runbookSource: run.runbookSource,
    state: run.stateJson === null ? null : (JSON.parse(run.stateJson) as RunState),
    steps: run.steps.map((step): StepAttemptRecord => ({
      stepId: step.stepId,
      phaseId: step.phaseId,
      title: step.title,
      owner: step.owner,
      kind: step.kind,
      purpose: step.purpose as StepAttemptRecord['purpose'],
      attempt: step.attempt,
      treatment: step.treatment as StepAttemptRecord['treatment'],
      status: step.status as StepAttemptStatus,
      plannedStartMs: milliseconds(step.plannedStartMs),
      plannedDurationMs: milliseconds(step.plannedDurationMs),
      startedAt: iso(step.startedAt),
      endedAt: iso(step.endedAt),
      exitCode: step.exitCode,
      outputTail: step.outputTail,
      error: step.error,
      idempotencyKey: step.idempotencyKey,
      worker: step.worker,
    })),
    checks: run.checks.map((check): CheckRecord => ({
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
      if (row.signatureJson !== null) {
        const signed = JSON.parse(row.signatureJson) as Pick<Decision, 'signature' | 'request' | 'claimed'>;
        if (signed.signature) {
          decision.signature = signed.signature;
          decision.request = signed.request;
        }
        if (signed.claimed) decision.claimed = signed.claimed;
      }
      if (row.evidence !== null) decision.evidence = row.evidence;
      if (row.hash !== null) decision.hash = row.hash;
      if (row.updateId !== null) decision.updateId = row.updateId;
      return decision;
    }),
    senders: Object.fromEntries(run.decisions.flatMap((row) => (row.sentFrom !== null ? [[row.seq, row.sentFrom]] : []))),
  };
}

/** The step-attempt columns of a recorded attempt (`undefined` keeps a stored value, `null` clears it). */
export function stepAttemptColumns(row: StepAttemptInput) {
  return {
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
    worker: row.worker,
  };
}
