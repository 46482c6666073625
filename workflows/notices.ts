/**
 * How a run tells people (runs whose runbook has `notifications:`, from patch {@link PATCHES.notifies}): each moment
 * becomes an event (notify/run-events.ts) routed by the runbook, and goes to the run's notifier (notify-run.ts) as a
 * signal that nothing awaits. Every call here is synchronous: a step never waits for, is delayed by, or fails with a
 * notification. The only wait is at the end and at a hand-over, for the signals themselves to leave (a handful of
 * milliseconds, never a receiver).
 *
 * Deterministic: the workflow clock, its timers and its own commands.
 */
import { CancellationScope, getExternalWorkflowHandle, log, ParentClosePolicy, patched, sleep, startChild } from '@temporalio/workflow';
import type { NotificationEvent } from '../notify/event.js';
import { DELIVERY_RETRY, deliveryInputs } from '../notify/deliveries.js';
import { planComms, type PlannedDelivery } from '../notify/plan.js';
import { isDone } from '../run/transitions.js';
import * as events from '../notify/run-events.js';
import { ackWithinMs, deputiesOf, ESCALATIONS, rolesActing, waitingOnPeople } from '../run/acknowledge.js';
import type { NoticesCarry, StepState, WaitingFor } from '../run/state.js';
import { nightStartMs } from '../runbook/fixed-starts.js';
import { rolesOnDuty } from '../runbook/rota.js';
import type { Action, Gate, Runbook } from '../runbook/schema.js';
import { cutoverNotify, noticesSignal, notifierId } from './notify-run.js';
import { PATCHES } from './patches.js';
import type { RunContext } from './run-context.js';

/** A manual step expected ready sooner than this gets no `step_ready_soon`: its waiting message is about to come. */
const READY_SOON_MIN_MS = 2 * 60_000;

/** Step id -> the ids of the steps that depend on it. */
function dependentsOf(steps: readonly StepState[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const step of steps) for (const dep of step.dependsOn) map.set(dep, [...(map.get(dep) ?? []), step.id]);
  return map;
}

/** The run's side of its notifier: builds the events, routes them, and signals them in order. */
export class RunNotices {
  /** Signals not yet sent: the run neither hands over nor ends before they are out. */
  sending = 0;
  /** Resolves true once the notifier runs (started here, or by an earlier execution of the run). */
  private readonly started: Promise<boolean>;
  /** The signals in the order the events happened: each goes once the one before it went. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly ctx: RunContext) {
    this.carried = ctx.input.checkpoint?.notices;
    this.escalatedKeys = new Set(this.carried?.escalated ?? []);
    const id = notifierId(ctx.input.runId);
    this.started = CancellationScope.nonCancellable(() =>
      startChild(cutoverNotify, {
        workflowId: id,
        args: [{ runId: ctx.input.runId }],
        // It outlives the run: the last messages go out after the run returned, and a hand-over leaves it running.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      }),
    ).then(
      () => true,
      (err: unknown) => {
        // Started by an earlier execution of the run (by name: the class is not among the workflow package's exports).
        if ((err as Error).name === 'WorkflowExecutionAlreadyStartedError') return true;
        // No notifier, no messages: the run goes on (a notification never harms it), and says so in the worker's log.
        log.error(`run ${ctx.input.runId}: its notifier did not start, so no messages go out: ${(err as Error).message}`);
        return false;
      },
    );
  }

  /** Routes `event` (or sends it as `planned`) and hands it to the notifier; returns at once. */
  emit(event: NotificationEvent, planned?: PlannedDelivery[]): void {
    const ctx = this.ctx;
    const deliveries = deliveryInputs(this.onDuty(), event, {
      baseDir: ctx.input.baseDir,
      maxAttempts: DELIVERY_RETRY.maximumAttempts,
      ...(planned ? { deliveries: planned } : {}),
    });
    const handle = getExternalWorkflowHandle(notifierId(ctx.input.runId));
    this.sending += 1;
    this.tail = this.tail
      .then(() => this.started)
      .then((up) => (up ? CancellationScope.nonCancellable(() => handle.signal(noticesSignal, [{ event, deliveries }])) : undefined))
      .catch((err: unknown) => log.warn(`run ${ctx.input.runId}: event ${event.id} did not reach the notifier: ${(err as Error).message}`))
      .finally(() => {
        this.sending -= 1;
      });
  }

