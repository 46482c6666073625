/**
 * The run workflow writing to the real record store (SQLite through Prisma), as in
 * production: what a finished run leaves behind for review, and a worker whose store does not
 * know the run failing at once instead of stalling.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { approveGateUpdate } from '../workflows/messages.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

let store: RecordStore;
let h: Harness;
beforeAll(async () => {
  store = await openRecordStore({ databaseUrl: `file:${path.join(mkdtempSync(path.join(tmpdir(), 'cutover-wfs-')), 'cutover.db')}` });
  h = await startHarness({ store });
});
afterAll(async () => {
  await h?.stop();
  await store?.close();
});

const RUNBOOK = (name: string) => `
name: ${name}
version: "7"
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: load
    kind: migration
    steps:
      - id: flaky
        title: Flaky load
        owner: dba
        expected: 2m
        idempotent: true
        retry: { attempts: 3, interval: 100ms, backoff: 1 }
        action: { kind: shell, command: "n=$(cat tries 2>/dev/null || echo 0); echo $((n+1)) > tries; [ $n -ge 1 ]" }
        checks: [{ name: tries recorded, kind: shell, command: "test -f tries" }]
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead] } }
`;

describe('the record a run leaves', () => {
  it('has every attempt with planned and actual times, the checks and the decisions', async () => {
    const { runId } = await store.reserveRun({
      runbookName: 'recorded',
      mode: 'rehearsal',
      runbookVersion: '7',
      versionHash: 'h',
      runbookSource: RUNBOOK('recorded'),
      startedBy: 'alice',
    });
    const handle = await h.start(RUNBOOK('recorded'), { runId });
    await waitForState(handle, (s) => s.steps.go!.gate?.status === 'open');
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice', reason: 'ok' }] });
    expect((await resultOf(handle)).status).toBe('completed');

    const run = await store.getRun(runId);
    expect(run).toMatchObject({ status: 'completed', mode: 'rehearsal', versionHash: 'h' });
    expect(run.startedAt).toBeTruthy();
    expect(run.endedAt).toBeTruthy();
    const flaky = run.steps.filter((s) => s.stepId === 'flaky');
    // The first attempt failed, the second succeeded: both are in the record, in order.
    expect(flaky.map((s) => [s.attempt, s.status])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
    expect(flaky[1]).toMatchObject({ plannedStartMs: 0, plannedDurationMs: 120_000, idempotencyKey: `${runId}/flaky` });
    expect(Date.parse(flaky[1]!.endedAt!)).toBeGreaterThanOrEqual(Date.parse(flaky[1]!.startedAt!));
    expect(run.checks).toEqual([expect.objectContaining({ stepId: 'flaky', attempt: 2, name: 'tries recorded', passed: true })]);
    expect(run.decisions).toEqual([expect.objectContaining({ seq: 0, kind: 'approve', by: 'alice', role: 'lead', reason: 'ok' })]);
    expect(run.steps.find((s) => s.stepId === 'go')).toMatchObject({ status: 'succeeded', plannedStartMs: 120_000 });
    expect(run.state?.status).toBe('completed');
  });

  it('a run its worker cannot record fails at once, saying why', async () => {
    const handle = await h.start(RUNBOOK('unreserved'));
    const failure = await resultOf(handle).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toContain(`this worker's record store does not know run ${handle.workflowId}`);
  });
});
