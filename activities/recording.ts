/**
 * Recording activities: the workflow's way of writing the durable record of a run (the
 * store), so a finished run can be reviewed with Temporal gone. All writes are idempotent
 * upserts keyed by run, step, attempt or decision index, because activities retry.
 */
import type { CheckOutcome, Decision, RunState } from '../runbook/run-state.js';
import type { StepRecord } from './types.js';

/** What activities need from the record store (the Prisma `RunStore` satisfies it). */
export interface RunRecorder {
  markRunStarted(runId: string, fields: { startedAt: string }): Promise<void>;
  recordStepAttempt(row: StepRecord): Promise<void>;
  recordCheckResults(runId: string, stepId: string, attempt: number, checks: CheckOutcome[]): Promise<void>;
  recordDecision(runId: string, seq: number, decision: Decision): Promise<void>;
  recordRunState(runId: string, state: RunState): Promise<void>;
  finishRun(runId: string, fields: { status: string; outcome: string; endedAt: string; state: RunState }): Promise<void>;
}

/** The recording activities, bound to a recorder. */
export function createRecordingActivities(recorder: RunRecorder) {
  return {
    /** Marks the run started, with its first state snapshot. */
    async recordRunStarted(state: RunState): Promise<void> {
      await recorder.markRunStarted(state.runId, { startedAt: state.startedAt });
      await recorder.recordRunState(state.runId, state);
    },
    /** Writes one step history row decided by the workflow (gates, manual steps, timers, skips). */
    async recordStep(row: StepRecord): Promise<void> {
      await recorder.recordStepAttempt(row);
    },
    /** Writes entry `seq` of the decision log. */
    async recordDecision(runId: string, seq: number, decision: Decision): Promise<void> {
      await recorder.recordDecision(runId, seq, decision);
    },
    /** Writes a state snapshot (status, back-out) mid-run. */
    async recordRunState(state: RunState): Promise<void> {
      await recorder.recordRunState(state.runId, state);
    },
    /** Writes the final state and outcome. */
    async recordRunFinished(state: RunState): Promise<void> {
      await recorder.finishRun(state.runId, {
        status: state.status,
        outcome: state.outcome ?? '',
        endedAt: state.endedAt ?? new Date().toISOString(),
        state,
      });
    },
  };
}
