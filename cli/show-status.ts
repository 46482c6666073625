/**
 * `cutover status RUN [--json]`: every step with owner, status, planned and actual time, decisions and back-out. It asks
 * Temporal about a run in flight and the record store about a finished one, so finished runs can be reviewed with
 * Temporal gone.
 */
import { dutyNow, onItText } from '../present/duty-view.js';
import type { RotaShift } from '../runbook/rota.js';
import { refusalLine, refusalOf } from '../present/refusal-view.js';
import { describeSummary } from '../reconcile/format.js';
import { formatDuration } from '../runbook/duration.js';
import { actualMs as actualOf, overPlanMs, plannedText, RESOLUTION_WORDS, STEP_SYMBOL } from '../present/run-view.js';
import type { RunState, StepState } from '../run/state.js';
import { unmetRequirements } from '../run/transitions.js';
import type { WorkflowHandle } from '@temporalio/client';
import { findRun, type FoundRun } from './find-run.js';
import { EXIT } from './errors.js';
import type { Output } from './output.js';
import { readSettings } from './settings.js';
import { openRecordStore } from '../prisma/store.js';
import type { RecordStore } from '../prisma/record-store.js';
import { parseRunbook } from '../runbook/parse.js';
import { forecastLine } from '../present/live-forecast.js';
import { liveForecast, type LiveForecast } from '../timing/live-forecast.js';
import { loadLiveModel } from '../timing/live-model-source.js';
import { progressNotes, type ProgressNotes } from '../common/step-progress.js';
import { unservedPools, waitsForPool } from './task-queues.js';
import { hypercareLines, hypercareView } from '../present/hypercare-view.js';
import { undeliveredLines } from '../present/delivery-view.js';

/** `cutover status RUN [--json]` */
export async function showStatus(runId: string, json: boolean, out: Output): Promise<number> {
  const settings = readSettings();
  const store = await openRecordStore(settings);
  let storeWait: RecordStoreWait | undefined;
  let unserved: string[] = [];
  let progress: ProgressNotes = {};
  let found: FoundRun;
  let forecast: LiveForecast | undefined;
  let failedDeliveries: string[];
  try {
    found = await findRun(runId, settings, store, async (session, live) => {
      const handle = session.client.workflow.getHandle(runId);
      storeWait = await recordStoreWait(handle);
      // Extra information: a Temporal that cannot say who polls does not cost the lead the state.
      unserved = await unservedPools(session.client, session.namespace, session.taskQueue, live).catch(() => []);
      if (Object.values(live.steps).some((step) => step.status === 'running')) progress = await progressNotes(session.client, handle);
    });
    forecast = await reforecast(store, found);
    failedDeliveries = await undeliveredLines(store, runId);
  } finally {
    await store.close();
  }
  const { state, source, note } = found;
  if (json) {
    out.json({
      source,
      ...(note ? { note } : {}),
      ...(storeWait ? { recordStoreWait: storeWait } : {}),
      ...(unserved.length > 0 ? { unservedPools: unserved } : {}),
      ...(Object.keys(progress).length > 0 ? { progress } : {}),
      ...(forecast ? { forecast } : {}),
      ...(state.hypercare ? { hypercare: hypercareView(state.hypercare, Date.now()) } : {}),
      ...(failedDeliveries.length > 0 ? { failedDeliveries } : {}),
      state,
    });
    return EXIT.ok;
  }
  if (note) out.warn(note);
  for (const line of formatStatus(state, Date.now(), { unservedPools: unserved, progress, ...(forecast ? { forecast } : {}) }))
    out.line(line);
  if (storeWait) out.line(formatRecordStoreWait(storeWait));
  const duty = state.endedAt ? [] : dutyNow(rotaOf(found), state, Date.now());
  if (duty.length > 0) {
    out.line('');
    out.line('on duty:');
    for (const line of duty) out.line(`  ${line}`);
  }
  if (failedDeliveries.length > 0) {
    out.line('');
    out.line(
      `notifications: ${failedDeliveries.length} message${failedDeliveries.length === 1 ? '' : 's'} did not reach people (\`cutover events ${runId}\` shows all):`,
    );
    for (const line of failedDeliveries) out.line(`  ${line}`);
  }
  return EXIT.ok;
}

