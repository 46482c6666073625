/**
 * The live state of one run: what the workflow holds, what `runStateQuery` returns, what the
 * CLI (and later the console and status page) draw. Plain JSON only: ISO time strings,
 * arrays and records, so it crosses Temporal payloads and HTTP unchanged.
 *
 * Pure module: the workflow bundle imports it.
 */
import type { ReconcileSummary } from '../reconcile/result.js';
import type { ActionKind, PhaseKind, Runbook } from '../runbook/schema.js';
import type { GateEvidence } from './evidence.js';
import type { RequestSignature } from './signed-request.js';
import type { HypercareState } from './hypercare.js';
import type { Acknowledgement } from './acknowledge.js';

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
  /** What a `reconcile` check found (its latest round, for one that repeats). */
  reconcile?: ReconcileSummary;
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
  /** When it stops taking votes (its `deadline`), set when it opens. */
  closesAt?: string;
  /** What it decides at `closesAt` when people have not. */
  onDeadline?: 'no-go' | 'go';
  /** Set when the deadline, not people, decided it. */
  closedByDeadline?: boolean;
  /** Approvals needed besides `rule` (the runbook's `require`), each `at_least` of the people in `of`. */
  require?: { at_least: number; of: string[] }[];
  /** People who may not approve it: they hold a role that owns a step it decides on (`self_approval: false`). */
  selfApprovers?: string[];
  /** What it is decided on, as last assembled, with its digest (SHA-256 of its canonical JSON): votes name the digest. */
  evidence?: GateEvidence & { digest: string; at: string };
  /** Its `criteria` the evidence does not meet: until empty it takes no approvals. */
  unmetCriteria?: string[];
  /** With a window: the latest time a go leaves room to back out inside it (see transitions.ts). */
  pointOfNoReturn?: { at: string; windowEnd: string; backoutMs: number; backoutSource?: 'measured' };
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
  /** What the lead decided, until the step acts on it. */
  decided?: 'retry' | 'done';
}

