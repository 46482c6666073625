/**
 * Hypercare as pure state transitions: the run's incidents (opened, updated and resolved by people's signed requests,
 * or opened by a stale KPI), their MTTR per severity against the runbook's targets, the approaching-breach and breach
 * markers each open incident is due, the KPIs' freshness, and the exit gate's machine criteria. The workflow
 * (workflows/hypercare.ts) calls these and tells the story; the CLI and the page draw their results.
 *
 * Plain JSON, ISO times; pure: the workflow bundle imports it. Times are passed in (the workflow clock).
 */
import { durationMs, formatDuration } from '../runbook/duration.js';
import { mttrTargetsMs, SEVERITIES, type Severity } from '../runbook/hypercare-rules.js';
import type { Runbook } from '../runbook/schema.js';
import type { RequestSignature } from './signed-request.js';
import type { GateState } from './state.js';
import { peopleIn, rolesOf } from './transitions.js';

/** The id the exit gate answers to (`cutover approve RUN hypercare-exit`). */
export const HYPERCARE_EXIT_ID = 'hypercare-exit';

/** Who the decision log names for what the run does by itself in hypercare (a stale KPI's incident). */
export const HYPERCARE_ACTOR = 'cutover';

/**
 * Why a hypercare request met an execution that had just handed the run over (the request was not applied, nothing
 * was logged): the sender sends it again, to the next execution (common/person-requests.ts does, once).
 */
export const HANDED_OVER_REASON = 'the run moved on to its next execution as this request arrived; nothing was recorded: send it again';

/** Notes an incident keeps (the oldest go first: the decision log keeps them all). */
export const INCIDENT_NOTES_KEPT = 20;

/** One incident of the run's hypercare. */
export interface Incident {
  /** `INC-1`, `INC-2`, … in the order they were opened. */
  id: string;
  severity: Severity;
  title: string;
  /** The role that owns it. */
  owner: string;
  step?: string;
  /** The incident's id in another tracker. */
  external?: string;
  /** Set when a stale KPI opened it. */
  kpi?: string;
  status: 'open' | 'resolved';
  openedAt: string;
  openedBy: string;
  eta?: string;
  notes: { at: string; by: string; text: string }[];
  resolvedAt?: string;
  resolvedBy?: string;
  /** When it passed {@link HypercareConfigTimes.approaching} of its target, open. */
  approachingAt?: string;
  /** When it passed its MTTR target, open. */
  breachedAt?: string;
}

/** What the run knows of one KPI's freshness. */
export interface KpiState {
  id: string;
  title?: string;
  owner?: string;
  /** How old its data may be (`24h`); absent in runs that went live before it was kept here. */
  sla?: string;
  /** The latest data time the last check found. */
  lastDataAt?: string;
  checkedAt?: string;
  /** Whether the data was within its SLA at the last check (undefined: not checked yet). */
  fresh?: boolean;
  /** One line: `data from 2026-12-06T10:00:00Z, 3h old (SLA 24h)` or why the check could not tell. */
  detail?: string;
  rounds: number;
  staleRounds: number;
  /** The open incident this KPI's staleness opened, if any. */
  incident?: string;
}

/** The run's hypercare: from go-live until the exit gate is decided. */
export interface HypercareState {
  startedAt: string;
  status: 'open' | 'exited';
  incidents: Incident[];
  kpis: KpiState[];
  /** The exit gate: `pending` while its criteria do not hold, `open` while they do, `approved` ends the run. */
  exit: GateState;
  /** Grows with each change people make (the workflow's loop wakes on it). */
  changes: number;
  /** The MTTR target of each severity that has one, ms (from the runbook, so that readers need not have it). */
  targetsMs: Partial<Record<Severity, number>>;
}

/** What people ask of an incident: open one, update it (ETA, a note, the owner), resolve it. */
export type IncidentRequest =
  | {
      action: 'open';
      by: string;
      severity: number;
      title: string;
      owner: string;
      step?: string;
      external?: string;
      signature?: RequestSignature;
    }
  | { action: 'update'; by: string; incidentId: string; eta?: string; note?: string; owner?: string; signature?: RequestSignature }
  | { action: 'resolve'; by: string; incidentId: string; note?: string; signature?: RequestSignature };

