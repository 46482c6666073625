/**
 * The presentation model of a run: what a person sees of it, derived once. Pure functions from the
 * run state (and the clock, passed in) to status words and symbols, rows, durations, what waits for
 * whom, the critical path and the window. The plain follow output, `cutover status`, the Ink console
 * and the status page all render from here, so a word or a rule changes in one place.
 *
 * Pure module (no Node, no clocks): the workflow bundle could import it, and tests need no server.
 */
import { formatDuration } from '../runbook/duration.js';
import { onItText } from './duty-view.js';
import type { RotaShift } from '../runbook/rota.js';
import type {
  BackoutState,
  BackoutStepState,
  Decision,
  PendingResolution,
  RunMode,
  RunState,
  RunStatus,
  StepState,
  StepStatus,
} from '../run/state.js';
import { unmetRequirements } from '../run/transitions.js';
import { refusalLine, refusalOf } from './refusal-view.js';
import type { Runbook } from '../runbook/schema.js';

// ---------------------------------------------------------------------------------------------------
// Words and symbols

/** One symbol per step status, in every terminal view (a symbol never carries meaning alone: a word goes with it). */
export const STEP_SYMBOL: Record<StepStatus, string> = {
  pending: '·',
  running: '▶',
  waiting: '⏸',
  succeeded: '✔',
  simulated: '✔',
  skipped: '·',
  failed: '✖',
  cancelled: '·',
};

/** The other marks of the terminal views: back-out events, decisions, comparisons, warnings. */
export const MARK = {
  backout: '↩',
  decision: '✎',
  reconcile: '≈',
  warning: '⚠',
  waiting: '⏸',
  failed: '✖',
  /** A step on the critical path. */
  critical: '◆',
} as const;

/** A status as words: `backed_out` → `backed out`. The one rule for every status word shown to people. */
export function statusWord(status: string): string {
  return status.replace(/_/g, ' ');
}

/** The run's mode as the console and headers shout it: a live run must never look like a rehearsal. */
export function modeLabel(mode: RunMode): 'REHEARSAL' | 'LIVE' {
  return mode === 'live' ? 'LIVE' : 'REHEARSAL';
}

/** A run status in capitals, as result lines print it: `BACKED OUT`. */
export function runStatusLabel(status: RunStatus): string {
  return statusWord(status).toUpperCase();
}

/** What a decision did, as a verb phrase after the person: `alice (lead) approved go`. */
export const DECISION_VERB: Record<Decision['kind'], string> = {
  approve: 'approved',
  reject: 'rejected',
  complete_manual: 'marked done',
  request_backout: 'requested back-out',
  resolve: 'resolved',
  cancel: 'cancelled the run',
  deadline: 'closed at its deadline',
  refused: 'was refused',
  override: 'went live without the rehearsal evidence',
  incident: 'changed incident',
  acknowledge: 'acknowledged',
};

/** Why a back-out started, in words. */
export const BACKOUT_TRIGGER_WORDS: Record<NonNullable<BackoutState['trigger']>, string> = {
  step_failed: 'a step failed',
  gate_rejected: 'a gate was rejected',
  requested: 'the lead requested it',
};

/** What kind of failure waits for the lead, in words. */
export const RESOLUTION_WORDS: Record<PendingResolution['kind'], string> = {
  unknown: 'outcome unknown',
  not_started: 'could not start',
  failed: 'failed',
};

/** A phase's kind in words: `go_no_go` → `go/no-go`. */
export function phaseKindWord(kind: string): string {
  return kind === 'go_no_go' ? 'go/no-go' : statusWord(kind);
}

/** A step's back-out in words, as the console shows it in place of the step's own status while it matters. */
export const BACKOUT_STEP_WORDS: Record<BackoutStepState['status'], string> = {
  pending: 'back-out pending',
  running: 'undoing',
  manual: 'back-out is manual',
  waiting: 'back-out waits',
  succeeded: 'backed out',
  failed: 'back-out failed',
  not_needed: 'nothing to back out',
  resolved: 'undone by hand',
};

// ---------------------------------------------------------------------------------------------------
// Durations

