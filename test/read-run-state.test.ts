/**
 * readRunState against a run that changes between its summary and its pages (a busy back-out on a loaded
 * machine): what it returns must still agree with itself. Pure unit test: the workflow handle is a stand-in
 * that answers the three queries the way a changing run does.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { expect, it } from 'vitest';
import { readRunState } from '../common/read-run-state.js';
import type { RunSummary, StepPage, StepState } from '../run/state.js';

function step(id: string, extra: Partial<StepState> = {}): StepState {
  return {
    id,
    phaseId: 'p',
    phaseKind: 'forward',
    title: id,
    owner: 'dba',
    kind: 'shell',
    dependsOn: [],
    status: 'succeeded',
    treatment: 'run',
    attempts: 1,
    ...extra,
  } as StepState;
}

/** A run backing out whose undo of `a4` fails between every summary and the pages read after it. */
function changingRun(): { handle: WorkflowHandle; summaries: () => number } {
  let revision = 10;
  let summaries = 0;
  const summary = (): RunSummary => {
    summaries += 1;
    revision += 1;
    return {
      runId: 'r1',
      runbookName: 'b',
      runbookVersion: '1',
      versionHash: 'h',
      mode: 'rehearsal',
      status: 'backing_out',
      startedAt: '2026-12-07T00:00:00Z',
      startedBy: 'lead',
      backout: { status: 'running' },
      decisions: [],
      totalSteps: 2,
      counts: {},
      attention: [],
      revision,
    } as unknown as RunSummary;
  };
  const page = (): StepPage => {
    revision += 1;
    const a4 = step('a4', { backout: { status: 'waiting', error: 'exit 1' } as StepState['backout'] });
    a4.resolution = { scope: 'backout', kind: 'failed', error: 'exit 1', since: '2026-12-07T00:01:00Z' };
    return { offset: 0, total: 2, steps: [step('a3'), a4], revision };
  };
  const handle = {
    query: async (def: { name: string }) => (def.name === 'runSummary' ? summary() : page()),
  } as unknown as WorkflowHandle;
  return { handle, summaries: () => summaries };
}

it('a read that mixes two moments of a changing run shows the run waiting when a step shown waits for a person', async () => {
  const run = changingRun();
  const read = await readRunState(run.handle);
  // It tried again before settling for a mix, and says the mix is stale so the next read starts afresh.
  expect(run.summaries()).toBeGreaterThan(1);
  expect(read.revision).toBe(-1);
  expect(read.state.steps.a4!.backout?.status).toBe('waiting');
  expect(read.state.status).toBe('waiting');
});
