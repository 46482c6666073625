/**
 * The record store read back across runs, for timing review (`cutover history`, `compare`, `forecast`, `report`):
 * one runbook's runs and, per run, how long each step took going forward and in back-out. Two queries per
 * call whatever the number of runs: the runs, then every step attempt of them with only the columns timing needs,
 * folded here into one row per (run, step, purpose). 200 runs of a 200-step runbook is 40,000 attempt rows.
 */
import type { Db } from './connection.js';
import type { RunRecord, StepAttemptStatus } from './records.js';
import { iso, summary } from './row-mapping.js';

/** How one step went in one run, going forward or backing out: every attempt folded into one. */
export interface StepTiming {
  stepId: string;
  phaseId: string;
  purpose: 'forward' | 'backout';
  /** Attempts made (the highest attempt number recorded). */
  attempts: number;
  /** The last attempt's status: `succeeded`, `failed`, `simulated`… (`resolved` when a person did it by hand). */
  status: StepAttemptStatus;
  /** How the last attempt treated the step in a rehearsal: run, simulate or skip. */
  treatment: 'run' | 'simulate' | 'skip';
  /** The first attempt's start and the last attempt's end (ISO), null when never started or not ended. */
  startedAt: string | null;
  endedAt: string | null;
  /** `endedAt - startedAt`: retries and the waits between them count, as they do on the night. */
  durationMs: number | null;
  /** The plan the run had for it (the runbook's `expected`), when recorded. */
  plannedDurationMs: number | null;
}

/** A run with its steps' timings. */
export interface RunTiming extends RunRecord {
  steps: StepTiming[];
}

/** Attempt rows are read in slices of this many runs, so each statement stays under the bound-parameter limits. */
const RUNS_PER_QUERY = 500;

/**
 * One runbook's runs, newest first, without their step rows: what `cutover history` lists. `limit` bounds the
 * count (default: all).
 */
export async function runbookRuns(prisma: Db, runbookName: string, limit?: number): Promise<RunRecord[]> {
  const rows = await prisma.run.findMany({
    where: { runbookName },
    orderBy: [{ createdAt: 'desc' }, { number: 'desc' }],
    ...(limit === undefined ? {} : { take: Math.max(0, Math.trunc(limit)) }),
    omit: { runbookSource: true, stateJson: true },
  });
  return rows.map(summary);
}

/** The given runs (newest first as given) with how long each of their steps took. */
export async function runTimings(prisma: Db, runs: readonly RunRecord[]): Promise<RunTiming[]> {
  const byRun = new Map<string, Map<string, StepTiming>>();
  for (const run of runs) byRun.set(run.id, new Map());
  for (let i = 0; i < runs.length; i += RUNS_PER_QUERY) {
    const ids = runs.slice(i, i + RUNS_PER_QUERY).map((run) => run.id);
    const rows = await prisma.stepRun.findMany({
      where: { runId: { in: ids } },
      select: {
        runId: true,
        stepId: true,
        phaseId: true,
        purpose: true,
        attempt: true,
        status: true,
        treatment: true,
        startedAt: true,
        endedAt: true,
        plannedDurationMs: true,
      },
      orderBy: { id: 'asc' },
    });
    for (const row of rows) {
      const steps = byRun.get(row.runId)!;
      const key = `${row.purpose}\u0000${row.stepId}`;
      const seen = steps.get(key);
      const started = iso(row.startedAt);
      const ended = iso(row.endedAt);
      if (!seen) {
        steps.set(key, {
          stepId: row.stepId,
          phaseId: row.phaseId,
          purpose: row.purpose as StepTiming['purpose'],
          attempts: row.attempt,
          status: row.status as StepAttemptStatus,
          treatment: row.treatment as StepTiming['treatment'],
          startedAt: started,
          endedAt: ended,
          durationMs: null,
          plannedDurationMs: row.plannedDurationMs === null ? null : Number(row.plannedDurationMs),
        });
        continue;
      }
      if (started !== null && (seen.startedAt === null || started < seen.startedAt)) seen.startedAt = started;
      if (row.attempt >= seen.attempts) {
        // The latest attempt says how the step ended.
        seen.attempts = row.attempt;
        seen.status = row.status as StepAttemptStatus;
        seen.treatment = row.treatment as StepTiming['treatment'];
        seen.endedAt = ended;
      }
    }
  }
  return runs.map((run) => {
    const steps = [...byRun.get(run.id)!.values()];
    for (const step of steps) {
      step.durationMs =
        step.startedAt !== null && step.endedAt !== null ? Math.max(0, Date.parse(step.endedAt) - Date.parse(step.startedAt)) : null;
    }
    return { ...run, steps };
  });
}

/** The runbook YAML of a runbook's latest run (the version last run), or null when it has none. */
export async function latestRunbookSource(prisma: Db, runbookName: string): Promise<{ runId: string; source: string } | null> {
  const run = await prisma.run.findFirst({
    where: { runbookName },
    orderBy: [{ createdAt: 'desc' }, { number: 'desc' }],
    select: { id: true, runbookSource: true },
  });
  return run ? { runId: run.id, source: run.runbookSource } : null;
}