/** The hypercare of a run that just went live. */
export function startHypercare(runbook: Runbook, at: string): HypercareState {
  const config = runbook.hypercare!;
  const exit = config.exit!;
  return {
    startedAt: at,
    status: 'open',
    incidents: [],
    kpis: config.kpis.map((kpi) => ({
      id: kpi.id,
      ...(kpi.title ? { title: kpi.title } : {}),
      ...(kpi.owner ? { owner: kpi.owner } : {}),
      sla: kpi.sla,
      rounds: 0,
      staleRounds: 0,
    })),
    exit: { approvers: [...exit.approvers], rule: exit.rule, status: 'pending', votes: [], awaiting: [...exit.approvers] },
    changes: 0,
    targetsMs: configTimes(runbook).targets,
  };
}

/** Why `request` may not change the run's incidents now, or undefined: one sentence. */
export function refuseIncident(runbook: Runbook, state: HypercareState | undefined, request: IncidentRequest): string | undefined {
  if (!state) return 'the run is not in hypercare: incidents are taken from go-live until the hypercare exit';
  if (state.status === 'exited') return 'hypercare has ended (its exit gate was decided); the run takes no more incidents';
  if (rolesOf(runbook, request.by).length === 0)
    return `${request.by} holds no role in this runbook, so may not report or change incidents`;
  if (request.action === 'open') {
    if (!SEVERITIES.includes(request.severity as Severity))
      return `severity ${String(request.severity)} is not one of 1, 2, 3, 4 (1 is the worst)`;
    if (!request.title?.trim()) return 'an incident needs a title (--title)';
    if (!Object.hasOwn(runbook.roles, request.owner))
      return `owner role \`${request.owner}\` is not a role of this runbook (${Object.keys(runbook.roles).join(', ')})`;
    return undefined;
  }
  const incident = state.incidents.find((i) => i.id === request.incidentId);
  if (!incident) return `there is no incident ${request.incidentId} in this run; \`cutover incident list RUN\` shows them`;
  if (incident.status === 'resolved')
    return `incident ${incident.id} was already resolved at ${incident.resolvedAt} by ${incident.resolvedBy}`;
  if (request.action === 'update') {
    if (request.eta === undefined && request.note === undefined && request.owner === undefined)
      return 'an update needs --eta, --note or --owner';
    if (request.eta !== undefined && !Number.isFinite(Date.parse(request.eta))) return `--eta ${request.eta} is not an ISO 8601 time`;
    if (request.owner !== undefined && !Object.hasOwn(runbook.roles, request.owner))
      return `owner role \`${request.owner}\` is not a role of this runbook (${Object.keys(runbook.roles).join(', ')})`;
    return undefined;
  }
  const may = new Set([...peopleIn(runbook, incident.owner), ...peopleIn(runbook, runbook.lead)]);
  if (!may.has(request.by)) return `${request.by} may not resolve ${incident.id}: its owner role ${incident.owner} or the lead may`;
  return undefined;
}

/** Applies an accepted request; returns the incident as it is now. */
export function applyIncident(state: HypercareState, request: IncidentRequest, at: string): Incident {
  state.changes += 1;
  if (request.action === 'open') {
    const incident: Incident = {
      id: `INC-${state.incidents.length + 1}`,
      severity: request.severity as Severity,
      title: request.title.trim(),
      owner: request.owner,
      ...(request.step ? { step: request.step } : {}),
      ...(request.external ? { external: request.external } : {}),
      status: 'open',
      openedAt: at,
      openedBy: request.by,
      notes: [],
    };
    state.incidents.push(incident);
    return incident;
  }
  const incident = state.incidents.find((i) => i.id === request.incidentId)!;
  const note = request.note?.trim();
  if (note) incident.notes = [...incident.notes, { at, by: request.by, text: note }].slice(-INCIDENT_NOTES_KEPT);
  if (request.action === 'update') {
    if (request.eta !== undefined) incident.eta = new Date(Date.parse(request.eta)).toISOString();
    if (request.owner !== undefined) incident.owner = request.owner;
  } else {
    incident.status = 'resolved';
    incident.resolvedAt = at;
    incident.resolvedBy = request.by;
  }
  return incident;
}