/**
 * The live re-forecast of a run in flight, from the runbook it was started with and the runbook's recorded runs; none
 * for a run that ended, or one whose runbook the store does not have (it cannot be fitted).
 */
async function reforecast(store: RecordStore, found: FoundRun): Promise<LiveForecast | undefined> {
  if (found.state.endedAt || !found.record) return undefined;
  const parsed = parseRunbook(found.record.runbookSource, `${found.record.id} (recorded runbook)`);
  if (!parsed.ok) return undefined;
  const model = await loadLiveModel(store, parsed.runbook, found.record.versionHash);
  return liveForecast(model, found.state, Date.now());
}

/** The rota of the runbook the run was started with, and its window's start; none when it has none. */
function rotaOf(found: FoundRun): { shifts: RotaShift[]; windowStart?: string } | undefined {
  if (!found.record) return undefined;
  const parsed = parseRunbook(found.record.runbookSource, `${found.record.id} (recorded runbook)`);
  if (!parsed.ok || !parsed.runbook.rota) return undefined;
  const windowStart = parsed.runbook.window?.start;
  return { shifts: parsed.runbook.rota, ...(windowStart ? { windowStart } : {}) };
}

/** A run held up because its record store does not answer: its recording keeps failing and retrying. */
export interface RecordStoreWait {
  /** When the longest-failing recording was first asked for (ISO). */
  since: string;
  /** What the store said last, first line. */
  error: string;
  /** Attempts so far of that recording. */
  attempt: number;
}

/**
 * Asks Temporal whether the run is waiting for its record store: recording activities (their
 * names start with `record`; the run's steps are `runStep`) that failed and are being retried.
 * Recording retries until the store answers, so this is the one place a person can see why a
 * run stands still. Undefined when nothing is retrying, or when the description is unavailable.
 */
async function recordStoreWait(handle: WorkflowHandle): Promise<RecordStoreWait | undefined> {
  let pending;
  try {
    pending = (await handle.describe()).raw.pendingActivities ?? [];
  } catch {
    return undefined; // The state was answered; this extra line is not worth failing for.
  }
  const retrying = pending.filter((a) => /^record[A-Z]/.test(a.activityType?.name ?? '') && (a.attempt ?? 0) > 1 && a.lastFailure);
  if (retrying.length === 0) return undefined;
  // A pending activity carries only its current attempt's times; its first one is in the history.
  const firstScheduled = new Map<string, string>();
  try {
    for (const event of (await handle.fetchHistory()).events ?? []) {
      const id = event.activityTaskScheduledEventAttributes?.activityId;
      const at = timestampIso(event.eventTime);
      if (id && at) firstScheduled.set(id, at);
    }
  } catch {
    // Without the history, the current attempt's time is the best there is.
  }
  const waits = retrying
    .map((a) => ({
      since: firstScheduled.get(a.activityId ?? '') ?? timestampIso(a.scheduledTime) ?? new Date().toISOString(),
      error: (a.lastFailure?.message ?? 'failed').split('\n')[0]!.slice(0, 200),
      attempt: a.attempt ?? 0,
    }))
    .sort((a, b) => a.since.localeCompare(b.since));
  return waits[0];
}