export interface BackoutStepState {
  /**
   * `manual`: a manual undo waits for its owner to mark it done; `waiting`: a failed undo waits
   * for the lead to resolve it (retry, or done by hand). Two words, because the two wait for
   * different people and accept different requests.
   */
  status: 'pending' | 'running' | 'manual' | 'waiting' | 'succeeded' | 'failed' | 'not_needed' | 'resolved';
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
export interface StepAttempt {
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
  /** The worker that ran it (`CUTOVER_WORKER_NAME`, or pid@host); absent for steps no worker runs. */
  worker?: string;
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
  /** What the step's `reconcile` action found in its last attempt. */
  reconcile?: ReconcileSummary;
  /** The worker that ran its last attempt (`CUTOVER_WORKER_NAME`, or pid@host). */
  worker?: string;
  /** The worker pool it must run on (`runs_on`); absent: any worker. */
  runsOn?: string;
  gate?: GateState;
  /** Who marked a manual step done, or resolved a failure by hand. */
  completedBy?: string;
  /** Who said they are on it while it waited for people (`cutover ack`), in order. */
  acks?: Acknowledgement[];
  resolution?: PendingResolution;
  backout?: BackoutStepState;
  /** A `wait` step (or undo) sleeps until then: a run that continues as new sleeps only what is left. */
  waitUntil?: string;
  /**
   * A ready step held back to its fixed start (`not_before`) or out of an interface freeze: it starts then. Worked
   * out again by each execution, so a hand-over does not carry it.
   */
  heldUntil?: string;
  /** Why it is held: `not_before`, or the interface freeze (with its reason). */
  heldFor?: string;
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
  /** `override`: the lead started a live run without the rehearsal evidence it needs (`--override-evidence`). */
  kind:
    | 'approve'
    | 'reject'
    | 'complete_manual'
    | 'request_backout'
    | 'resolve'
    | 'cancel'
    | 'deadline'
    | 'refused'
    | 'override'
    /** `incident`: a person opened, updated or resolved a hypercare incident (run/hypercare.ts). */
    | 'incident'
    /** `acknowledge`: a person said they are on a step or gate that waits for people (run/acknowledge.ts). */
    | 'acknowledge';
  by: string;
  role: string;
  target?: string;
  reason?: string;
  at: string;
  automatic: boolean;
  /** The person's signature of the request, checked against their key before it was accepted. */
  signature?: RequestSignature;
  /** A vote: the digest of the gate's evidence it was cast on. */
  evidence?: string;
  /** The request's fields as signed (without the signature): what the signature covers. */
  request?: Record<string, unknown>;
  /**
   * A `refused` entry of a signed request: the key its signature named and whether the signature verified against it
   * (false: forged or altered, and the key proves nothing; true: the person's own request, refused for another
   * reason). Logged since the patch `refusal-claimed-key`.
   */
  claimed?: { key: string; verified: boolean };
  /** SHA-256 (hex) of the previous entry's hash and this entry (see decision-log.ts): the log is a hash chain. */
  hash?: string;
  /**
   * The Temporal Update that carried the request: its entry in the run's history names the client identity that sent
   * it (`cutover decisions` shows it beside the person while Temporal keeps the history).
   */
  updateId?: string;
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
  /**
   * Set when someone cancelled the workflow through Temporal: no new step starts, people's waits
   * end, running actions finish (they are never killed), and nothing is undone automatically.
   */
  cancel?: { requestedAt: string; running: string[] };
  /** How many executions this run has used so far (it continues as new to keep histories small). */
  execution?: number;
  /** From go-live until its exit gate is decided, when the runbook's `hypercare` has an `exit` (run/hypercare.ts). */
  hypercare?: HypercareState;
}

/** `--override-evidence`: the lead goes live without the rehearsal evidence, for a reason, knowing what is missing. */
export interface EvidenceOverride {
  by: string;
  role: string;
  reason: string;
  missing: string[];
  /** The lead's signature of `overrideRequest(this)` (see signed-request.ts). */
  signature?: RequestSignature;
}

/**
 * What the run workflow is started with. The runbook itself is not in it: a large runbook is
 * larger than one Temporal payload may be, so the workflow reads it from the record store in
 * pages (the run was reserved there, with the runbook's source, before the workflow started).
 */
export interface RunInput {
  runId: string;
  runNumber: number;
  versionHash: string;
  mode: RunMode;
  startedBy: string;
  /** Absolute directory of the runbook file: base of relative paths in actions. */
  baseDir: string;
  /**
   * How many history events one execution may use before the run continues as new. Default
   * {@link DEFAULT_HISTORY_BUDGET}; tests set it low to exercise the hand-over.
   */
  historyBudget?: number;
  /** Set when this execution continues an earlier execution of the same run. */
  checkpoint?: RunCheckpoint;
  /**
   * Started on the embedded server, where every worker is this machine: steps pinned to a pool (`runs_on`) run on
   * the run's own task queue, so whichever cutover process hosts the run (a rehearsal, `cutover worker`) runs them.
   */
  oneMachine?: boolean;
  /**
   * Started by `cutover rehearse --auto-approve`: only then are requests marked `automatic` (cast
   * by that process, not by a person) accepted. Never set for live runs.
   */
  autoApprove?: boolean;
  /**
   * Set when the lead started this live run with `--override-evidence`: the run logs it as its first decision, so the
   * decision log says who went live without the rehearsal evidence, why, and what was missing. Signed by the lead
   * like a vote (`overrideRequest` in signed-request.ts is what the signature covers); the run refuses to start on an unsigned,
   * forged or other person's override.
   */
  evidenceOverride?: EvidenceOverride;
  /**
   * The back-out's P90 as forecast from the rehearsals that backed out (timing/forecast.ts), when any did:
   * the gates' point of no return keeps it free before the window ends. Without it, the planned back-out.
   */
  backoutP90Ms?: number;
}

/**
 * The history events one execution may use before it hands over to a new one: well under
 * Temporal's warning at 10,240, leaving room for the steps still running to finish.
 */
export const DEFAULT_HISTORY_BUDGET = 6000;

/** What the first version of the workflow (type `runRunbook`) was started with. */
export interface LegacyRunInput extends Omit<
  RunInput,
  'historyBudget' | 'checkpoint' | 'oneMachine' | 'evidenceOverride' | 'backoutP90Ms'
> {
  runbook: Runbook;
}

/**
 * What the run workflow returns when it ends: small at any runbook size (the whole final state
 * is in the record store). The first workflow version returned `state` instead of `summary`.
 */
export interface RunResult {
  status: Extract<RunStatus, 'completed' | 'backed_out' | 'failed'>;
  outcome: string;
  summary?: RunSummary;
  /** Only from runs of the first workflow version. */
  state?: RunState;
}

/** The part of a step that changes while a run goes on. */
export type StepProgress = Pick<
  StepState,
  | 'status'
  | 'waitingFor'
  | 'attempts'
  | 'startedAt'
  | 'endedAt'
  | 'error'
  | 'outputTail'
  | 'checks'
  | 'gate'
  | 'completedBy'
  | 'acks'
  | 'resolution'
  | 'backout'
  | 'waitUntil'
  | 'worker'
  | 'reconcile'
>;

/**
 * What one execution of a run hands to the next when it continues as new: the run's own fields,
 * one status letter per step, and the full progress of the few steps that are more than a
 * letter (gates, waits, failures, back-outs). Small at any runbook size: a 10,000-step run
 * hands over about 10 KB plus its interesting steps. Times of finished steps are read back
 * from the record store, where each step's activity wrote them.
 */
export interface RunCheckpoint {
  /** 1 for the execution the run started with, then 2, 3, … */
  execution: number;
  /** `hypercare`: the forward steps completed and the run is in hypercare. */
  stage: 'forward' | 'backout' | 'hypercare';
  run: Omit<RunState, 'order' | 'steps'>;
  /** One letter per step, in runbook order (see `STATUS_LETTER` in checkpoint.ts). */
  codes: string;
  /** Full progress of the steps that are more than their letter, by id. */
  progress: Record<string, Partial<StepProgress>>;
  /**
   * The execution's revision the state is at, on a snapshot for the record store (never on a hand-over): the store
   * writes a snapshot only over an older one.
   */
  revision?: number;
  /** What the run's notices had under way, on a hand-over (from patch carries-notices; workflows/notices.ts). */
  notices?: NoticesCarry;
}

/**
 * The timers of a run's notices that a hand-over would lose, carried to the next execution so that each message is
 * told once: the ready-soon warnings still to come, and the escalations already told.
 */
export interface NoticesCarry {
  /** A manual step whose owner is told when `at` (ms since the epoch) comes that it is expected ready at `readyAt`. */
  readySoon: Array<{ stepId: string; at: number; readyAt: string }>;
  /** The escalations told, as `STEP:WAITING:TO` (`load:manual:deputy`). */
  escalated: string[];
}

/** A run at a glance: everything but the steps, plus counts and the steps that matter now. */
export interface RunSummary extends Omit<RunState, 'order' | 'steps'> {
  totalSteps: number;
  /** Steps per status. */
  counts: Partial<Record<StepStatus, number>>;
  /**
   * The steps that matter now, in runbook order: running, waiting for someone, failed, and
   * those with a back-out in progress. At most {@link ATTENTION_LIMIT}.
   */
  attention: StepState[];
  /** Grows with every change of the run's state, so a watcher can tell when to read pages again. */
  revision: number;
}

/** The most steps a summary lists as needing attention. */
export const ATTENTION_LIMIT = 200;

/** One page of a run's steps, in runbook order. */
export interface StepPage {
  offset: number;
  total: number;
  steps: StepState[];
  revision: number;
}

/** The most steps one page may hold (a page of full steps stays well under 256 KB). */
export const STEP_PAGE_LIMIT = 500;
