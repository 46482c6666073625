/**
 * The live state of one run: what the workflow holds, what `runStateQuery` returns, what the
 * CLI (and later the console and status page) draw. Plain JSON only: ISO time strings,
 * arrays and records, so it crosses Temporal payloads and HTTP unchanged.
 *
 * Pure module: the workflow bundle imports it.
 */
import type { ActionKind, PhaseKind, Runbook } from './schema.js';

/** `rehearsal` honours each step's `rehearsal:` setting; `live` runs everything. */
export type RunMode = 'rehearsal' | 'live';

export const RUN_STATUS = {
  running: 'running',
  /** Something needs a person: a gate, a manual step or a failure to resolve. */
  waiting: 'waiting',
  backingOut: 'backing_out',
  completed: 'completed',
  backedOut: 'backed_out',
  failed: 'failed',
} as const;
export type RunStatus = (typeof RUN_STATUS)[keyof typeof RUN_STATUS];

export const STEP_STATUS = {
  pending: 'pending',
  running: 'running',
  /** Waiting for a person: gate votes, a manual step, or a failure to resolve. */
  waiting: 'waiting',
  succeeded: 'succeeded',
  /** Rehearsal only: not run, its expected duration was waited instead. */
  simulated: 'simulated',
  skipped: 'skipped',
  failed: 'failed',
  /** Never started because the run backed out or stopped first. */
  cancelled: 'cancelled',
} as const;
export type StepStatus = (typeof STEP_STATUS)[keyof typeof STEP_STATUS];

/** What a waiting step waits for. */
export type WaitingFor = 'approval' | 'manual' | 'resolution';

export interface CheckOutcome {
  name: string;
  kind: string;
  passed: boolean;
  /** One line a person can act on: `expected 200, got 503`. */
  detail: string;
  at: string;
}

/** One vote on a gate. Extensible: later issues add signatures and evidence digests. */
export interface Vote {
  by: string;
  role: string;
  decision: 'approve' | 'reject';
  reason?: string;
  at: string;
  /** Cast by `--auto-approve`, not by a person at a keyboard. */
  automatic: boolean;
}

export interface GateState {
  approvers: string[];
  rule: 'all' | 'any';
  question?: string;
  /** `pending` until its dependencies finish, then `open` until decided. */
  status: 'pending' | 'open' | 'approved' | 'rejected' | 'cancelled';
  votes: Vote[];
  /** Roles that still need to approve (for `rule: all`), or all approvers while none has (`any`). */
  awaiting: string[];
  openedAt?: string;
  decidedAt?: string;
}

/** A failure waiting for a person, on a step or on its back-out. */
export interface PendingResolution {
  /** `forward` for the step itself, `backout` for its undo. */
  scope: 'forward' | 'backout';
  error: string;
  /**
   * `unknown` when the worker vanished mid-action: nobody knows if it applied; `not_started`
   * when it could not start (nothing ran, a retry is safe).
   */
  kind: 'failed' | 'unknown' | 'not_started';
  since: string;
}

export interface BackoutStepState {
  status: 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'not_needed' | 'resolved';
  attempts: number;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  /** The end of a failed undo's output. */
  outputTail?: string;
}

/**
 * One attempt of one step, or of its back-out, as it goes into the record store: written by the
 * step's activity before and after the action, and by the workflow for steps that are not
 * activities (gates, manual steps, waits, skips, resolutions by hand).
 */
export interface StepAttemptRow {
  runId: string;
  stepId: string;
  phaseId: string;
  title: string;
  owner: string;
  kind: string;
  purpose: 'forward' | 'backout';
  /** 1 for the first attempt. */
  attempt: number;
  treatment: 'run' | 'simulate' | 'skip';
  /** A forward step's status, or a back-out's; `resolved` when a person did it by hand. */
  status: StepStatus | BackoutStepState['status'];
  plannedStartMs: number;
  plannedDurationMs: number;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  exitCode?: number;
  /** The last lines of the action's output. */
  outputTail?: string;
  idempotencyKey: string;
}

/** How much of a failed action's output the live state keeps: the last lines say why. */
export const FAILED_OUTPUT_TAIL_CHARS = 1200;

export interface StepState {
  id: string;
  phaseId: string;
  phaseKind: PhaseKind;
  title: string;
  owner: string;
  kind: ActionKind | 'gate';
  dependsOn: string[];
  status: StepStatus;
  waitingFor?: WaitingFor;
  /** How it runs in this run: `run`, `simulate` or `skip` (always `run` live). */
  treatment: 'run' | 'simulate' | 'skip';
  attempts: number;
  /** Planned offsets from the run's start, from the expected durations and the graph. */
  plannedStartMs: number;
  plannedDurationMs: number;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  /** The end of a failed action's output (kept short: it travels in every state answer). */
  outputTail?: string;
  checks: CheckOutcome[];
  gate?: GateState;
  /** Who marked a manual step done, or resolved a failure by hand. */
  completedBy?: string;
  resolution?: PendingResolution;
  backout?: BackoutStepState;
  /** Stable across attempts and workers: actions receive it as CUTOVER_IDEMPOTENCY_KEY. */
  idempotencyKey: string;
}

export interface BackoutState {
  status: 'not_requested' | 'running' | 'waiting' | 'completed';
  trigger?: 'step_failed' | 'gate_rejected' | 'requested';
  reason?: string;
  requestedBy?: string;
  requestedAt?: string;
  startedAt?: string;
  endedAt?: string;
}

/** One entry of the run's decision log: every human (or automatic) decision, in order. */
export interface Decision {
  kind: 'approve' | 'reject' | 'complete_manual' | 'request_backout' | 'resolve';
  by: string;
  role: string;
  target?: string;
  reason?: string;
  at: string;
  automatic: boolean;
}

export interface RunState {
  runId: string;
  runbookName: string;
  runbookVersion: string;
  versionHash: string;
  mode: RunMode;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  startedBy: string;
  /** Step ids in runbook order (phases, then steps); `steps` holds their state. */
  order: string[];
  steps: Record<string, StepState>;
  backout: BackoutState;
  decisions: Decision[];
  /** Why the run ended the way it did, in one sentence. */
  outcome?: string;
}

/** What the workflow is started with: everything it needs, already validated. */
export interface RunInput {
  runId: string;
  runNumber: number;
  runbook: Runbook;
  versionHash: string;
  mode: RunMode;
  startedBy: string;
  /** Absolute directory of the runbook file: base of relative paths in actions. */
  baseDir: string;
}

/** What the workflow returns when it ends. */
export interface RunResult {
  status: Extract<RunStatus, 'completed' | 'backed_out' | 'failed'>;
  outcome: string;
  state: RunState;
}
