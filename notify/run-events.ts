/**
 * The events a run tells people of, built from its state at the moment they happen: a run started or ended, a gate
 * opened or near its deadline, a manual step (or undo) waiting for its owner, a failure waiting for the lead, the
 * back-out started, halted or finished. Each event's id is a deterministic key in its run (`gate_opened:go-live`,
 * `step_failed:load:2`): the same moment told again (a replay) has the same id, and with the recipient it is the
 * deliveries' idempotency key. Pure, free of Node: the workflow builds them.
 */
import { formatDuration } from '../runbook/duration.js';
import type { NotificationEventKind } from '../runbook/notifications.js';
import type { Runbook } from '../runbook/schema.js';
import type { NotificationEvent } from './event.js';

/** What every event of a run shares. */
export interface RunFacts {
  runId: string;
  runbook: Runbook;
  mode: 'rehearsal' | 'live';
  /** When the run started, ISO 8601. */
  startedAt: string;
  /** Now, on the workflow clock. */
  at: string;
}

/** The step an event is about. */
export interface StepFacts {
  id: string;
  title: string;
  owner: string;
}

/** How many minutes before a gate's point of no return its approvers and the lead are told. */
export const NO_RETURN_WARNING_MINUTES = 15;

/** How many minutes before a manual step is expected to be ready its owner is told. */
export const READY_SOON_MINUTES = 15;

/** How many minutes before a gate's deadline its approvers are reminded. */
export const DEADLINE_WARNINGS_MINUTES = [15, 5] as const;

/** Names as the roles among them and the people they come to (the roles' holders and the people named). */
function whoIs(runbook: Runbook, names: readonly string[]): { people: string[]; roles: string[] } {
  const people = new Set<string>();
  for (const name of names) for (const person of runbook.roles[name] ?? [name]) people.add(person);
  return { people: [...people], roles: names.filter((name) => runbook.roles[name] !== undefined) };
}

function event(
  facts: RunFacts,
  kind: NotificationEventKind,
  id: string,
  summary: string,
  more: Partial<Pick<NotificationEvent, 'step' | 'action' | 'by'>> & { extra?: NotificationEvent['facts'] } = {},
): NotificationEvent {
  const elapsedMs = Date.parse(facts.at) - Date.parse(facts.startedAt);
  const { extra, ...rest } = more;
  return {
    id,
    kind,
    runId: facts.runId,
    runbook: facts.runbook.name,
    mode: facts.mode,
    at: facts.at,
    summary,
    ...rest,
    facts: [...(Number.isFinite(elapsedMs) ? [{ label: 'Elapsed', value: formatDuration(Math.max(0, elapsedMs)) }] : []), ...(extra ?? [])],
  };
}

const stepRef = (step: StepFacts) => ({ id: step.id, title: step.title });

/** The run started. News. */
export function runStarted(facts: RunFacts, startedBy: string): NotificationEvent {
  return event(
    facts,
    'run_started',
    'run_started',
    `${facts.mode === 'live' ? 'Live run' : 'Rehearsal'} ${facts.runId} of ${facts.runbook.name} started`,
    {
      extra: [{ label: 'Started by', value: startedBy }],
    },
  );
}

/** The run ended, with its status and outcome. News. */
export function runEnded(facts: RunFacts, status: string, outcome: string | undefined): NotificationEvent {
  return event(facts, 'run_ended', 'run_ended', `Run ${facts.runId} ended: ${status.replace(/_/g, ' ')}${outcome ? ` (${outcome})` : ''}`);
}

/** A gate opened: its approvers must vote, by its deadline if it has one. */
export function gateOpened(
  facts: RunFacts,
  step: StepFacts,
  approvers: readonly string[],
  question?: string,
  closesAt?: string,
): NotificationEvent {
  return event(facts, 'gate_opened', `gate_opened:${step.id}`, `Gate ${step.id} opened${question ? `: ${question}` : ` (${step.title})`}`, {
    step: stepRef(step),
    action: { ...whoIs(facts.runbook, approvers), what: 'approve or reject the gate' },
    ...(closesAt ? { by: closesAt } : {}),
  });
}

/**
 * What a gate's `minutes` reminder says when its timer is handled at `now` (ms), on time or late: nothing when the
 * next, more urgent reminder (`next` minutes) is due by then too (that one is told instead), else how many whole
 * minutes are truly left, rounded up and never more than its own.
 */
