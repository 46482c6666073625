/**
 * The run workflow writing to the real record store (SQLite through Prisma), as in
 * production: what a finished run leaves behind for review, and a worker whose store does not
 * know the run failing at once instead of stalling.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { hashRunbook } from '../run/version-hash.js';
import { parseRunbook } from '../runbook/parse.js';
import { approveGateUpdate } from '../workflows/messages.js';
import { createPoolWorker } from '../worker/create-worker.js';
import { lockStore } from './support/faults/index.js';
import { temporalAddress } from './support/temporal.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';
import { migratedStore } from './support/store-template.js';

/** The runbook's version hash, as the CLI reserves a run with it. */
function versionOf(source: string): string {
  const parsed = parseRunbook(source, 'runbook.yaml');
  if (!parsed.ok) throw new Error('test runbook invalid');
  return hashRunbook(parsed.runbook);
}

let store: RecordStore;
let h: Harness;
beforeAll(async () => {
  store = await openRecordStore({ databaseUrl: migratedStore('cutover-wfs-') });
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
      versionHash: versionOf(RUNBOOK('recorded')),
      runbookSource: RUNBOOK('recorded'),
      startedBy: 'alice',
    });
    const handle = await h.start(RUNBOOK('recorded'), { runId });
    await waitForState(handle, (s) => s.steps.go!.gate?.status === 'open');
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice', reason: 'ok' }] });
    expect((await resultOf(handle)).status).toBe('completed');

    const run = await store.getRun(runId);
    expect(run).toMatchObject({ status: 'completed', mode: 'rehearsal', versionHash: versionOf(RUNBOOK('recorded')) });
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

describe('a record store that is locked when a step starts', () => {
  it('the step goes on by itself once the store answers, and runs once', async () => {
    const source = `
name: late-start
version: "1"
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: load
    kind: migration
    steps:
      - { id: far, title: Far, owner: dba, expected: 1s, runs_on: later, action: { kind: shell, command: "echo ran >> far.log" } }
`;
    const { runId } = await store.reserveRun({
      runbookName: 'late-start',
      mode: 'rehearsal',
      runbookVersion: '1',
      versionHash: versionOf(source),
      runbookSource: source,
      startedBy: 'alice',
    });
    const handle = await h.start(source, { runId });
    // The step waits for a worker of its pool; the store is locked (a backup, a stuck migration) when one comes.
    await waitForState(handle, (s) => s.steps.far!.status === 'running');
    const lock = await lockStore(`file:${store.databasePath}`, 35_000);
    const native = await NativeConnection.connect({ address: temporalAddress() });
    const pool = await createPoolWorker({ connection: native, namespace: 'default', taskQueue: h.taskQueue, store, pool: 'later' });
    const running = pool.run();
    try {
      // Before, the step gave up recording its start after a few tries and waited for the lead to resolve it.
      const settled = await waitForState(handle, (s) => s.status === 'completed' || s.steps.far!.waitingFor === 'resolution', 120_000);
      expect(settled.steps.far!.resolution?.error).toBeUndefined();
      const result = await resultOf(handle);
      expect(result.status).toBe('completed');
      expect(result.state.steps.far!).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(result.state.decisions).toEqual([]);
      expect(readFileSync(path.join(h.dir, 'far.log'), 'utf8')).toBe('ran\n');
      const run = await store.getRun(runId);
      expect(run.steps.filter((s) => s.stepId === 'far').map((s) => [s.attempt, s.status])).toEqual([[1, 'succeeded']]);
    } finally {
      await lock.exited;
      pool.shutdown();
      await running;
      await native.close();
    }
  }, 180_000);
});
