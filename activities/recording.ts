/**
 * Recording activities: the workflow's way of writing the durable record of a run (the
 * store), so a finished run can be reviewed with Temporal gone. All writes are idempotent
 * upserts keyed by run, step, attempt or decision index, because activities retry.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { CheckOutcome, Decision, RunState } from '../runbook/run-state.js';
import { FAILURE_TYPE } from '../runbook/failures.js';
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
      try {
        await recorder.markRunStarted(state.runId, { startedAt: state.startedAt });
      } catch (err) {
        // Retrying cannot help: the run was reserved in another store than this worker's.
        if ((err as Error).name === 'RunNotFoundError') {
          throw ApplicationFailure.create({
            type: FAILURE_TYPE.runNotRecorded,
            nonRetryable: true,
            message:
              `this worker's record store does not know run ${state.runId}: the cutover command that started it and ` +
              'every worker must use the same record store (CUTOVER_DATABASE_URL)',
          });
        }
        throw err;
      }
      await recorder.recordRunState(state.runId, state);
    },
    /** Writes one step history row decided by the workflow (gates, manual steps, timers, skips). */
    async recordStep(row: StepRecord): Promise<void> {
      await recorder.recordStepAttempt(row);
    },
    /** Writes a step's check results that its own activity could not write. */
    async recordChecks(runId: string, stepId: string, attempt: number, checks: CheckOutcome[]): Promise<void> {
      await recorder.recordCheckResults(runId, stepId, attempt, checks);
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