export function deadlineReminder(
  closesMs: number,
  minutes: number,
  next: number | undefined,
  now: number,
): { overtaken: boolean; left: number } {
  return {
    overtaken: next !== undefined && closesMs - next * 60_000 <= now,
    left: Math.min(minutes, Math.max(1, Math.ceil((closesMs - now) / 60_000))),
  };
}

/** A gate is still open with its `minutes` reminder due (its key); `left` says how many minutes truly remain. */
export function gateDeadline(
  facts: RunFacts,
  step: StepFacts,
  approvers: readonly string[],
  minutes: number,
  closesAt: string,
  decides: string,
  left: number = minutes,
): NotificationEvent {
  return event(
    facts,
    'gate_deadline',
    `gate_deadline:${step.id}:${minutes}m`,
    `Gate ${step.id} closes in ${left === 1 ? '1 minute' : `${left} minutes`} and then decides ${decides} by itself`,
    {
      step: stepRef(step),
      action: { ...whoIs(facts.runbook, approvers), what: 'approve or reject the gate' },
      by: closesAt,
    },
  );
}

/** A manual step (or, with `undo`, a manual undo in the back-out) waits for its owner. */
export function manualStepWaiting(facts: RunFacts, step: StepFacts, undo = false): NotificationEvent {
  return event(
    facts,
    'manual_step_waiting',
    `manual_step_waiting:${step.id}${undo ? ':undo' : ''}`,
    undo ? `The undo of ${step.id} (${step.title}) waits to be done by hand` : `Manual step ${step.id} (${step.title}) waits for its owner`,
    {
      step: stepRef(step),
      action: { ...whoIs(facts.runbook, [step.owner]), what: undo ? 'undo it by hand, then mark it done' : 'do it, then mark it done' },
    },
  );
}

/** A step failed (attempt `attempt`) and waits for the lead to retry it, mark it done or back out. */
export function stepFailed(facts: RunFacts, step: StepFacts, attempt: number, error: string): NotificationEvent {
  return event(facts, 'step_failed', `step_failed:${step.id}:${attempt}`, `Step ${step.id} (${step.title}) failed: ${oneLine(error)}`, {
    step: stepRef(step),
    action: { ...whoIs(facts.runbook, [facts.runbook.lead]), what: 'retry it, mark it done or back out' },
  });
}

/** A step still runs (or waits) past its planned duration. News, for whoever the routes name. */
export function stepLate(facts: RunFacts, step: StepFacts, plannedMs: number): NotificationEvent {
  return event(
    facts,
    'step_late',
    `step_late:${step.id}`,
    `Step ${step.id} (${step.title}) runs later than planned: ${formatDuration(plannedMs)} planned, not done yet`,
    { step: stepRef(step) },
  );
}

/** The back-out started. News. */
export function backoutStarted(facts: RunFacts, reason: string): NotificationEvent {
  return event(facts, 'backout_started', 'backout_started', `Back-out started: ${oneLine(reason)}`);
}

/** An undo failed (attempt `attempt`): the back-out waits for the lead. */
export function backoutHalted(facts: RunFacts, step: StepFacts, attempt: number, error: string): NotificationEvent {
  return event(
    facts,
    'backout_halted',
    `backout_halted:${step.id}:${attempt}`,
    `Back-out halted: the undo of ${step.id} failed: ${oneLine(error)}`,
    {
      step: stepRef(step),
      action: { ...whoIs(facts.runbook, [facts.runbook.lead]), what: 'retry the undo or mark it done by hand' },
    },
  );
}

/** The back-out finished. News. */
export function backoutFinished(facts: RunFacts): NotificationEvent {
  return event(facts, 'backout_finished', 'backout_finished', `Back-out of ${facts.runId} finished`);
}

/** A manual step is expected to be ready at `readyAt` (its dependencies as they run, and as planned): its owner gets ready. */
export function stepReadySoon(facts: RunFacts, step: StepFacts, readyAt: string): NotificationEvent {
  const minutes = Math.max(1, Math.round((Date.parse(readyAt) - Date.parse(facts.at)) / 60_000));
  return event(
    facts,
    'step_ready_soon',
    `step_ready_soon:${step.id}`,
    `Manual step ${step.id} (${step.title}) is expected to be ready in about ${minutes} minutes`,
    {
      step: stepRef(step),
      action: { ...whoIs(facts.runbook, [step.owner]), what: 'be ready to do it when it is (the run tells you then)' },
      by: readyAt,
    },
  );
}

/**
 * A gate still open {@link NO_RETURN_WARNING_MINUTES} minutes before its point of no return: after that, a go leaves
 * no room to back out inside the window. Its approvers must decide, the lead must know.
 */
