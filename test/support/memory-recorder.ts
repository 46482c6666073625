/**
 * An in-memory {@link RunRecorder} for workflow tests that are about the engine, not the
 * store (the store has its own tests against a real database, and the CLI tests use both).
 */
import type { RunRecorder } from '../../activities/recording.js';
import type { StepRecord } from '../../activities/types.js';
import type { CheckOutcome, Decision, RunState } from '../../runbook/run-state.js';

export class MemoryRecorder implements RunRecorder {
  readonly attempts: StepRecord[] = [];
  readonly checks: Array<{ runId: string; stepId: string; attempt: number; checks: CheckOutcome[] }> = [];
  readonly decisions = new Map<string, Decision[]>();
  readonly finished = new Map<string, { status: string; outcome: string; state: RunState }>();
  readonly snapshots: RunState[] = [];

  readonly startedAt = new Map<string, string>();
  async markRunStarted(runId: string, fields: { startedAt: string }): Promise<void> {
    this.startedAt.set(runId, fields.startedAt);
  }
  async recordStepAttempt(row: StepRecord): Promise<void> {
    const i = this.attempts.findIndex(
      (r) => r.runId === row.runId && r.stepId === row.stepId && r.purpose === row.purpose && r.attempt === row.attempt,
    );
    if (i >= 0) this.attempts[i] = row;
    else this.attempts.push(row);
  }
  async recordCheckResults(runId: string, stepId: string, attempt: number, checks: CheckOutcome[]): Promise<void> {
    this.checks.push({ runId, stepId, attempt, checks });
  }
  async recordDecision(runId: string, seq: number, decision: Decision): Promise<void> {
    const list = this.decisions.get(runId) ?? [];
    list[seq] = decision;
    this.decisions.set(runId, list);
  }
  async recordRunState(_runId: string, state: RunState): Promise<void> {
    this.snapshots.push(structuredClone(state));
  }
  async finishRun(runId: string, fields: { status: string; outcome: string; endedAt: string; state: RunState }): Promise<void> {
    this.finished.set(runId, fields);
  }

  /** Attempt rows of one run, in the order they were first written. */
  rowsOf(runId: string, purpose: 'forward' | 'backout' = 'forward'): StepRecord[] {
    return this.attempts.filter((r) => r.runId === runId && r.purpose === purpose);
  }
}
