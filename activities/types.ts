/**
 * What the workflow sends to activities and gets back: plain JSON, defined once here.
 * Workflow code imports these types only.
 */
import type { ReconcileSummary } from '../reconcile/result.js';
import type { CheckOutcome, RunMode, StepAttempt, StepState } from '../run/state.js';
import type { Action, Check, Connection } from '../runbook/schema.js';
import type { DeliveryInput } from '../notify/deliveries.js';

/** Run one step's action (or its back-out), then its checks; records each attempt itself. */
export interface StepRequest {
  runId: string;
  stepId: string;
  phaseId: string;
  title: string;
  owner: string;
  kind: StepState['kind'];
  mode: RunMode;
  purpose: 'forward' | 'backout';
  treatment: 'run' | 'simulate';
  action: Action;
  checks: Check[];
  baseDir: string;
  connections: Record<string, Connection>;
  idempotencyKey: string;
  /** Attempts made before this activity started (earlier activities retried by a person). */
  attemptOffset: number;
  /** The activity's own retry budget: the last attempt returns a failure instead of throwing. */
  maxAttempts: number;
  /** Longest the action itself may take. */
  timeoutMs: number;
  plannedStartMs: number;
  plannedDurationMs: number;
}

/** How a step attempt ended. Failures of the last attempt come back as values, not throws. */
export interface StepOutcome {
  status: 'succeeded' | 'failed';
  /** 1-based attempt number across the whole run of this step. */
  attempt: number;
  startedAt: string;
  endedAt: string;
  /** Where it failed: the action itself or one of its checks. */
  failedAt?: 'action' | 'check';
  error?: string;
  exitCode?: number;
  outputTail?: string;
  checks: CheckOutcome[];
  /** The attempt's record when the store could not take it; the workflow records it instead. */
  unrecorded?: StepAttempt;
  /** The check results could not be written; the workflow records them instead. */
  unrecordedChecks?: boolean;
  /** The worker that ran the action. */
  worker?: string;
  /** What a `reconcile` action found. */
  reconcile?: ReconcileSummary;
}

/** One row of step history (the shape is shared with the record store, see run-state.ts). */

/**
 * How a step's action ended, when a worker stop cut its checks short: the `details[0]` of a
 * `checksInterrupted` failure, handed back to `checkStep` so the checks finish that attempt.
 */
export interface ActionSummary {
  attempt: number;
  startedAt: string;
  endedAt: string;
  exitCode?: number;
  outputTail?: string;
  /** The worker that ran the action (the checks may finish on another). */
  worker?: string;
  /** What a `reconcile` action found. */
  reconcile?: ReconcileSummary;
}

/** What `checkStep` answers: the check results, and whether the store took them. */
export interface CheckStepResult {
  checks: CheckOutcome[];
  /** The check results could not be written; the workflow records them instead. */
  unrecordedChecks?: true;
  /**
   * Given an {@link ActionSummary} (checks asked again after a worker stop): how the step's
   * attempt ended, as `runStep` would have answered, its record already written (or handed back).
   */
  outcome?: StepOutcome;
}

/**
 * One notification to deliver (issue 20): an event, the channel and recipient it goes to, and what the sender needs
 * to reach them. Built by notify/deliveries.ts from the runbook; the channel keeps its references unresolved.
 */
export type DeliveryRequest = DeliveryInput;

/** How a delivery ended. Never a throw on the last attempt: a notification never fails a step. */
export interface DeliveryOutcome {
  status: 'sent' | 'gave_up';
  attempt: number;
  idempotencyKey: string;
  reason?: string;
  /** Sent before (the store says so): not sent again. */
  alreadySent?: true;
}

/** The delivery activity's retry policy (notify/deliveries.ts, where the workflow takes it from too). */
export { DELIVERY_RETRY } from '../notify/deliveries.js';