  /**
   * The runbook with each role held by whoever the rota has on duty now (the runbook itself without a rota): the
   * people an event names and reaches are those on duty when it happens. T is the night's start as fixed starts count it.
   */
  private onDuty(): Runbook {
    const book = this.ctx.book;
    if (!book.rota) return book;
    return rolesOnDuty(book, Date.now(), nightStartMs(book, this.ctx.input.mode, this.ctx.run.startedAt));
  }

  private facts(): events.RunFacts {
    const ctx = this.ctx;
    return { runId: ctx.input.runId, runbook: this.onDuty(), mode: ctx.input.mode, startedAt: ctx.run.startedAt, at: ctx.now() };
  }

  runStarted(): void {
    this.emit(events.runStarted(this.facts(), this.ctx.input.startedBy));
  }

  runEnded(): void {
    const run = this.ctx.current();
    this.emit(events.runEnded(this.facts(), run.status, run.outcome));
  }

  gateOpened(step: StepState, def: Gate): void {
    this.emit(events.gateOpened(this.facts(), step, def.approvers, def.question, step.gate?.closesAt));
  }

  /**
   * Reminds a gate's approvers 15 and 5 minutes before its deadline while it is open, saying how long is truly left.
   * A reminder already past when this execution took the gate up is not repeated (the execution before told it). One
   * whose moment passed while the timer before it waited (handled late: no worker polled, or a busy one) is told when
   * the run moves again, and of several only the most urgent (patch tells-late-deadlines); before, the late timer's
   * reminder went out with its own minutes ("closes in 15 minutes" with 4 left) and the more urgent one was skipped.
   * Timers in a scope of the gate's wait: returns what stops them.
   */
  warnBeforeDeadline(step: StepState, def: Gate): () => void {
    const closesAt = step.gate?.closesAt;
    if (!closesAt) return () => undefined;
    const closes = Date.parse(closesAt);
    const began = Date.now();
    const scope = new CancellationScope();
    void scope
      .run(async () => {
        const warnings = events.DEADLINE_WARNINGS_MINUTES;
        for (const [i, minutes] of warnings.entries()) {
          const at = closes - minutes * 60_000;
          if (at <= began) continue;
          if (at > Date.now()) await sleep(at - Date.now());
          else if (!patched(PATCHES.tellsLateDeadlines.id)) continue;
          if (step.gate?.status !== 'open') return;
          const { overtaken, left } = events.deadlineReminder(closes, minutes, warnings[i + 1], Date.now());
          if (overtaken && patched(PATCHES.tellsLateDeadlines.id)) continue;
          this.emit(events.gateDeadline(this.facts(), step, def.approvers, minutes, closesAt, step.gate.onDeadline ?? 'no-go', left));
        }
      })
      .catch(() => undefined);
    return () => scope.cancel();
  }

  /**
   * Tells of a step still running past its planned duration, when a route asks for `step_late` by name (a timer per
   * step is worth it only then); returns what stops the timer, or undefined when there is none.
   */
  watchLate(step: StepState): (() => void) | undefined {
    if (!this.routesLate || step.plannedDurationMs <= 0 || !step.startedAt) return undefined;
    const due = Date.parse(step.startedAt) + step.plannedDurationMs;
    // Already past in a new execution: the one before it set the timer, and told it if it was due.
    if (due <= Date.now()) return undefined;
    const scope = new CancellationScope();
    void scope
      .run(async () => {
        await sleep(due - Date.now());
        if (step.endedAt === undefined) this.emit(events.stepLate(this.facts(), step, step.plannedDurationMs));
      })
      .catch(() => undefined);
    return () => scope.cancel();
  }

