/**
 * A recorded run as the timing code reads it (`TimedRun`), for the pure forecast tests: each step one successful
 * attempt of the given duration, back-out steps when `undo` is given, the run an hour long from `t0`.
 */
import type { TimedRun, TimedStep } from '../../timing/runs.js';

export interface TimedRunSpec {
  id: string;
  number: number;
  /** When the run started, ms since the epoch; every step starts then. */
  t0: number;
  durations: Record<string, number>;
  /** Back-out durations by step: the run backed out. */
  undo?: Record<string, number>;
  trigger?: 'requested' | 'gate_rejected' | 'step_failed';
  versionHash?: string;
}

export function timedRun({ id, number, t0, durations, undo, trigger = 'requested', versionHash = 'v1' }: TimedRunSpec): TimedRun {
  const step = (stepId: string, purpose: 'forward' | 'backout', ms: number): TimedStep => ({
    stepId,
    phaseId: 'work',
    purpose,
    attempts: 1,
    status: 'succeeded',
    treatment: 'run',
    startedAt: new Date(t0).toISOString(),
    endedAt: new Date(t0 + ms).toISOString(),
    durationMs: ms,
    plannedDurationMs: null,
  });
  return {
    id,
    number,
    mode: 'rehearsal',
    status: undo ? 'backed_out' : 'completed',
    runbookVersion: '1',
    versionHash,
    startedBy: 'alice',
    createdAt: new Date(t0).toISOString(),
    startedAt: new Date(t0).toISOString(),
    endedAt: new Date(t0 + 3_600_000).toISOString(),
    outcome: null,
    backoutTrigger: undo ? trigger : null,
    backoutStartedAt: undo ? new Date(t0).toISOString() : null,
    backoutEndedAt: undo ? new Date(t0 + 600_000).toISOString() : null,
    steps: [
      ...Object.entries(durations).map(([stepId, ms]) => step(stepId, 'forward', ms)),
      ...Object.entries(undo ?? {}).map(([stepId, ms]) => step(stepId, 'backout', ms)),
    ],
  };
}