export function pointOfNoReturn(
  facts: RunFacts,
  step: StepFacts,
  approvers: readonly string[],
  at: string,
  windowEnd: string,
): NotificationEvent {
  return event(
    facts,
    'point_of_no_return',
    `point_of_no_return:${step.id}`,
    `Gate ${step.id} reaches its point of no return in ${NO_RETURN_WARNING_MINUTES} minutes: a later go leaves no room to back out before the window ends`,
    {
      step: stepRef(step),
      action: { ...whoIs(facts.runbook, [...approvers, facts.runbook.lead]), what: 'approve or reject the gate' },
      by: at,
      extra: [{ label: 'Window ends', value: windowEnd }],
    },
  );
}

/**
 * Nobody acknowledged a wait within `ackWithinMs` (times `after`): it escalates to `people` (the deputies of the roles
 * that must act) or to the lead's role. Whoever it reaches must acknowledge it and see it done.
 */
export function escalated(
  facts: RunFacts,
  step: StepFacts,
  to: 'deputy' | 'lead',
  people: readonly string[],
  roles: readonly string[],
  waitedMs: number,
): NotificationEvent {
  const who = to === 'lead' ? whoIs(facts.runbook, [facts.runbook.lead]) : { people: [...people], roles: [] };
  return event(
    facts,
    'escalated',
    `escalated:${step.id}:${to}`,
    `Nobody acknowledged ${step.id} (${step.title}) in ${formatDuration(waitedMs)}: escalated to ${to === 'lead' ? 'the lead' : `the deputies of ${roles.join(', ')}`}`,
    {
      step: stepRef(step),
      action: { ...who, what: 'acknowledge it (cutover ack) and see that it is done' },
      extra: [{ label: 'Waiting for', value: roles.join(', ') }],
    },
  );
}

/** The incident a hypercare marker is about. */
export interface IncidentFacts {
  id: string;
  severity: number;
  title: string;
  owner: string;
  openedAt: string;
}

/**
 * An open incident is approaching its MTTR target (`approaching`) or has passed it (`breached`): its owner must resolve
 * it. The event is at the minute the marker fell due, not when the run looked.
 */
export function incidentMarker(
  facts: RunFacts,
  incident: IncidentFacts,
  marker: 'approaching' | 'breached',
  dueAt: string,
  targetMs: number,
): NotificationEvent {
  const target = formatDuration(targetMs);
  const breachAt = new Date(Date.parse(incident.openedAt) + targetMs).toISOString();
  return event(
    { ...facts, at: dueAt },
    marker === 'breached' ? 'incident_breached' : 'incident_approaching',
    `incident_${marker}:${incident.id}`,
    marker === 'breached'
      ? `Incident ${incident.id} (sev${incident.severity}) breached its ${target} MTTR target: ${oneLine(incident.title)}`
      : `Incident ${incident.id} (sev${incident.severity}) is approaching its ${target} MTTR target: ${oneLine(incident.title)}`,
    {
      action: { ...whoIs(facts.runbook, [incident.owner]), what: 'resolve the incident' },
      ...(marker === 'approaching' ? { by: breachAt } : {}),
      extra: [
        { label: 'Opened', value: incident.openedAt },
        { label: 'Resolve with', value: `cutover incident resolve ${facts.runId} ${incident.id} --as YOU` },
      ],
    },
  );
}

/** The run's facts a comms step's message may name: `{run}`, `{runbook}`, `{mode}`, `{elapsed}`, `{done}`, `{total}`. */
export function fillMessage(template: string, facts: RunFacts, progress: { done: number; total: number }): string {
  const values: Record<string, string> = {
    run: facts.runId,
    runbook: facts.runbook.name,
    mode: facts.mode,
    elapsed: formatDuration(Math.max(0, Date.parse(facts.at) - Date.parse(facts.startedAt))),
    done: String(progress.done),
    total: String(progress.total),
  };
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** A comms step's message (or, with `undo`, its undo's). News for its audience. */
export function comms(facts: RunFacts, step: StepFacts, text: string, undo = false): NotificationEvent {
  return event(facts, 'comms', `comms:${step.id}${undo ? ':undo' : ''}`, text, { step: stepRef(step) });
}

/** An error's first line, at most 300 characters: a message is read on a phone. */
function oneLine(text: string): string {
  const first = text.split('\n')[0]!.trim();
  return first.length > 300 ? `${first.slice(0, 299)}…` : first;
}