/** A step's planned duration as shown: a gate has none (it takes as long as people do). */
export function plannedText(step: Pick<StepState, 'kind' | 'gate' | 'plannedDurationMs'>): string {
  return (step.kind === 'gate' || step.gate) && step.plannedDurationMs === 0 ? '—' : formatDuration(step.plannedDurationMs);
}

/** How long a step took, or has been going (to `now`); undefined before it started. */
export function actualMs(step: Pick<StepState, 'startedAt' | 'endedAt'>, now: number): number | undefined {
  if (!step.startedAt) return undefined;
  return Math.max(0, (step.endedAt ? Date.parse(step.endedAt) : now) - Date.parse(step.startedAt));
}

/** A step over its plan by more than this share is flagged: small overruns are noise. */
export const OVER_PLAN_TOLERANCE = 0.2;

/** How far over plan a step is, when it is over by more than {@link OVER_PLAN_TOLERANCE}; gates have no plan. */
export function overPlanMs(step: StepState, now: number): number | undefined {
  const actual = actualMs(step, now);
  if (actual === undefined || step.plannedDurationMs <= 0 || step.gate) return undefined;
  return actual > step.plannedDurationMs * (1 + OVER_PLAN_TOLERANCE) ? actual - step.plannedDurationMs : undefined;
}

/** When the run is planned to end, from its start: the end of the critical path. */
export function plannedRunMs(steps: Iterable<Pick<StepState, 'plannedStartMs' | 'plannedDurationMs'>>): number {
  let end = 0;
  for (const s of steps) end = Math.max(end, s.plannedStartMs + s.plannedDurationMs);
  return end;
}

// ---------------------------------------------------------------------------------------------------
// The critical path

/**
 * The steps on the planned critical path: the chain of steps, each waiting on the one before, that
 * ends last. Derived from the planned offsets the run state carries (earliest starts from the
 * expected durations), so it agrees with `plannedSchedule` in graph.ts without the runbook.
 */
export function criticalPath(state: Pick<RunState, 'order' | 'steps'>): Set<string> {
  const path = new Set<string>();
  let last: StepState | undefined;
  for (const id of state.order) {
    const step = state.steps[id];
    // `>=`: of steps ending together, the later one (a zero-length gate after the work) ends the path, as in graph.ts.
    if (step && (!last || step.plannedStartMs + step.plannedDurationMs >= last.plannedStartMs + last.plannedDurationMs)) last = step;
  }
  // Walk back: the dependency that ends exactly when this step is planned to start is the one holding it up.
  while (last && !path.has(last.id)) {
    path.add(last.id);
    let previous: StepState | undefined;
    for (const dep of last.dependsOn) {
      const d = state.steps[dep];
      if (d && d.plannedStartMs + d.plannedDurationMs === last.plannedStartMs) {
        previous = d;
        break;
      }
    }
    last = previous;
  }
  return path;
}

// ---------------------------------------------------------------------------------------------------
// What the runbook adds: people and the window

/** What the run state does not carry and the runbook knows: who holds each role, and the window. */
export interface RunContext {
  /** Role → the people who hold it. */
  roles?: Record<string, readonly string[]>;
  /** The role that leads: may back out and resolve. */
  lead?: string;
  /** The window as this run has it (see `pointOfNoReturn` in transitions.ts): its end, and the latest go that leaves room to back out. */
  window?: { end: string; pointOfNoReturn: string; backoutMs: number };
  /** What the runbook says that the run state does not carry: its description, phase titles, step notes and instructions. */
  texts?: RunbookTexts;
  /** The rota's shifts and the window's start (T in a live run), for who is on duty now and next. */
  rota?: { shifts: readonly RotaShift[]; windowStart?: string };
  /** The hypercare exit's `drift_rounds`, when the runbook compares a parallel run: its rounds at 0 against it. */
  driftRounds?: number;
}

/** The runbook's words for people, which the run state does not carry (see {@link runbookTexts}). */
export interface RunbookTexts {
  description?: string;
  /** Phase id → its title. */
  phases: Record<string, string>;
  /** Step id → its notes, a manual action's instructions, and a manual undo's instructions. */
  steps: Record<string, { notes?: string; instructions?: string; undoInstructions?: string }>;
}

