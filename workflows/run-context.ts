/**
 * What every part of one execution of a run shares: its input, the state and the runbook once read, the change
 * counter watchers see, the activities it waits for, the waits a back-out ends, and the one way a decision is made
 * (logged, hashed into the chain, recorded). The story (cutover-run.ts) creates one; the requests, the steps, the
 * evidence watcher, the hand-over and the cancel take it.
 *
 * Deterministic: the workflow clock, the workflow's own cancellation scopes, and activity proxies.
 */
import type { StepAttempt } from '../run/state.js';
import { CancellationScope, condition, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import { toCheckpoint } from '../run/checkpoint.js';
import { chainedText } from '../run/decision-log.js';
import { sha256Hex } from '../run/digest.js';
import { StepChangeLog } from '../run/step-changes.js';
import {
  DEFAULT_HISTORY_BUDGET,
  type BackoutState,
  type Decision,
  type RunCheckpoint,
  type RunInput,
  type RunState,
  type StepState,
} from '../run/state.js';
import { deriveRunStatus, logDecision } from '../run/transitions.js';
import type { Runbook, Step } from '../runbook/schema.js';
import { recording, verifier } from './activity-calls.js';
import type { RunNotices } from './notices.js';
import { PATCHES } from './patches.js';

/**
 * How long a person's request waits for its decision to reach the record store before it is
 * answered anyway. The decision is already durable in the run's history; the store catches up
 * when it answers again, and the run does not end before it has.
 */
const DECISION_ANSWER_WAIT = '10s';

/**
 * How far past its budget an execution's history may grow while it waits for an action that was running when the
 * budget ran out, in budgets: 24,000 events at the default budget, and never more than
 * {@link HANDOVER_CEILING_BYTES}, well under Temporal's hard limits (51,200 events, 50 MB) with room for what is still
 * running to finish.
 */
const HANDOVER_CEILING = 4;
const HANDOVER_CEILING_BYTES = 20 * 1024 * 1024;

/** The patches decided once per execution, before anything else (validators cannot record a patch). */
export interface ExecutionPatches {
  /** {@link PATCHES.logSignedRefusals} */
  logsRefusals: boolean;
  /** {@link PATCHES.hashInWorkflow} */
  hashesHere: boolean;
  /** {@link PATCHES.handoverKeepsGoing} */
  keepsGoing: boolean;
  /** {@link PATCHES.retriesUnstarted} */
  retriesUnstarted: boolean;
  /** {@link PATCHES.checksStart} */
  checksStart: boolean;
  /** {@link PATCHES.boundedRequests} */
  boundsRequests: boolean;
  /** {@link PATCHES.checksRunbook} */
  checksRunbook: boolean;
  /** {@link PATCHES.gateSnapshots} */
  snapshotsGates: boolean;
}

/** How {@link RunContext.decide} makes a decision. */
export interface DecideOptions {
  /**
   * The change the decision stands for, made after it is logged, when that change tells the watchers itself (a
   * back-out); without it the decision only tells them.
   */
  apply?: () => void;
}

/** One execution of a run: its state and what its parts share. */
export class RunContext {
  /** This execution's number: 1, then one more at each hand-over. */
  readonly execution: number;
  /** History events this execution may use before it hands over. */
  readonly budget: number;
  /** Filled once the runbook is read; until then people's requests wait or are refused politely. */
  runbook: Runbook | undefined;
  /** Why the runbook the store holds is not used (it is not the run's version), while the run waits for it. */
  runbookRefused: string | undefined;
  state: RunState | undefined;
  defs = new Map<string, Step>();
  /** Grows with every change a watcher could see. */
  revision = 0;
  /** Which steps changed at which revision, as the queries have looked (`runChangesQuery`); touched by queries only. */
  readonly changes = new StepChangeLog();
  private statusStale = false;
  /** Activities this execution is waiting for: it hands over only when none is left. */
  busy = 0;
  /** Set when this execution has used its history budget: nothing new starts, then it hands over. */
  handingOver = false;
  /**
   * Set when this execution has taken its hand-over checkpoint: a request whose handler runs after that (an Update of
   * the same activation) would change a state the next execution never sees, so it is refused (send it again).
   */
  handedOver = false;
  /** Whether a person's request handled after {@link handedOver} is refused (from {@link PATCHES.refusesHandedOver}). */
  refusesHandedOver = false;
  /** Set once a step settles in this execution: each execution moves the run on before it hands over. */
  progressed = false;
  /** The steps whose action (or undo, or checks) is running as an activity now. */
  readonly acting = new Set<string>();
  /**
   * The steps that were acting when this execution used its budget: until they end, independent steps keep starting
   * (executions from {@link PATCHES.handoverKeepsGoing}); see {@link handOverDue}.
   */
  private heldBy: ReadonlySet<string> | undefined;
  /** Waits that the back-out (or a cancel) ends: gates, manual steps, timers. */
  readonly waits = new Map<string, CancellationScope>();
  /** What the evidence watcher (evidence-watcher.ts) keeps between changes. */
  readonly evidence = {
    /** The canonical text of each open gate's evidence as last hashed (a new execution hashes it once more). */
    texts: new Map<string, string>(),
    /** The gates open for votes whose evidence the watcher keeps current. */
    openGates: new Set<string>(),
    /** Whether this execution's watcher has started. */
    watching: false,
  };
  /** How the run tells people, when its runbook has `notifications:` (from {@link PATCHES.notifies}). */
  notices: RunNotices | undefined;
  /** Who is on duty decides who may act, in runs whose runbook has a `rota` (from {@link PATCHES.rotaActs}; run/duty.ts). */
  dutyActs = false;
  /** The decision log's hashes still being computed by a local activity (executions before {@link PATCHES.hashInWorkflow}). */
  private chainTail: Promise<void> = Promise.resolve();

  constructor(
    readonly input: RunInput,
    readonly patches: ExecutionPatches,
  ) {
    this.execution = (input.checkpoint?.execution ?? 0) + 1;
    this.budget = input.historyBudget ?? DEFAULT_HISTORY_BUDGET;
  }

  /** The workflow clock (replay-safe in the sandbox). */
  now(): string {
    return new Date().toISOString();
  }

  /** The run's state; only once the runbook is read. */
  get run(): RunState {
    return this.state!;
  }

  /** The runbook; only once it is read. */
  get book(): Runbook {
    return this.runbook!;
  }

  def(id: string): Step {
    return this.defs.get(id)!;
  }

  stepOf(id: string): StepState {
    return this.state!.steps[id]!;
  }

  touch(): void {
    this.statusStale = true;
    this.revision += 1;
  }

  /**
   * The state with its status brought up to date. Derived when someone looks (a query, a
   * snapshot), not on every change: deriving looks at every step, and a 10,000-step run changes
   * tens of thousands of times.
   */
  current(): RunState {
    if (this.statusStale) {
      this.state!.status = deriveRunStatus(this.state!);
      this.statusStale = false;
    }
    return this.state!;
  }

  /**
   * Runs an activity, counted in {@link busy}, and never cancelled with the run: a Temporal
   * cancel stops the run from starting anything new, but an action already running finishes
   * and is recorded (killing a half-applied change is worse than letting it end). A property, so that it can be
   * handed on as it is.
   */
  readonly activity = <T>(call: () => Promise<T>): Promise<T> => {
    this.busy += 1;
    return CancellationScope.nonCancellable(call).finally(() => {
      this.busy -= 1;
    });
  };

  /** Whether this execution has used its history budget (and moved the run on). */
  overBudget(): boolean {
    return this.progressed && (workflowInfo().historyLength >= this.budget || workflowInfo().continueAsNewSuggested);
  }

  /**
   * Whether this execution must stop starting steps and hand over: once it has used its budget, and (from
   * {@link PATCHES.handoverKeepsGoing}) once the actions that were running at that moment have ended. A long action
   * cannot be carried into the next execution (see docs/development.md, "The hand-over"), so the hand-over waits for
   * it; meanwhile the steps that do not depend on it go on, up to a ceiling well under Temporal's limits. Executions
   * from before stopped starting anything the moment the budget was used.
   */
  handOverDue(): boolean {
    if (!this.overBudget()) return false;
    if (!this.patches.keepsGoing) return true;
    // The first look after the budget ran out decides what the hand-over waits for (deterministic: the same look
    // happens at the same point of a replay).
    this.heldBy ??= new Set(this.acting);
    for (const id of this.heldBy) if (this.acting.has(id)) return this.pastCeiling();
    return true;
  }

  /** Whether this execution's history is as long as it may grow while it waits for a long action. */
  private pastCeiling(): boolean {
    const info = workflowInfo();
    return info.historyLength >= this.budget * HANDOVER_CEILING || info.historySize >= HANDOVER_CEILING_BYTES;
  }

  /** Starts the back-out, once; people's waits and timers end, actions already running finish. */
  triggerBackout(trigger: NonNullable<BackoutState['trigger']>, reason: string, by?: string, at: string = this.now()): void {
    const state = this.state!;
    if (state.backout.status !== 'not_requested' || state.cancel) return;
    state.backout = {
      status: 'running',
      trigger,
      reason,
      requestedAt: at,
      ...(by ? { requestedBy: by } : {}),
    };
    // Waiting for a person or a timer makes no sense once the run backs out; actions
    // already running are left to finish, because stopping a half-applied change is worse.
    for (const scope of this.waits.values()) scope.cancel();
    this.touch();
  }

  /** Waits inside a scope the back-out can cancel; returns false when cancelled. */
  async cancellableWait(id: string, fn: () => Promise<unknown>): Promise<boolean> {
    const scope = new CancellationScope();
    this.waits.set(id, scope);
    try {
      await scope.run(fn);
      return true;
    } catch (err) {
      if (isCancellation(err) && !CancellationScope.current().consideredCancelled) return false;
      throw err;
    } finally {
      this.waits.delete(id);
    }
  }

  /** Writes one attempt of a step (or of its back-out) that no activity wrote itself. */
  record(step: StepState, purpose: 'forward' | 'backout', fields: Partial<StepAttempt>): Promise<void> {
    return this.activity(() =>
      recording.recordStep({
        runId: this.input.runId,
        stepId: step.id,
        phaseId: step.phaseId,
        title: step.title,
        owner: step.owner,
        kind: step.kind,
        purpose,
        attempt: Math.max(1, purpose === 'forward' ? step.attempts : (step.backout?.attempts ?? 1)),
        treatment: step.treatment,
        status: purpose === 'forward' ? step.status : (step.backout?.status ?? 'pending'),
        plannedStartMs: step.plannedStartMs,
        plannedDurationMs: step.plannedDurationMs,
        idempotencyKey: purpose === 'forward' ? step.idempotencyKey : `${step.idempotencyKey}/backout`,
        ...(purpose === 'forward'
          ? { startedAt: step.startedAt, endedAt: step.endedAt, error: step.error }
          : { startedAt: step.backout?.startedAt, endedAt: step.backout?.endedAt, error: step.backout?.error }),
        ...fields,
      }),
    );
  }

  /**
   * The store's copy of the run's state, sent compact: the worker expands it. From {@link PATCHES.gateSnapshots} on it
   * names its revision, and the store writes it only over an older one (writes that are not awaited can land out of
   * order).
   */
  snapshot(stage: RunCheckpoint['stage']): RunCheckpoint {
    const checkpoint = toCheckpoint(this.current(), stage, this.execution);
    return this.patches.snapshotsGates ? { ...checkpoint, revision: this.revision } : checkpoint;
  }

  /**
   * Writes the store's snapshot of the run as it is now, without waiting for it (counted in {@link busy}, so the run
   * neither hands over nor ends before it is written): what `status` and `gate` show while Temporal is away. Only in
   * executions from {@link PATCHES.gateSnapshots} on.
   */
  storeSnapshot(): void {
    if (!this.patches.snapshotsGates) return;
    const stage = this.state!.backout.status === 'not_requested' ? 'forward' : 'backout';
    // A write the store refused for good leaves the older snapshot: the attempts and decisions recorded bring it on.
    void this.activity(() => recording.recordRunState(this.snapshot(stage))).catch(() => undefined);
  }

  /**
   * Makes a decision: logs it, tells the watchers (or applies {@link DecideOptions.apply}), hashes it into the
   * decision chain and writes it to the record store, behind the answer. The one way a decision of the run is made:
   * people's votes, done, back-out and resolve, refusals, the lead's evidence override, a gate's deadline. (The
   * cancel {@link log}s its decision and records it itself: nobody waits for an answer there.)
   *
   * Not `async`: it returns the record's own promise, so a caller that awaits it resumes on the same microtask turn as
   * before the rooms (the order of the commands an activation produces depends on such turns).
   */
  decide(entry: Decision, options: DecideOptions = {}): Promise<void> {
    return this.recordDecision(this.log(entry, options.apply));
  }

  /** Logs a decision and tells the watchers (or applies `apply`, which does); returns its place in the log. */
  log(entry: Decision, apply?: () => void): number {
    const seq = logDecision(this.state!, entry);
    if (apply) apply();
    else this.touch();
    return seq;
  }

  /**
   * Hashes the log's entries up to `seq` into the chain, in order: here, or with one local activity each in
   * executions from before {@link PATCHES.hashInWorkflow}. Runs started before the chain existed replay without it
   * (callers check {@link PATCHES.decisionHashChain}).
   */
  chainUpTo(seq: number): Promise<void> {
    if (this.patches.hashesHere) {
      const decisions = this.state!.decisions;
      for (let i = 0; i <= seq; i += 1) {
        decisions[i]!.hash ??= sha256Hex(chainedText(i === 0 ? '' : (decisions[i - 1]!.hash ?? ''), i, decisions[i]!));
      }
      return Promise.resolve();
    }
    this.chainTail = this.chainTail.then(async () => {
      const decisions = this.state!.decisions;
      for (let i = 0; i <= seq; i += 1) {
        if (decisions[i]!.hash !== undefined) continue;
        decisions[i]!.hash = await verifier.chainHash(chainedText(i === 0 ? '' : (decisions[i - 1]!.hash ?? ''), i, decisions[i]!));
      }
    });
    return this.chainTail;
  }

  /**
   * Hashes decision `seq` into the chain and writes it to the record store. The person is answered at once: the
   * decision is durable in the run's history when the answer leaves (Temporal writes the Update's outcome before it
   * answers), the hash and the write follow, counted in {@link busy} so the run neither hands over nor ends before
   * they are done, and `cutover decisions` waits for the store to have what the run has.
   * Executions from before that answered after the write (or after {@link DECISION_ANSWER_WAIT} when the store was
   * slow), and replay that way.
   */
  private async recordDecision(seq: number): Promise<void> {
    // Checked before anything is awaited: a run from before replays its commands in the same order.
    const chained = patched(PATCHES.decisionHashChain.id);
    if (patched(PATCHES.decisionEarlyAnswer.id)) {
      // Hashed now when the workflow hashes itself: the state has the chain's head when the person is answered.
      if (chained && this.patches.hashesHere) void this.chainUpTo(seq);
      this.busy += 1;
      void CancellationScope.nonCancellable(async () => {
        if (chained) await this.chainUpTo(seq);
        await recording.recordDecision(this.input.runId, seq, this.state!.decisions[seq]!);
      })
        // A write the store refused for good is as the old path left it: in history, not in the store.
        .catch(() => undefined)
        .finally(() => {
          this.busy -= 1;
        });
      return;
    }
    if (chained) await this.chainUpTo(seq);
    const decision = this.state!.decisions[seq]!;
    let written = false;
    const done = () => {
      written = true;
    };
    void this.activity(() => recording.recordDecision(this.input.runId, seq, decision)).then(done, done);
    await condition(() => written, DECISION_ANSWER_WAIT);
  }
}