/** Opens the incident a stale KPI is due (see {@link takeReading}), tied to the KPI until it is resolved. */
export function openKpiIncident(state: HypercareState, kpiId: string, request: IncidentRequest, at: string): Incident {
  const incident = applyIncident(state, request, at);
  incident.kpi = kpiId;
  state.kpis.find((k) => k.id === kpiId)!.incident = incident.id;
  return incident;
}

/** What the decision log shows of an incident request: its target and its reason. */
export function incidentEntry(request: IncidentRequest, incidentId: string): { target: string; reason?: string } {
  const reason = request.action === 'open' ? request.title.trim() : request.note?.trim();
  return { target: `${incidentId} (${request.action})`, ...(reason ? { reason } : {}) };
}

/** The MTTR targets and the approaching share, read once from the runbook. */
export interface HypercareConfigTimes {
  targets: Partial<Record<Severity, number>>;
  approaching: number;
}

export function configTimes(runbook: Runbook): HypercareConfigTimes {
  return { targets: mttrTargetsMs(runbook.hypercare, durationMs), approaching: runbook.hypercare?.approaching ?? 0.75 };
}

/** The approaching-breach and breach markers each open incident is due at. */
function markerTimes(incident: Incident, times: HypercareConfigTimes): { approaching?: number; breach?: number } {
  const target = times.targets[incident.severity];
  if (target === undefined || incident.status !== 'open') return {};
  const opened = Date.parse(incident.openedAt);
  return { approaching: opened + Math.round(target * times.approaching), breach: opened + target };
}

/**
 * Raises the markers due by `nowMs` on open incidents: each at the minute it was due (not when the run looked), so a
 * run that slept through both raises both with their own times. Returns the incidents it marked.
 */
export function raiseMarkers(state: HypercareState, times: HypercareConfigTimes, nowMs: number): Incident[] {
  const marked: Incident[] = [];
  for (const incident of state.incidents) {
    const due = markerTimes(incident, times);
    let changed = false;
    if (due.approaching !== undefined && incident.approachingAt === undefined && due.approaching <= nowMs) {
      incident.approachingAt = new Date(due.approaching).toISOString();
      changed = true;
    }
    if (due.breach !== undefined && incident.breachedAt === undefined && due.breach <= nowMs) {
      incident.breachedAt = new Date(due.breach).toISOString();
      changed = true;
    }
    if (changed) marked.push(incident);
  }
  return marked;
}

/** The next time a marker falls due, in ms, or undefined when none will. */
export function nextMarkerAt(state: HypercareState, times: HypercareConfigTimes): number | undefined {
  let next: number | undefined;
  for (const incident of state.incidents) {
    const due = markerTimes(incident, times);
    for (const [at, done] of [
      [due.approaching, incident.approachingAt],
      [due.breach, incident.breachedAt],
    ] as const) {
      if (at !== undefined && done === undefined && (next === undefined || at < next)) next = at;
    }
  }
  return next;
}

/** MTTR of one severity: how many incidents were resolved, their mean time to resolve, and the target. */
export interface SeverityMttr {
  severity: Severity;
  resolved: number;
  open: number;
  /** Mean time to resolve, ms; undefined when none was resolved. */
  mttrMs?: number;
  targetMs?: number;
  breaches: number;
}