/** The runbook's words for people: its description, each phase's title, each step's notes and manual instructions. */
export function runbookTexts(runbook: Pick<Runbook, 'description' | 'phases'>): RunbookTexts {
  const texts: RunbookTexts = { ...(runbook.description ? { description: runbook.description } : {}), phases: {}, steps: {} };
  for (const phase of runbook.phases) {
    if (phase.title) texts.phases[phase.id] = phase.title;
    for (const step of phase.steps) {
      const entry: RunbookTexts['steps'][string] = {};
      if (step.notes) entry.notes = step.notes;
      if (step.action?.kind === 'manual' && step.action.instructions) entry.instructions = step.action.instructions;
      if (step.backout?.kind === 'manual' && step.backout.instructions) entry.undoInstructions = step.backout.instructions;
      if (Object.keys(entry).length > 0) texts.steps[step.id] = entry;
    }
  }
  return texts;
}

/** The people holding a role, as one phrase: `dba (bob, carol)`; the role alone when nobody is known. */
export function roleWithPeople(role: string, context: RunContext = {}): string {
  const people = context.roles?.[role];
  return people && people.length > 0 ? `${role} (${people.join(', ')})` : role;
}

// ---------------------------------------------------------------------------------------------------
// Rows

/** How a step looks now, in one row: what the console, `status` and the page each lay out. */
export interface StepRow {
  id: string;
  phaseId: string;
  title: string;
  owner: string;
  /** The status that matters now: the undo's while the step is being (or has been) backed out. */
  status: StepStatus;
  /** Its word: `running`, `succeeded`, `undoing`, `backed out`… */
  word: string;
  symbol: string;
  /** Something runs: the console spins. */
  active: boolean;
  /** Something waits for a person. */
  needsPerson: boolean;
  planned: string;
  /** Took (ended) or so far (running, with `…`), '' before it started. */
  actual: string;
  overPlan?: string;
  attempts: number;
  critical: boolean;
  /** One short line: who it waits for, its error, a failed check. */
  note: string;
}

/** The row of one step at `now`. */
export function stepRow(step: StepState, now: number, critical: ReadonlySet<string> = new Set()): StepRow {
  const undo = step.backout && step.backout.status !== 'pending' && step.backout.status !== 'not_needed' ? step.backout : undefined;
  const actual = actualMs(step, now);
  const over = overPlanMs(step, now);
  const failedCheck = step.checks.find((c) => !c.passed);
  let word = statusWord(step.status);
  let symbol = STEP_SYMBOL[step.status];
  let active = step.status === 'running';
  let needsPerson = step.status === 'waiting';
  if (undo) {
    word = BACKOUT_STEP_WORDS[undo.status];
    symbol = undo.status === 'failed' || (undo.status === 'waiting' && step.resolution) ? MARK.failed : MARK.backout;
    active = undo.status === 'running';
    needsPerson = undo.status === 'manual' || undo.status === 'waiting';
  }
  let note = '';
  if (step.gate && step.status === 'waiting') {
    note = `needs ${[...step.gate.awaiting, ...unmetRequirements(step.gate)].join(', ')}`;
  } else if (step.resolution) {
    note = `${RESOLUTION_WORDS[step.resolution.kind]}: ${step.resolution.error}`;
  } else if (step.status === 'waiting' && step.waitingFor === 'manual') {
    note = `manual: waiting for ${step.owner}`;
  } else if (failedCheck) {
    note = `check "${failedCheck.name}" failed: ${failedCheck.detail}`;
  } else if (step.error) {
    note = step.error;
  } else if (step.gate && step.gate.votes.length > 0) {
    note = step.gate.votes.map((v) => `${v.by} ${v.decision}d`).join(', ');
  } else if (step.completedBy) {
    note = `by ${step.completedBy}`;
  } else if (step.heldUntil) {
    note = `held until ${step.heldUntil.slice(11, 16)} UTC (${step.heldFor ?? 'not_before'})`;
  }
  return {
    id: step.id,
    phaseId: step.phaseId,
    title: step.title,
    owner: step.owner,
    status: step.status,
    word,
    symbol,
    active,
    needsPerson,
    planned: plannedText(step),
    actual: actual === undefined ? '' : `${formatDuration(actual)}${step.endedAt ? '' : '…'}`,
    ...(over !== undefined ? { overPlan: `${formatDuration(over)} over plan` } : {}),
    attempts: step.attempts,
    critical: critical.has(step.id),
    note: note.split('\n')[0]!,
  };
}