  /**
   * Escalates a wait nobody acknowledges (from patch {@link PATCHES.escalates}): `ack_within` after it began, to the
   * deputies of the roles that must act (when they have any), twice that after, to the lead; nothing once someone
   * acknowledged it or it stopped waiting. Timers counted from `since`, so a new execution taking up the wait sets only
   * those still ahead (the one before told the rest). Returns what stops them, or undefined when there are none.
   */
  watchAcknowledgement(step: StepState, waiting: WaitingFor, since: string | undefined): (() => void) | undefined {
    const book = this.ctx.book;
    const within = ackWithinMs(book, this.ctx.def(step.id));
    if (within === undefined || since === undefined || !patched(PATCHES.escalates.id)) return undefined;
    const roles = rolesActing(book, step, waiting);
    const deputies = deputiesOf(book, roles);
    const acknowledged = () => step.acks?.some((ack) => ack.for === waiting) === true;
    const began = Date.now();
    const scope = new CancellationScope();
    void scope
      .run(async () => {
        for (const { to, after } of ESCALATIONS) {
          if (to === 'deputy' && deputies.length === 0) continue;
          const key = `${step.id}:${waiting}:${to}`;
          if (this.escalatedKeys.has(key)) continue;
          const at = Date.parse(since) + after * within;
          // Handed what the execution before told (patch carries-notices), one that fell due while the run handed over
          // is told now; executions from before skipped it (the one before was taken to have told it). A moment that
          // passed while this loop waited for the one before (its timer handled late: no worker, or a busy one) is
          // this execution's own and is told now (patch tells-late-escalations); before, it was skipped too.
          if (at <= Date.now() && !this.carried && (at <= began || !patched(PATCHES.tellsLateEscalations.id))) continue;
          if (at > Date.now()) await sleep(at - Date.now());
          if (waitingOnPeople(step) !== waiting || acknowledged()) return;
          this.escalatedKeys.add(key);
          this.emit(events.escalated(this.facts(), step, to, deputies, roles, after * within));
        }
      })
      .catch(() => undefined);
    return () => scope.cancel();
  }

  /**
   * Tells a gate's approvers and the lead that its point of no return (the latest go that leaves room to back out
   * inside the window) is {@link events.NO_RETURN_WARNING_MINUTES} minutes away while it is still open (from patch
   * {@link PATCHES.warnsNoReturn}); only when a route names `point_of_no_return`, and not when that moment had passed
   * as the gate opened (a new execution does not repeat it). Returns what stops the timer, or undefined.
   */
  warnBeforeNoReturn(step: StepState, def: Gate): (() => void) | undefined {
    const noReturn = step.gate?.pointOfNoReturn;
    if (!noReturn || !this.routesNamed('point_of_no_return')) return undefined;
    const at = Date.parse(noReturn.at) - events.NO_RETURN_WARNING_MINUTES * 60_000;
    if (at <= Date.now() || !patched(PATCHES.warnsNoReturn.id)) return undefined;
    const scope = new CancellationScope();
    void scope
      .run(async () => {
        await sleep(at - Date.now());
        if (step.gate?.status === 'open')
          this.emit(events.pointOfNoReturn(this.facts(), step, def.approvers, noReturn.at, noReturn.windowEnd));
      })
      .catch(() => undefined);
    return () => scope.cancel();
  }

  /**
   * Tells the owners of the manual steps that `started` leads to, {@link events.READY_SOON_MINUTES} minutes before
   * each is expected to be ready (from patch {@link PATCHES.warnsReadySoon}), when a route names `step_ready_soon`.
   * Expected: once all its dependencies started, the latest of their ends, as they ran (started) and as planned
   * (`expected`); a step expected within {@link READY_SOON_MIN_MS} gets no warning (its waiting message comes next).
   * The timer goes with the run's execution: one handed over to a new execution is not set again.
   */
  watchReadySoon(started: StepState): void {
    if (!this.routesNamed('step_ready_soon')) return;
    const run = this.ctx.run;
    this.dependents ??= dependentsOf(run.order.map((id) => run.steps[id]!));
    for (const id of this.dependents.get(started.id) ?? []) {
      const step = run.steps[id]!;
      if (step.kind !== 'manual' || step.treatment !== 'run' || step.status !== 'pending') continue;
      const deps = step.dependsOn.map((dep) => run.steps[dep]);
      if (deps.some((dep) => dep?.startedAt === undefined)) continue;
      const readyMs = Math.max(
        ...deps.map((dep) => (dep!.endedAt ? Date.parse(dep!.endedAt) : Date.parse(dep!.startedAt!) + dep!.plannedDurationMs)),
      );
      if (readyMs - Date.now() < READY_SOON_MIN_MS || !patched(PATCHES.warnsReadySoon.id)) continue;
      this.warnReadySoon(step, Math.max(Date.now(), readyMs - events.READY_SOON_MINUTES * 60_000), new Date(readyMs).toISOString());
    }
  }

