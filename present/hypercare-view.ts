/**
 * What a person sees of a run's hypercare, derived once for `status`, `incident list` and the page: the open
 * incidents by age (oldest first) with their owner and markers, MTTR per severity against its target, each KPI's
 * freshness, and the exit gate with what still keeps it shut. Pure.
 */
import { HYPERCARE_EXIT_ID, mttrBySeverity, type HypercareState, type Incident, type SeverityMttr } from '../run/hypercare.js';
import { differing, type ReconcileRounds } from '../run/hypercare-drift.js';
import { formatDuration } from '../runbook/duration.js';
import type { Runbook } from '../runbook/schema.js';
import { roleWithPeople, type RunContext, type WaitingItem } from './run-view.js';

/** One open incident as listed: its age and the state of its target. */
export interface OpenIncidentRow {
  id: string;
  severity: number;
  title: string;
  owner: string;
  ageMs: number;
  /** `breached`, `approaching` or `within` its target; `no target` for a severity without one. */
  target: 'breached' | 'approaching' | 'within' | 'no target';
  eta?: string;
  external?: string;
  kpi?: string;
}

/** The hypercare at a glance. */
export interface HypercareView {
  status: HypercareState['status'];
  startedAt: string;
  open: OpenIncidentRow[];
  /** Open incidents per owner role. */
  byOwner: Record<string, number>;
  mttr: SeverityMttr[];
  kpis: HypercareState['kpis'];
  /** The parallel-run reconciliations: rounds, rounds with drift, the latest round, and how its rounds stand for the exit. */
  drift: DriftRow[];
  exit: { status: string; unmet: string[]; awaiting: string[] };
}

/** One parallel-run reconciliation as listed. */
export type DriftRow = Omit<ReconcileRounds, 'last'> & {
  latest?: ReconcileRounds['last'][number];
  /** Its latest rounds that found 0 differences, in a row (the exit's `drift_rounds` counts these). */
  atZero: number;
  /** The rounds in a row at 0 the exit gate needs (`hypercare.exit.drift_rounds`), when the reader has the runbook. */
  needed?: number;
};

/** What the view reads from the runbook when the reader has it: the exit's `drift_rounds`. */
export interface HypercareViewOptions {
  driftRounds?: number;
}

/** The context entry of a runbook that compares a parallel run in hypercare: the rounds at 0 its exit needs. */
export function driftContext(runbook: Pick<Runbook, 'hypercare'>): { driftRounds?: number } {
  const hypercare = runbook.hypercare;
  return (hypercare?.reconcile?.length ?? 0) > 0 && hypercare?.exit ? { driftRounds: hypercare.exit.drift_rounds } : {};
}

/** The latest rounds of `last` that found 0 differences, in a row. */
export function roundsAtZero(last: ReconcileRounds['last']): number {
  let n = 0;
  for (let i = last.length - 1; i >= 0 && differing(last[i]!) === 0; i -= 1) n += 1;
  return n;
}

/**
 * The parallel run in a few words, for the console's line and the page's row title: `orders (dba): round 4 no drift;
 * 3/3 rounds at 0 for the exit (met)`, or without the runbook at hand `…; 3 rounds at 0 in a row`.
 */
export function driftSentence(row: DriftRow): string {
  const n = row.latest ? differing(row.latest) : undefined;
  const latest = !row.latest
    ? 'not compared yet'
    : `round ${row.latest.round} ${n === undefined ? `could not compare (${row.latest.error})` : n === 0 ? 'no drift' : `${n} ${n === 1 ? 'row differs' : 'rows differ'}`}`;
  const streak =
    row.needed === undefined
      ? `${row.atZero} ${row.atZero === 1 ? 'round' : 'rounds'} at 0 in a row`
      : `${row.atZero}/${row.needed} rounds at 0 for the exit${row.atZero >= row.needed ? ' (met)' : ''}`;
  return `${row.id}${row.owner ? ` (${row.owner})` : ''}: ${latest}; ${streak}`;
}

export function hypercareView(state: HypercareState, nowMs: number, options: HypercareViewOptions = {}): HypercareView {
  const open = state.incidents
    .filter((i) => i.status === 'open')
    .sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt))
    .map((i) => openRow(i, state, nowMs));
  const byOwner: Record<string, number> = {};
  for (const row of open) byOwner[row.owner] = (byOwner[row.owner] ?? 0) + 1;
  return {
    status: state.status,
    startedAt: state.startedAt,
    open,
    byOwner,
    mttr: mttrBySeverity(state, { targets: state.targetsMs ?? {}, approaching: 0.75 }),
    kpis: state.kpis,
    drift: (state.reconciles ?? []).map(({ last, ...counts }) => ({
      ...counts,
      ...(last.length > 0 ? { latest: last[last.length - 1] } : {}),
      atZero: roundsAtZero(last),
      ...(options.driftRounds !== undefined ? { needed: options.driftRounds } : {}),
    })),
    exit: { status: state.exit.status, unmet: state.exit.unmetCriteria ?? [], awaiting: state.exit.awaiting },
  };
}