// ---------------------------------------------------------------------------------------------------
// What waits for people

/** Something that waits for a person, pinned at the top of the console. */
export interface WaitingItem {
  stepId: string;
  kind: 'gate' | 'manual' | 'resolution' | 'backout_manual' | 'backout_resolution';
  /** One line: what is asked. */
  what: string;
  /** Who may act: roles with their people (`business (dana)`), or the lead. */
  who: string;
  /** Since when it waits. */
  since?: string;
  /** For a gate: when it closes, and what it decides then. */
  closes?: { at: string; then: 'no-go' | 'go' };
  /** Who acknowledged it (`on it: ana since 03:12 UTC`). */
  onIt?: string;
}

/** What waits for people now, in runbook order. Reads only the steps given (the console passes those a summary says matter). */
export function waitingItems(steps: Iterable<StepState>, context: RunContext = {}): WaitingItem[] {
  const items: WaitingItem[] = [];
  const byId = new Map<string, StepState>();
  const lead = context.lead ? roleWithPeople(context.lead, context) : 'the lead';
  for (const step of steps) {
    byId.set(step.id, step);
    if (step.gate?.status === 'open' && step.status === 'waiting') {
      const needs = step.gate.rule === 'all' ? step.gate.awaiting : step.gate.approvers;
      const extra = unmetRequirements(step.gate);
      items.push({
        stepId: step.id,
        kind: 'gate',
        what: `gate ${step.id}: ${step.gate.question ?? step.title}${step.gate.unmetCriteria?.length ? ` (criteria not met: ${step.gate.unmetCriteria.join('; ')})` : ''}`,
        who:
          `${step.gate.rule === 'all' ? 'each of' : 'one of'} ${needs.map((r) => roleWithPeople(r, context)).join(', ')}` +
          extra.map((r) => `, and ${r}`).join(''),
        ...(step.startedAt || step.gate.openedAt ? { since: step.gate.openedAt ?? step.startedAt } : {}),
        ...(step.gate.closesAt ? { closes: { at: step.gate.closesAt, then: step.gate.onDeadline ?? 'no-go' } } : {}),
      });
      continue;
    }
    if (step.resolution) {
      items.push({
        stepId: step.id,
        kind: step.resolution.scope === 'backout' ? 'backout_resolution' : 'resolution',
        what: `${step.resolution.scope === 'backout' ? 'back-out of ' : ''}${step.id} ${RESOLUTION_WORDS[step.resolution.kind]}: ${step.resolution.error.split('\n')[0]}; retry or record done`,
        who: lead,
        since: step.resolution.since,
      });
      continue;
    }
    if (step.status === 'waiting' && step.waitingFor === 'manual') {
      items.push({
        stepId: step.id,
        kind: 'manual',
        what: `manual step ${step.id}: ${step.title}; mark it done`,
        who: roleWithPeople(step.owner, context),
        ...(step.startedAt ? { since: step.startedAt } : {}),
      });
      continue;
    }
    if (step.backout?.status === 'manual' || step.backout?.status === 'waiting') {
      items.push({
        stepId: step.id,
        kind: 'backout_manual',
        what: `back-out of ${step.id} is manual; mark it done`,
        who: roleWithPeople(step.owner, context),
        ...(step.backout.startedAt ? { since: step.backout.startedAt } : {}),
      });
    }
  }
  // Who is on each (acknowledged while it waits), beside who may act.
  return items.map((item) => {
    const step = byId.get(item.stepId);
    const onIt = step ? onItText(step) : undefined;
    return onIt ? { ...item, onIt } : item;
  });
}