function timestampIso(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): string | undefined {
  if (!ts?.seconds) return undefined;
  return new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

/** `waiting for the record store since 22:14:05: database is locked (attempt 4)` */
export function formatRecordStoreWait(wait: RecordStoreWait): string {
  return `waiting for the record store since ${wait.since.slice(11, 19)}: ${wait.error} (attempt ${wait.attempt})`;
}

/** The human view of a run: header, one line per step by phase, decisions, back-out. */
export function formatStatus(
  state: RunState,
  now: number = Date.now(),
  live: { unservedPools?: readonly string[]; progress?: ProgressNotes; forecast?: LiveForecast } = {},
): string[] {
  const lines: string[] = [];
  const unserved = new Set(live.unservedPools ?? []);
  const progress = live.progress ?? {};
  // Which machine ran a step matters once there is more than one.
  const showWorker = new Set(Object.values(state.steps).flatMap((s) => (s.worker ? [s.worker] : []))).size > 1;
  const took = state.endedAt ? ` — ${formatDuration(Date.parse(state.endedAt) - Date.parse(state.startedAt))}` : '';
  lines.push(`${state.runId}  ${state.mode}  ${state.status.toUpperCase().replace('_', ' ')}${took}`);
  lines.push(
    `runbook ${state.runbookName} v${state.runbookVersion} (${state.versionHash}), started ${state.startedAt} by ${state.startedBy}` +
      ((state.execution ?? 1) > 1 ? `; execution ${state.execution} (the run continues as new to keep each Temporal history small)` : ''),
  );
  const plannedMs = Math.max(0, ...Object.values(state.steps).map((s) => s.plannedStartMs + s.plannedDurationMs));
  const elapsedMs = (state.endedAt ? Date.parse(state.endedAt) : now) - Date.parse(state.startedAt);
  lines.push(
    `plan: ${formatDuration(plannedMs)} on the critical path; ${state.endedAt ? 'took' : 'elapsed'} ${formatDuration(elapsedMs)}` +
      (plannedMs > 0 && elapsedMs > plannedMs ? ` (${formatDuration(elapsedMs - plannedMs)} over plan)` : ''),
  );
  if (state.outcome) lines.push(`outcome: ${state.outcome}`);
  if (live.forecast) lines.push(forecastLine(live.forecast, now));
  lines.push('');
  lines.push(`  ${'STEP'.padEnd(30)} ${'OWNER'.padEnd(14)} ${'STATUS'.padEnd(12)} ${'PLANNED'.padStart(8)} ${'ACTUAL'.padStart(8)}  NOTE`);
  let phase = '';
  for (const id of state.order) {
    const step = state.steps[id]!;
    if (step.phaseId !== phase) {
      phase = step.phaseId;
      lines.push(`${phase} (${step.phaseKind})`);
    }
    const actualMs = actualOf(step, now);
    const actual = actualMs === undefined ? '' : `${formatDuration(actualMs)}${step.endedAt ? '' : '…'}`;
    lines.push(
      `  ${STEP_SYMBOL[step.status]} ${step.id.padEnd(28)} ${step.owner.padEnd(14)} ${step.status.padEnd(12)} ${plannedText(step).padStart(8)} ${actual.padStart(8)}  ${noteFor(step, unserved, showWorker, progress[step.id], now)}`.trimEnd(),
    );
  }
  lines.push(...formatReconciliations(state));
  if (state.hypercare) lines.push(...hypercareLines(hypercareView(state.hypercare, now), now));
  if (state.decisions.length > 0) {
    lines.push('', 'decisions:');
    for (const d of state.decisions) {
      const refusal = refusalOf(d);
      lines.push(
        refusal
          ? `  ${d.at}  ${refusalLine(d, refusal)}`
          : `  ${d.at}  ${d.by} (${d.role}) ${d.kind.replace('_', ' ')}${d.target ? ` ${d.target}` : ''}${d.reason ? `: "${d.reason}"` : ''}${d.automatic ? ' [automatic]' : ''}`,
      );
    }
  }
  if (state.backout.status !== 'not_requested') {
    lines.push(
      '',
      `back-out ${state.backout.status}: ${state.backout.reason ?? ''}${state.backout.requestedBy ? ` (by ${state.backout.requestedBy})` : ''}`,
    );
    const nothingToUndo: string[] = [];
    for (const id of [...state.order].reverse()) {
      const b = state.steps[id]!.backout;
      if (!b) continue;
      if (b.status === 'not_needed') {
        nothingToUndo.push(id);
        continue;
      }
      const took = b.startedAt && b.endedAt ? ` in ${formatDuration(Date.parse(b.endedAt) - Date.parse(b.startedAt))}` : '';
      lines.push(
        `  ${id.padEnd(30)} ${b.status}${took}${b.attempts > 1 ? ` after ${b.attempts} attempts` : ''}${b.error ? `: ${b.error}` : ''}`,
      );
    }
    if (nothingToUndo.length > 0) lines.push(`  no back-out action: ${nothingToUndo.join(', ')}`);
  }
  return lines;
}

/**
 * What each reconcile action and check found, under the steps: the counts and the verdict (a
 * repeating check's latest round and drift), and the command that lists the differing rows.
 */
function formatReconciliations(state: RunState): string[] {
  const lines: string[] = [];
  for (const id of state.order) {
    const step = state.steps[id]!;
    const found = [
      ...(step.reconcile ? [{ what: 'action', summary: step.reconcile }] : []),
      ...step.checks.flatMap((c) => (c.reconcile ? [{ what: `check "${c.name}"`, summary: c.reconcile }] : [])),
    ];
    found.forEach(({ what, summary }, i) => {
      lines.push(`  ${(i === 0 ? id : '').padEnd(30)} ${what}: ${describeSummary(summary)}`);
    });
  }
  if (lines.length === 0) return [];
  return ['', `reconciliations (the differing rows: cutover reconcile-report ${state.runId} STEP):`, ...lines];
}

function noteFor(
  step: StepState,
  unservedPools: ReadonlySet<string>,
  showWorker: boolean,
  progress: string | undefined,
  now: number,
): string {
  const notes: string[] = [];
  if (step.status === 'running' && progress) notes.push(progress);
  if (waitsForPool(step) && unservedPools.has(step.runsOn!)) {
    notes.push(`waiting for pool ${step.runsOn}: no worker polls it; start \`cutover worker --pool ${step.runsOn}\` on that machine`);
  }
  if (step.gate && step.status === 'waiting') {
    const votes = step.gate.votes.map((v) => `${v.by}✓`).join(' ');
    const needs = [...step.gate.awaiting, ...unmetRequirements(step.gate)];
    notes.push(`needs ${needs.join(', ')}${votes ? `; ${votes}` : ''}`);
    if (step.gate.unmetCriteria?.length) notes.push(`criteria not met: ${step.gate.unmetCriteria.join('; ')}`);
    const noReturn = step.gate.pointOfNoReturn;
    if (noReturn) {
      notes.push(
        Date.parse(noReturn.at) > now
          ? `point of no return ${noReturn.at} (in ${formatDuration(Date.parse(noReturn.at) - now)})`
          : `PAST the point of no return (${noReturn.at}): a go now leaves no room to back out inside the window`,
      );
    }
    if (step.gate.closesAt) {
      const left = Date.parse(step.gate.closesAt) - now;
      notes.push(
        left > 0
          ? `closes in ${formatDuration(left)} (${step.gate.closesAt}), then ${step.gate.onDeadline ?? 'no-go'}`
          : `deadline ${step.gate.closesAt} passed`,
      );
    }
  } else if (step.gate && step.gate.votes.length > 0) {
    notes.push(step.gate.votes.map((v) => `${v.by} ${v.decision}d`).join(', '));
  } else if (step.resolution) {
    notes.push(`${RESOLUTION_WORDS[step.resolution.kind]}: ${step.resolution.error}`);
  } else if (step.waitingFor === 'manual') {
    notes.push('manual: waiting for the owner');
  } else if (step.error) {
    notes.push(step.error);
  } else if (step.completedBy) {
    notes.push(`by ${step.completedBy}`);
  }
  const onIt = onItText(step);
  if (onIt) notes.push(onIt);
  if (step.attempts > 1) notes.push(`${step.attempts} attempts`);
  if (showWorker && step.worker) notes.push(`on ${step.worker}`);
  const over = overPlanMs(step, now);
  if (over !== undefined) notes.push(`${formatDuration(over)} over plan`);
  return notes.join('; ');
}
