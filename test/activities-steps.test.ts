/**
 * The step activities with real side effects and a fake store: one attempt recorded before and after, a worker that
 * stops while an action or its checks run, and a record store that does not answer (the actions: activities.test.ts).
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { beforeAll, describe, expect, it } from 'vitest';
import { performAction } from '../activities/actions.js';
import { ChecksInterruptedError, runChecks } from '../activities/checks.js';
import { createCheckActivities, createStepActivities } from '../activities/steps.js';
import type { ActionSummary } from '../activities/types.js';
import { FAILURE_TYPE } from '../run/failures.js';
import { MemoryStore } from './support/memory-store.js';

import { dir, inActivity, stepRequest, stoppingAfter, useTestServer } from './support/activity-fixtures.js';

const serverBase = useTestServer();
let base: string;
beforeAll(() => {
  base = serverBase();
});

describe('runStep', () => {
  const request = stepRequest;

  it('records the attempt before and after, with check results', async () => {
    const store = new MemoryStore();
    const { runStep } = createStepActivities({ store });
    writeFileSync(path.join(dir, 'marker'), '');
    const outcome = await runStep(
      request({ checks: [{ name: 'marker exists', kind: 'shell', command: 'test -f marker', expect: { exit_code: 0 } }] }),
    );
    expect(outcome).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(store.attempts).toHaveLength(1);
    expect(store.attempts[0]).toMatchObject({ status: 'succeeded', attempt: 1, exitCode: 0 });
    expect(store.attempts[0]!.endedAt).toBeTruthy();
    expect(store.checks[0]!.checks[0]).toMatchObject({ name: 'marker exists', passed: true });
  });

  it('returns a failed check as a failure of the step, without throwing', async () => {
    const store = new MemoryStore();
    const { runStep } = createStepActivities({ store });
    const outcome = await runStep(request({ checks: [{ name: 'never', kind: 'shell', command: 'exit 1', expect: { exit_code: 0 } }] }));
    expect(outcome).toMatchObject({ status: 'failed', failedAt: 'check' });
    expect(outcome.error).toBe('check "never" failed: exit code 1, expected 0');
    expect(store.attempts[0]).toMatchObject({ status: 'failed' });
  });

  it('throws a retryable failure while attempts remain, and returns the failure on the last', async () => {
    const store = new MemoryStore();
    const { runStep } = createStepActivities({ store });
    await expect(runStep(request({ action: { kind: 'shell', command: 'exit 2' }, maxAttempts: 2 }))).rejects.toThrow('exit code 2');
    const last = await runStep(request({ action: { kind: 'shell', command: 'exit 2' }, maxAttempts: 1 }));
    expect(last).toMatchObject({ status: 'failed', failedAt: 'action', exitCode: 2 });
  });

  it('hands the record back to the workflow when the store fails after the action ran', async () => {
    const store = new MemoryStore();
    let writes = 0;
    store.recordStepAttempt = async () => {
      writes += 1;
      if (writes > 1) throw new Error('database is locked');
    };
    const { runStep } = createStepActivities({ store });
    const outcome = await runStep(request({ action: { kind: 'shell', command: 'echo ran >> ran.log' } }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.unrecorded).toMatchObject({ status: 'succeeded', stepId: 's' });
  });
});

describe('a worker that stops while an action or its checks run', () => {
  it('an HTTP call waiting for its answer is interrupted, not failed', async () => {
    const result = await performAction({ kind: 'http', method: 'POST', url: `${base}/very-slow` }, stoppingAfter(200));
    expect(result).toMatchObject({ ok: false, interrupted: true });
    expect(result.detail).toBe(
      `the worker stopped while waiting for POST ${base}/very-slow to answer; the request may or may not have been applied`,
    );
  });

  it('an HTTP call cancelled for another reason still fails as before', async () => {
    const result = await performAction({ kind: 'http', method: 'GET', url: `${base}/very-slow` }, stoppingAfter(200, false));
    expect(result.interrupted).toBeUndefined();
    expect(result).toMatchObject({ ok: false, detail: `GET ${base}/very-slow failed: This operation was aborted` });
  });

  it('a simulated action is interrupted; cancelled otherwise', async () => {
    expect(await performAction({ kind: 'simulate', duration: '30s', outcome: 'success' }, stoppingAfter(100))).toEqual({
      ok: false,
      interrupted: true,
      detail: 'the worker stopped during the simulated 30s',
    });
    expect(await performAction({ kind: 'simulate', duration: '30s', outcome: 'success' }, stoppingAfter(100, false))).toEqual({
      ok: false,
      detail: 'cancelled',
    });
  });

  it('a statement is left running to finish, and said to be', async () => {
    const result = await performAction(
      {
        kind: 'sql',
        connection: 'db',
        query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT COUNT(*) FROM c',
      },
      stoppingAfter(100),
    );
    expect(result).toMatchObject({ ok: false, interrupted: true });
    expect(result.detail).toMatch(/^the worker stopped while the query on db ran \(pid \d+\); it was left running$/);
  });

  it('checks stop asking and report the interruption instead of a failed check', async () => {
    const asked = path.join(dir, 'asked.log');
    const checks = runChecks(
      [
        { name: 'service answers', kind: 'http', method: 'GET', url: `${base}/very-slow` },
        { name: 'never reached', kind: 'shell', command: `echo asked >> ${asked}`, expect: { exit_code: 0 } },
      ],
      stoppingAfter(200),
    );
    await expect(checks).rejects.toThrow(ChecksInterruptedError);
    await expect(checks).rejects.toThrow('the worker stopped while check "service answers" was being asked');
    expect(existsSync(asked)).toBe(false);
  });

  it('a check asked again and again stops asking', async () => {
    const started = Date.now();
    const checks = runChecks(
      [{ name: 'comes up', kind: 'http', method: 'GET', url: `${base}/down`, until: { within: '1m', every: '200ms' } }],
      stoppingAfter(500),
    );
    await expect(checks).rejects.toThrow(ChecksInterruptedError);
    // Well short of the minute it would have asked for, with room for a busy machine.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('runStep: the action interrupted is "worker stopped", its record says outcome unknown', async () => {
    const store = new MemoryStore();
    const { runStep } = createStepActivities({ store, workerStopping: () => true });
    const failure = await inActivity(200, () =>
      runStep(stepRequest({ action: { kind: 'http', method: 'PUT', url: `${base}/very-slow` } })),
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: FAILURE_TYPE.workerStopped, nonRetryable: true });
    expect(store.attempts[0]).toMatchObject({ status: 'failed' });
    expect(store.attempts[0]!.error).toMatch(/^outcome unknown: the worker stopped while waiting for PUT /);
  });

  it("runStep: checks interrupted after the action hand the action's outcome back, and checkStep finishes the attempt", async () => {
    const store = new MemoryStore();
    const deps = { store, workerStopping: () => true };
    const { runStep } = createStepActivities(deps);
    const request = stepRequest({
      action: { kind: 'shell', command: 'echo migrated 42 rows' },
      checks: [{ name: 'service answers', kind: 'http', method: 'GET', url: `${base}/very-slow` }],
    });
    const failure = await inActivity(300, () => runStep(request)).catch((e: unknown) => e);
    expect(failure).toMatchObject({ type: FAILURE_TYPE.checksInterrupted, nonRetryable: true });
    const done = (failure as ApplicationFailure).details![0] as ActionSummary;
    expect(done).toMatchObject({ attempt: 1, exitCode: 0, outputTail: 'migrated 42 rows\n' });
    expect(Date.parse(done.endedAt)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
    // Nothing about the cut-short checks was recorded as an answer.
    expect(store.checks).toEqual([]);
    expect(store.attempts[0]).toMatchObject({ status: 'running' });

    // Asked again (on the next worker), the checks pass and finish the same attempt.
    const { checkStep } = createCheckActivities({ store });
    const again = await checkStep(
      { ...request, checks: [{ name: 'service answers', kind: 'http', method: 'GET', url: `${base}/ok` }] },
      done,
    );
    expect(again.outcome).toMatchObject({
      status: 'succeeded',
      attempt: 1,
      startedAt: done.startedAt,
      exitCode: 0,
      outputTail: 'migrated 42 rows\n',
    });
    expect(store.attempts).toHaveLength(1);
    expect(store.attempts[0]).toMatchObject({ status: 'succeeded', attempt: 1, startedAt: done.startedAt, exitCode: 0 });
    expect(store.checks).toEqual([
      { runId: 'r-1', stepId: 's', attempt: 1, checks: [expect.objectContaining({ name: 'service answers', passed: true })] },
    ]);
  });

  it('checkStep interrupted by a worker stop throws "worker stopped", not a failed check', async () => {
    const store = new MemoryStore();
    const { checkStep } = createCheckActivities({ store, workerStopping: () => true });
    const failure = await inActivity(200, () =>
      checkStep(
        stepRequest({
          checks: [
            {
              name: 'slow question',
              kind: 'sql',
              connection: 'db',
              query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c',
            },
          ],
        }),
      ),
    ).catch((e: unknown) => e);
    expect(failure).toMatchObject({
      type: FAILURE_TYPE.workerStopped,
      nonRetryable: true,
      message: 'the worker stopped while check "slow question" was being asked',
    });
    expect(store.checks).toEqual([]);
  });
});

describe('checkStep and a record store that does not answer', () => {
  it('returns the checks, marked unrecorded, instead of failing the step', async () => {
    const store = new MemoryStore();
    let tries = 0;
    store.recordCheckResults = async () => {
      tries += 1;
      throw new Error('database is locked');
    };
    const { checkStep } = createCheckActivities({ store });
    const answer = await checkStep(
      stepRequest({ checks: [{ name: 'count', kind: 'sql', connection: 'db', query: 'SELECT COUNT(*) FROM t', expect: { value: 3 } }] }),
    );
    expect(answer).toEqual({
      checks: [expect.objectContaining({ name: 'count', passed: true, detail: 'value 3' })],
      unrecordedChecks: true,
    });
    expect(tries).toBe(4);
  });

  it('says nothing about recording when the store took them', async () => {
    const store = new MemoryStore();
    const { checkStep } = createCheckActivities({ store });
    const answer = await checkStep(
      stepRequest({ checks: [{ name: 'count', kind: 'sql', connection: 'db', query: 'SELECT COUNT(*) FROM t', expect: { value: 3 } }] }),
    );
    expect(answer).toEqual({ checks: [expect.objectContaining({ name: 'count', passed: true })] });
    expect(store.checks).toHaveLength(1);
  });
});