// ---------------------------------------------------------------------------------------------------
// The run at a glance

/** The head of a run: mode, status, the clock against the plan and the window. */
export interface RunHeader {
  mode: 'REHEARSAL' | 'LIVE';
  status: string;
  elapsed: string;
  planned: string;
  overPlan?: string;
  /** With a window: when it ends and how long is left (negative: past it). */
  window?: { end: string; leftMs: number; left: string };
  /** With a window: the latest go that leaves room to back out, and whether it has passed. */
  pointOfNoReturn?: { at: string; passed: boolean; in: string };
}

/**
 * The head of a run at `now`. `plannedMs` is the end of the critical path (see {@link plannedRunMs}); a
 * window comes from the context, or failing that from a gate that carries one.
 */
export function runHeader(
  run: Pick<RunState, 'mode' | 'status' | 'startedAt' | 'endedAt'>,
  plannedMs: number,
  now: number,
  context: RunContext = {},
  gateWindow?: { at: string; windowEnd: string },
): RunHeader {
  const elapsedMs = Math.max(0, (run.endedAt ? Date.parse(run.endedAt) : now) - Date.parse(run.startedAt));
  const windowEnd = context.window?.end ?? gateWindow?.windowEnd;
  const noReturn = context.window?.pointOfNoReturn ?? gateWindow?.at;
  const header: RunHeader = {
    mode: modeLabel(run.mode),
    status: runStatusLabel(run.status),
    elapsed: formatDuration(elapsedMs),
    planned: formatDuration(plannedMs),
  };
  if (plannedMs > 0 && elapsedMs > plannedMs) header.overPlan = formatDuration(elapsedMs - plannedMs);
  if (windowEnd) {
    const leftMs = Date.parse(windowEnd) - now;
    header.window = { end: windowEnd, leftMs, left: leftMs >= 0 ? formatDuration(leftMs) : `-${formatDuration(-leftMs)}` };
  }
  if (noReturn) {
    const inMs = Date.parse(noReturn) - now;
    header.pointOfNoReturn = { at: noReturn, passed: inMs <= 0, in: formatDuration(Math.abs(inMs)) };
  }
  return header;
}

/** How far a back-out has got: steps undone of those with something to undo, and what it does now. */
export interface BackoutProgress {
  status: string;
  why: string;
  by?: string;
  undone: number;
  toUndo: number;
  running: string[];
  waiting: string[];
}

/** The back-out's progress, or undefined while none was requested. */
export function backoutProgress(state: Pick<RunState, 'backout'>, steps: Iterable<StepState>): BackoutProgress | undefined {
  const b = state.backout;
  if (b.status === 'not_requested') return undefined;
  const progress: BackoutProgress = {
    status: statusWord(b.status),
    why: `${b.trigger ? BACKOUT_TRIGGER_WORDS[b.trigger] : 'requested'}${b.reason ? `: ${b.reason}` : ''}`,
    ...(b.requestedBy ? { by: b.requestedBy } : {}),
    undone: 0,
    toUndo: 0,
    running: [],
    waiting: [],
  };
  for (const step of steps) {
    const undo = step.backout;
    if (!undo || undo.status === 'not_needed') continue;
    progress.toUndo += 1;
    if (undo.status === 'succeeded' || undo.status === 'resolved') progress.undone += 1;
    if (undo.status === 'running') progress.running.push(step.id);
    if (undo.status === 'manual' || undo.status === 'waiting') progress.waiting.push(step.id);
  }
  return progress;
}

/**
 * `alice (lead) approved go: reason [automatic]`: a decision in one line, without its time. A refused request reads as
 * {@link refusalLine} has it: what was asked, and whether its signature verified.
 */
export function decisionLine(d: Decision): string {
  const refusal = refusalOf(d);
  if (refusal) return refusalLine(d, refusal);
  return `${d.by} (${d.role}) ${DECISION_VERB[d.kind]}${d.target ? ` ${d.target}` : ''}${d.reason ? `: ${d.reason}` : ''}${d.automatic ? ' [automatic]' : ''}`;
}