/** MTTR per severity over the incidents resolved at or after `sinceMs` (all of them without it). */
export function mttrBySeverity(state: HypercareState, times: HypercareConfigTimes, sinceMs?: number): SeverityMttr[] {
  return SEVERITIES.map((severity) => {
    const of = state.incidents.filter((i) => i.severity === severity);
    const resolved = of.filter((i) => i.status === 'resolved' && (sinceMs === undefined || Date.parse(i.resolvedAt!) >= sinceMs));
    const total = resolved.reduce((sum, i) => sum + (Date.parse(i.resolvedAt!) - Date.parse(i.openedAt)), 0);
    const target = times.targets[severity];
    return {
      severity,
      resolved: resolved.length,
      open: of.filter((i) => i.status === 'open').length,
      ...(resolved.length > 0 ? { mttrMs: Math.round(total / resolved.length) } : {}),
      ...(target !== undefined ? { targetMs: target } : {}),
      breaches: of.filter((i) => i.breachedAt !== undefined).length,
    };
  });
}

/**
 * The exit criteria that do not hold at `nowMs`, one sentence each; empty when the gate may open. `driftRounds`: per
 * repeating reconcile check, its rounds' mismatch counts, latest last (none: the runbook has no such check).
 */
export function unmetExitCriteria(
  runbook: Runbook,
  state: HypercareState,
  nowMs: number,
  driftRounds: Record<string, number[]> = {},
): string[] {
  const exit = runbook.hypercare!.exit!;
  const unmet: string[] = [];
  if (exit.earliest !== undefined) {
    const opens = Date.parse(state.startedAt) + durationMs(exit.earliest);
    if (nowMs < opens)
      unmet.push(`the exit opens no earlier than ${new Date(opens).toISOString()} (${exit.earliest} after hypercare began)`);
  }
  const open = state.incidents.filter((i) => i.status === 'open' && exit.no_open.includes(i.severity));
  for (const incident of open) unmet.push(`sev${incident.severity} incident ${incident.id} is open (${incident.title})`);
  const times = configTimes(runbook);
  for (const m of mttrBySeverity(state, times, nowMs - exit.mttr_days * 86_400_000)) {
    if (m.mttrMs !== undefined && m.targetMs !== undefined && m.mttrMs > m.targetMs)
      unmet.push(
        `sev${m.severity} MTTR over the last ${exit.mttr_days} days is ${formatDuration(m.mttrMs)}, over its ${formatDuration(m.targetMs)} target`,
      );
  }
  for (const kpi of state.kpis) {
    if (kpi.fresh === undefined) unmet.push(`KPI ${kpi.id} has not been checked yet`);
    else if (!kpi.fresh) unmet.push(`KPI ${kpi.id} is stale: ${kpi.detail ?? 'older than its SLA'}`);
  }
  for (const [check, rounds] of Object.entries(driftRounds)) {
    const last = rounds.slice(-exit.drift_rounds);
    if (last.length < exit.drift_rounds || last.some((n) => n > 0))
      unmet.push(`reconcile ${check} has not found 0 differences in each of its last ${exit.drift_rounds} rounds`);
  }
  return unmet;
}

/**
 * Brings the exit gate in line with its criteria: it opens when they hold, and goes back to pending (its approvals
 * dropped: they were given on a state that no longer holds) when they stop holding. Returns whether it changed.
 */
export function reviewExitGate(state: HypercareState, unmet: string[], at: string): boolean {
  const gate = state.exit;
  if (gate.status === 'approved' || gate.status === 'rejected' || gate.status === 'cancelled') return false;
  const same = (gate.unmetCriteria ?? []).join('\n') === unmet.join('\n');
  if (unmet.length === 0 && gate.status === 'pending') {
    state.exit = { ...gate, status: 'open', openedAt: at, unmetCriteria: [] };
    return true;
  }
  if (unmet.length > 0 && gate.status === 'open') {
    state.exit = { ...gate, status: 'pending', votes: [], awaiting: [...gate.approvers], unmetCriteria: unmet };
    return true;
  }
  if (!same) {
    state.exit = { ...gate, unmetCriteria: unmet };
    return true;
  }
  return false;
}

/** The KPIs due for a check at `nowMs`: never checked, or checked `repeat` ago. */
export function kpisDue(runbook: Runbook, state: HypercareState, nowMs: number): string[] {
  return runbook
    .hypercare!.kpis.filter((kpi) => {
      const at = state.kpis.find((k) => k.id === kpi.id)?.checkedAt;
      return at === undefined || Date.parse(at) + durationMs(kpi.repeat) <= nowMs;
    })
    .map((kpi) => kpi.id);
}

