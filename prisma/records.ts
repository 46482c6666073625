/**
 * The plain types the record store's callers see: plain objects with ISO time strings, never Prisma
 * classes, so the CLI, the web page and the activities do not depend on Prisma types.
 */
import type { ReconcileResult } from '../reconcile/result.js';
import type { StepTimes } from '../run/checkpoint.js';
import type { StartReservation } from '../run/start-check.js';
import type { BackoutState, CheckOutcome, Decision, RunMode, RunState, RunStatus, StepAttempt } from '../run/state.js';

/** A run's status in the store: the workflow's statuses plus `pending` (reserved, not started yet). */
export type StoredRunStatus = 'pending' | RunStatus;

/** Where a state snapshot is in its run's life: the execution that wrote it, and that execution's revision. */
export interface StateRevision {
  execution: number;
  revision: number;
}

/** A step attempt's status: a forward step's (`StepStatus`) or a back-out's (`BackoutStepState`). */
export type StepAttemptStatus = StepAttempt['status'];

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
  /** `rehearse --auto-approve`: the run accepts automatic requests (the workflow checks its start against this). */
  autoApprove?: boolean;
  /** The runbook's folder, absolute (the workflow checks its start's `baseDir` against this). */
  baseDir?: string;
}

/** Fields of a step attempt that an update may leave out (kept) or set to `null` (cleared). */
type ClearableAttemptField =
  'plannedStartMs' | 'plannedDurationMs' | 'startedAt' | 'endedAt' | 'exitCode' | 'outputTail' | 'error' | 'worker';

/**
 * One attempt of one step, or of its back-out, as recorded by an activity (`StepAttempt`).
 * In an update, a field left `undefined` keeps the stored value (so "ended" need not repeat
 * "started"); `null` clears it.
 */
export type StepAttemptInput = Omit<StepAttempt, ClearableAttemptField> & {
  [K in ClearableAttemptField]?: StepAttempt[K] | null;
};

/** A run as listed: everything but the runbook text, the snapshot and the per-step rows. */
export interface RunRecord {
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
  /** Reserved by `rehearse --auto-approve`; `null` for a run reserved before the store kept it. */
  autoApprove: boolean | null;
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
  worker: string | null;
}

/** A recorded check: the `CheckOutcome` as given, plus where it belongs. */
export interface CheckRecord extends CheckOutcome {
  stepId: string;
  attempt: number;
  /** Index of the check in the step's list. */
  seq: number;
}

/**
 * One reconciliation's outcome: a step's `reconcile` action (`check` is '') or one of its `reconcile` checks, per
 * attempt and round (a check that repeats records each round). Written by the activity that compared.
 */
export interface ReconcileRecord {
  runId: string;
  stepId: string;
  attempt: number;
  /** '' for the step's action, else the check's name. */
  check: string;
  /** 1, 2, 3… for a check that repeats; 1 otherwise. */
  round: number;
  startedAt: string;
  endedAt: string;
  result: ReconcileResult;
}

/** A recorded decision: the `Decision` as given, plus its index in the run's decision log. */
export interface DecisionRecord extends Decision {
  seq: number;
}

/** Everything recorded about one run. */
export interface RunDetail extends RunRecord {
  runbookSource: string;
  /** The latest `RunState` snapshot, `null` until the workflow recorded one. */
  state: RunState | null;
  /** In the order they were first recorded, which is the order they started. */
  steps: StepAttemptRecord[];
  /** In the order they were first recorded. */
  checks: CheckRecord[];
  /** By `seq`. */
  decisions: DecisionRecord[];
  /**
   * The Temporal client identity that sent each decision's request, by `seq`, as recorded when the run ended. Kept
   * beside the log, not in it: the hash chain covers what the run decided, not what Temporal said of the sender.
   */
  senders: Record<number, string>;
}

/** Where a delivery attempt got to: delivered, failed with another attempt to come, or failed for good. */
export type DeliveryStatus = 'sent' | 'retrying' | 'gave_up';

/** One attempt to deliver a notification (the `Delivery` table). */
export interface DeliveryRecord {
  /** '' for a message outside any run (`cutover notify test`). */
  runId: string;
  eventId: string;
  eventKind: string;
  channel: string;
  /** The person an e-mail went to, or `#channel` for a shared channel. */
  recipient: string;
  idempotencyKey: string;
  attempt: number;
  status: DeliveryStatus;
  /** What the receiver answered, or why it failed. */
  reason?: string;
  at: string;
}

/** One event of a run that people were told of (the `NotificationEvent` table). */
export interface EventRecord {
  runId: string;
  eventId: string;
  /** The order the run's notifier took it in. */
  seq: number;
  kind: string;
  at: string;
  summary: string;
  /** The event (notify/event.ts's `NotificationEvent`) and the deliveries it was routed to, as the notifier had them. */
  event: Record<string, unknown>;
  deliveries: Array<{ channel: string; recipient: string }>;
}

/** The record of notification events and deliveries. */
export interface DeliveryStore {
  /** Writes events once each (an event recorded again, after a retry, stays as it was). */
  recordEvents(records: EventRecord[]): Promise<void>;
  /** A run's events in the order its notifier took them. */
  events(runId: string): Promise<EventRecord[]>;
  /** Appends one attempt. */
  recordDelivery(record: DeliveryRecord): Promise<void>;
  /** Attempts in the order they were made: of a run, or of one idempotency key. */
  deliveries(filter: { runId?: string; idempotencyKey?: string }): Promise<DeliveryRecord[]>;
}

/** What activities need from the record store (the Prisma `RecordStore` satisfies it). */
export interface ActivityStore extends DeliveryStore {
  markRunStarted(runId: string, fields: { startedAt: string }): Promise<void>;
  recordStepAttempt(row: StepAttempt): Promise<void>;
  recordCheckResults(runId: string, stepId: string, attempt: number, checks: CheckOutcome[]): Promise<void>;
  recordDecision(runId: string, seq: number, decision: Decision): Promise<void>;
  /** Who sent each decision's request: the client identity Temporal recorded, by Update id. */
  recordSenders(runId: string, senders: Record<string, string>): Promise<void>;
  /** The run's state snapshot; with `at`, written only over an older one (or one that does not say). */
  recordRunState(runId: string, state: RunState, at?: StateRevision): Promise<void>;
  finishRun(runId: string, fields: { status: string; outcome: string; endedAt: string; state: RunState }): Promise<void>;
  /** One reconciliation (or one round of a repeating reconcile check), with its differing rows. */
  recordReconcileResult(record: ReconcileRecord): Promise<void>;
  /** A run's recorded reconciliations, e.g. the rounds a repeating check already compared. */
  reconcileResults(runId: string, filter?: { stepId?: string; attempt?: number; check?: string }): Promise<ReconcileRecord[]>;
  /** The runbook YAML the run was reserved with. */
  runbookSource(runId: string): Promise<string>;
  /** First start and last end of each step's forward attempts. */
  stepTimes(runId: string, stepIds: readonly string[]): Promise<StepTimes>;
  /** What was reserved for the run (a run's start is checked against it). @throws RunNotFoundError */
  runReservation(runId: string): Promise<StartReservation>;
  /** One runbook's runs, newest first (the evidence a live run needs is read from them). */
  runbookRuns(runbookName: string): Promise<RunRecord[]>;
}