  /** Tells the owner of `step` at `at` that it is expected ready at `readyAt`, if it has not started; kept for a hand-over. */
  private warnReadySoon(step: StepState, at: number, readyAt: string): void {
    this.readySoonDue.set(step.id, { at, readyAt });
    void CancellationScope.nonCancellable(async () => {
      if (at > Date.now()) await sleep(at - Date.now());
      this.readySoonDue.delete(step.id);
      if (step.status === 'pending') this.emit(events.stepReadySoon(this.facts(), step, readyAt));
    }).catch(() => undefined);
  }

  /**
   * What a hand-over carries to the next execution (from patch {@link PATCHES.carriesNotices}): the ready-soon warnings
   * still to come (their timers go with this execution) and the escalations told (so none is told twice).
   */
  carry(): NoticesCarry {
    const run = this.ctx.run;
    return {
      readySoon: [...this.readySoonDue].filter(([id]) => run.steps[id]?.status === 'pending').map(([stepId, due]) => ({ stepId, ...due })),
      escalated: [...this.escalatedKeys],
    };
  }

  /** In an execution handed what the one before had under way: its ready-soon warnings, set again (once the state is there). */
  takeUp(): void {
    for (const { stepId, at, readyAt } of this.carried?.readySoon ?? []) {
      const step = this.ctx.run.steps[stepId];
      if (step?.status === 'pending') this.warnReadySoon(step, at, readyAt);
    }
  }

  /** What the execution before this one handed over, when it did (patch carries-notices). */
  private readonly carried: NoticesCarry | undefined;
  /** The escalations told, this execution's and those before (see {@link carry}). */
  private readonly escalatedKeys: Set<string>;
  /** The ready-soon warnings whose timer is set and not yet run out, by step id. */
  private readonly readySoonDue = new Map<string, { at: number; readyAt: string }>();

  /** Step id -> the steps that depend on it, built once, when a route first asks for `step_ready_soon`. */
  private dependents: Map<string, string[]> | undefined;

  private get routesLate(): boolean {
    return this.routesNamed('step_late');
  }

  /** Whether a route names `kind` in its `on` (a timer for such an event is worth it only then). */
  private routesNamed(kind: string): boolean {
    return this.ctx.book.notifications?.routes.some((route) => route.on?.includes(kind)) === true;
  }

  manualWaiting(step: StepState, undo = false): void {
    this.emit(events.manualStepWaiting(this.facts(), step, undo));
  }

  stepFailed(step: StepState, error: string): void {
    this.emit(events.stepFailed(this.facts(), step, Math.max(1, step.attempts), error));
  }

  backoutStarted(): void {
    this.emit(events.backoutStarted(this.facts(), this.ctx.run.backout.reason ?? 'requested'));
  }

  backoutHalted(step: StepState, error: string): void {
    this.emit(events.backoutHalted(this.facts(), step, Math.max(1, step.backout?.attempts ?? 1), error));
  }

  /** A comms step's message, with the run's facts, to its audience on its channels. */
  comms(step: StepState, action: Extract<Action, { kind: 'notify' }>, undo = false): void {
    const facts = this.facts();
    const run = this.ctx.run;
    const progress = { done: run.order.filter((id) => isDone(run.steps[id]!)).length, total: run.order.length };
    const event = events.comms(facts, step, events.fillMessage(action.message, facts, progress), undo);
    this.emit(event, planComms(this.onDuty(), event, action.to, action.via));
  }

  /** An open incident's MTTR marker, at the minute it fell due, to its owner. */
  incidentMarker(incident: events.IncidentFacts, marker: 'approaching' | 'breached', dueAt: string, targetMs: number): void {
    this.emit(events.incidentMarker(this.facts(), incident, marker, dueAt, targetMs));
  }

  backoutFinished(): void {
    this.emit(events.backoutFinished(this.facts()));
  }
}