/** The next time a KPI is due, ms, or undefined without KPIs. */
export function nextKpiAt(runbook: Runbook, state: HypercareState): number | undefined {
  let next: number | undefined;
  for (const kpi of runbook.hypercare!.kpis) {
    const at = state.kpis.find((k) => k.id === kpi.id)?.checkedAt;
    const due = at === undefined ? 0 : Date.parse(at) + durationMs(kpi.repeat);
    if (next === undefined || due < next) next = due;
  }
  return next;
}

/** What one freshness check found: the latest data time, or why it could not tell. */
export interface FreshnessReading {
  kpiId: string;
  latest?: string;
  error?: string;
  at: string;
}

/**
 * Takes a KPI's reading: fresh when its latest data is at most `sla` old. A stale KPI (or one whose check could not
 * tell) opens an incident for its owner, once: it stays open until a person resolves it. Returns the incident
 * request to open, when one is due.
 */
export function takeReading(runbook: Runbook, state: HypercareState, reading: FreshnessReading): IncidentRequest | undefined {
  const kpi = runbook.hypercare!.kpis.find((k) => k.id === reading.kpiId)!;
  const entry = state.kpis.find((k) => k.id === reading.kpiId)!;
  const slaMs = durationMs(kpi.sla);
  const nowMs = Date.parse(reading.at);
  entry.checkedAt = reading.at;
  entry.rounds += 1;
  if (reading.latest !== undefined) {
    entry.lastDataAt = reading.latest;
    const age = nowMs - Date.parse(reading.latest);
    entry.fresh = age <= slaMs;
    entry.detail = `data from ${reading.latest}, ${formatDuration(Math.max(0, age))} old (SLA ${kpi.sla})`;
  } else {
    entry.fresh = false;
    entry.detail = `the check could not tell: ${reading.error ?? 'no answer'}`;
  }
  if (entry.fresh) return undefined;
  entry.staleRounds += 1;
  const open = entry.incident !== undefined && state.incidents.some((i) => i.id === entry.incident && i.status === 'open');
  if (open) return undefined;
  return {
    action: 'open',
    by: HYPERCARE_ACTOR,
    severity: kpi.severity,
    title: `KPI ${kpi.title ?? kpi.id} is stale: ${entry.detail}`,
    owner: kpi.owner ?? runbook.lead,
  };
}

/** Why a vote on the hypercare exit gate is refused now, or undefined: one sentence. */
export function refuseExitVote(
  runbook: Runbook,
  state: HypercareState | undefined,
  request: { gateId: string; by: string; role?: string; reason?: string },
  decision: 'approve' | 'reject',
): string | undefined {
  if (request.gateId !== HYPERCARE_EXIT_ID) return `the hypercare exit gate is \`${HYPERCARE_EXIT_ID}\`, not \`${request.gateId}\``;
  if (!state) return 'the run is not in hypercare, so its exit gate is not open';
  const gate = state.exit;
  if (state.status === 'exited' || gate.status === 'approved') return 'the hypercare exit gate was already decided; the run is ending';
  if (gate.status !== 'open')
    return `the hypercare exit gate is not open: its criteria do not hold (${(gate.unmetCriteria ?? []).join('; ') || 'not reviewed yet'})`;
  if (decision === 'reject' && !request.reason?.trim()) return 'a rejection needs a reason (--reason)';
  const held = rolesOf(runbook, request.by).filter((role) => gate.approvers.includes(role));
  if (held.length === 0) return `${request.by} may not vote on the hypercare exit: approvers are the roles ${gate.approvers.join(', ')}`;
  if (request.role !== undefined && !held.includes(request.role))
    return `${request.by} does not hold the approver role ${request.role} (holds ${held.join(', ')})`;
  if (decision === 'approve' && gate.votes.some((v) => v.by === request.by && v.decision === 'approve'))
    return `${request.by} has already approved the hypercare exit`;
  return undefined;
}
