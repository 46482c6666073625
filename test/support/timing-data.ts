/**
 * Recorded runs for timing-review tests, written through the record store's own API (reserve, start, step
 * attempts, checks, decisions, finish) as the workflow's activities write them, with the times a test chooses.
 */
import { effectiveDependencies, topologicalOrder } from '../../runbook/graph.js';
import { parseRunbook } from '../../runbook/parse.js';
import type { CheckOutcome, Decision, RunMode } from '../../run/state.js';
import type { Runbook } from '../../runbook/schema.js';
import { initialRunState } from '../../run/transitions.js';
import { hashRunbook } from '../../cli/load-runbook.js';
import type { RecordStore } from '../../prisma/record-store.js';

/** A runbook for timing tests: `lines` are the phases' YAML. */
export function timingRunbook(text: string): { runbook: Runbook; source: string; hash: string } {
  const parsed = parseRunbook(text, 'timing.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.slice(0, 3)));
  return { runbook: parsed.runbook, source: text, hash: hashRunbook(parsed.runbook) };
}

export interface RecordedRunSpec {
  runbook: { runbook: Runbook; source: string; hash: string };
  mode?: RunMode;
  startedBy?: string;
  /** When the run started (ms since the epoch). */
  startMs: number;
  /** Step id -> how long it took going forward; steps left out never ran (the run stopped first). */
  durations: Record<string, number>;
  /** Steps that failed (their last attempt), with the error. */
  failed?: Record<string, string>;
  /** Attempts of a step (default 1); each earlier attempt failed. */
  attempts?: Record<string, number>;
  /** Rehearsal treatment per step (default run). */
  treatment?: Record<string, 'run' | 'simulate' | 'skip'>;
  /** The run backed out after its forward steps: each undo's duration, undone one after the other in reverse order. */
  backout?: { reason: string; trigger?: 'step_failed' | 'gate_rejected' | 'requested'; undo: Record<string, number> };
  checks?: { stepId: string; outcome: CheckOutcome }[];
  decisions?: Decision[];
  /** The run's end status (default: completed, or backed_out with `backout`). */
  status?: 'completed' | 'backed_out' | 'failed';
  /** A run still in flight: its steps are recorded, its end is not. */
  inFlight?: boolean;
}

/** Records one run the way a finished run is recorded; returns its id. */
export async function recordRun(store: RecordStore, spec: RecordedRunSpec): Promise<string> {
  const { runbook, source, hash } = spec.runbook;
  const mode = spec.mode ?? 'rehearsal';
  const startedBy = spec.startedBy ?? 'alice';
  const { runId } = await store.reserveRun({
    runbookName: runbook.name,
    mode,
    runbookVersion: runbook.version,
    versionHash: hash,
    runbookSource: source,
    startedBy,
  });
  const iso = (ms: number) => new Date(ms).toISOString();
  await store.markRunStarted(runId, { startedAt: iso(spec.startMs) });
  const state = initialRunState({ runId, runbook, versionHash: hash, mode, startedBy }, iso(spec.startMs));
  const deps = effectiveDependencies(runbook);
  const end = new Map<string, number>();
  let last = spec.startMs;
  for (const id of topologicalOrder(runbook)) {
    const duration = spec.durations[id];
    if (duration === undefined || (deps[id] ?? []).some((d) => !end.has(d))) continue;
    const start = Math.max(spec.startMs, ...(deps[id] ?? []).map((d) => end.get(d)!));
    const attempts = spec.attempts?.[id] ?? 1;
    const step = state.steps[id]!;
    const failed = spec.failed?.[id];
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const attemptStart = start + ((attempt - 1) * duration) / attempts;
      const attemptEnd = start + (attempt * duration) / attempts;
      const ok = attempt === attempts && failed === undefined;
      await store.recordStepAttempt({
        runId,
        stepId: id,
        phaseId: step.phaseId,
        title: step.title,
        owner: step.owner,
        kind: step.kind,
        purpose: 'forward',
        attempt,
        treatment: spec.treatment?.[id] ?? 'run',
        status: ok ? (spec.treatment?.[id] === 'simulate' ? 'simulated' : 'succeeded') : 'failed',
        plannedStartMs: step.plannedStartMs,
        plannedDurationMs: step.plannedDurationMs,
        startedAt: iso(attemptStart),
        endedAt: iso(attemptEnd),
        ...(ok ? {} : { error: failed ?? 'exit code 1' }),
        idempotencyKey: `${runId}/${id}`,
      });
    }
    step.status = failed === undefined ? 'succeeded' : 'failed';
    step.attempts = attempts;
    step.startedAt = iso(start);
    step.endedAt = iso(start + duration);
    if (failed !== undefined) step.error = failed;
    // A step that failed stops the run: nothing after it starts.
    if (failed === undefined) end.set(id, start + duration);
    last = Math.max(last, start + duration);
  }
  for (const { stepId, outcome } of spec.checks ?? []) {
    await store.recordCheckResults(runId, stepId, 1, [outcome]);
    state.steps[stepId]?.checks.push(outcome);
  }
  if (spec.backout) {
    const backoutStart = last;
    let at = backoutStart;
    for (const id of [...state.order].reverse()) {
      const undo = spec.backout.undo[id];
      if (undo === undefined) continue;
      const step = state.steps[id]!;
      await store.recordStepAttempt({
        runId,
        stepId: id,
        phaseId: step.phaseId,
        title: step.title,
        owner: step.owner,
        kind: step.kind,
        purpose: 'backout',
        attempt: 1,
        treatment: 'run',
        status: 'succeeded',
        plannedStartMs: step.plannedStartMs,
        plannedDurationMs: step.plannedDurationMs,
        startedAt: iso(at),
        endedAt: iso(at + undo),
        idempotencyKey: `${runId}/${id}/backout`,
      });
      step.backout = { status: 'succeeded', attempts: 1, startedAt: iso(at), endedAt: iso(at + undo) };
      at += undo;
    }
    state.backout = {
      status: 'completed',
      trigger: spec.backout.trigger ?? 'requested',
      reason: spec.backout.reason,
      requestedBy: startedBy,
      startedAt: iso(backoutStart),
      endedAt: iso(at),
    };
    last = at;
  }
  state.decisions = spec.decisions ?? [];
  for (const [seq, decision] of state.decisions.entries()) await store.recordDecision(runId, seq, decision);
  if (spec.inFlight) return runId;
  const status = spec.status ?? (spec.backout ? 'backed_out' : 'completed');
  state.status = status;
  state.endedAt = iso(last);
  state.outcome = status === 'completed' ? 'every step done' : status === 'backed_out' ? `backed out: ${spec.backout?.reason}` : 'failed';
  await store.finishRun(runId, { status, outcome: state.outcome, endedAt: iso(last), state });
  return runId;
}