function openRow(incident: Incident, state: HypercareState, nowMs: number): OpenIncidentRow {
  const hasTarget = state.targetsMs?.[incident.severity] !== undefined;
  return {
    id: incident.id,
    severity: incident.severity,
    title: incident.title,
    owner: incident.owner,
    ageMs: Math.max(0, nowMs - Date.parse(incident.openedAt)),
    target: !hasTarget ? 'no target' : incident.breachedAt ? 'breached' : incident.approachingAt ? 'approaching' : 'within',
    ...(incident.eta ? { eta: incident.eta } : {}),
    ...(incident.external ? { external: incident.external } : {}),
    ...(incident.kpi ? { kpi: incident.kpi } : {}),
  };
}

/** The hypercare as lines under `cutover status`, and as `cutover incident list` prints it. */
export function hypercareLines(view: HypercareView, nowMs: number, options: { resolved?: readonly Incident[] } = {}): string[] {
  const lines: string[] = [''];
  const since = formatDuration(Math.max(0, nowMs - Date.parse(view.startedAt)));
  lines.push(`hypercare ${view.status === 'exited' ? 'exited' : 'open'} (since ${view.startedAt}, ${since})`);
  if (view.open.length === 0) lines.push('  no open incidents');
  else {
    const owners = Object.entries(view.byOwner)
      .map(([owner, n]) => `${owner} ${n}`)
      .join(', ');
    lines.push(`  open incidents: ${view.open.length} (${owners}), oldest first:`);
    lines.push(`  ${'ID'.padEnd(8)} ${'SEV'.padEnd(4)} ${'OWNER'.padEnd(14)} ${'AGE'.padStart(8)}  ${'TARGET'.padEnd(11)} TITLE`);
    for (const row of view.open) {
      const extra = [row.eta ? `ETA ${row.eta}` : '', row.external ? `ext ${row.external}` : ''].filter(Boolean).join(', ');
      lines.push(
        `  ${row.id.padEnd(8)} ${`sev${row.severity}`.padEnd(4)} ${row.owner.padEnd(14)} ${formatDuration(row.ageMs).padStart(8)}  ${row.target.padEnd(11)} ${row.title}${extra ? ` (${extra})` : ''}`,
      );
    }
  }
  for (const incident of options.resolved ?? []) {
    lines.push(
      `  resolved ${incident.id} sev${incident.severity} ${incident.owner}: ${incident.title} — in ${formatDuration(Date.parse(incident.resolvedAt!) - Date.parse(incident.openedAt))} by ${incident.resolvedBy}`,
    );
  }
  const mttr = view.mttr.filter((m) => m.resolved > 0 || m.targetMs !== undefined);
  if (mttr.length > 0) {
    lines.push(
      `  MTTR: ${mttr
        .map(
          (m) =>
            `sev${m.severity} ${m.mttrMs === undefined ? '—' : formatDuration(m.mttrMs)}${m.targetMs === undefined ? '' : ` (target ${formatDuration(m.targetMs)})`}, ${m.resolved} resolved${m.breaches > 0 ? `, ${m.breaches} breached` : ''}`,
        )
        .join('; ')}`,
    );
  }
  for (const kpi of view.kpis) {
    const state = kpi.fresh === undefined ? 'not checked yet' : kpi.fresh ? 'fresh' : 'STALE';
    lines.push(
      `  KPI ${kpi.id} (${kpi.owner ?? 'no owner'}): ${state}${kpi.detail ? ` — ${kpi.detail}` : ''}${kpi.checkedAt ? `, checked ${kpi.checkedAt}` : ''}`,
    );
  }
  for (const run of view.drift) {
    const n = run.latest ? differing(run.latest) : undefined;
    const latest = !run.latest
      ? 'not compared yet'
      : `last round ${run.latest.round}: ${n === undefined ? `could not compare (${run.latest.error})` : n === 0 ? 'no drift' : `${n} rows differ`}`;
    lines.push(`  parallel run ${run.id} (${run.owner ?? 'no owner'}): ${run.rounds} rounds, ${run.driftRounds} with drift; ${latest}`);
  }
  const exit = view.exit;
  lines.push(
    exit.status === 'open'
      ? `  exit gate hypercare-exit: open, waiting for ${exit.awaiting.join(', ') || 'any approver'} (cutover approve RUN hypercare-exit)`
      : exit.status === 'pending'
        ? `  exit gate hypercare-exit: shut — ${exit.unmet.join('; ') || 'not reviewed yet'}`
        : `  exit gate hypercare-exit: ${exit.status}`,
  );
  return lines;
}

/**
 * The open exit gate as something that waits for people, pinned with the run's gates (the console's `a` and `r` act on
 * it); undefined while it is shut or decided.
 */
export function exitWaitingItem(state: HypercareState | undefined, context: RunContext = {}): WaitingItem | undefined {
  const gate = state?.exit;
  if (!gate || state.status !== 'open' || gate.status !== 'open') return undefined;
  const needs = gate.rule === 'all' ? gate.awaiting : gate.approvers;
  return {
    stepId: HYPERCARE_EXIT_ID,
    kind: 'gate',
    what: `gate ${HYPERCARE_EXIT_ID}: end hypercare? its criteria hold (reject: not yet, hypercare goes on)`,
    who: `${gate.rule === 'all' ? 'each of' : 'one of'} ${needs.map((r) => roleWithPeople(r, context)).join(', ')}`,
    ...(gate.openedAt ? { since: gate.openedAt } : {}),
  };
}
