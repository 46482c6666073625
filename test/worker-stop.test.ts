/**
 * A worker stopped gracefully (Ctrl-C, maintenance) in the middle of the night, against a real
 * Temporal server: while a shell command, an HTTP call, a SQL statement or a simulated action
 * runs, and while a step's checks are asked. With `backout: automatic`, none of that may back
 * the cutover out when the next worker starts: an action's outcome is unknown and waits for the
 * lead; checks are read-only questions, so they are simply asked again.
 *
 * One choreography for every case (the stop costs the worker's 5 s grace time once, not six
 * times): six runs start on worker 1, each is caught in the middle, worker 1 stops, worker 2
 * starts; each `it` then looks at its own run.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunState } from '../run/state.js';
import { createWorker, installQuietRuntime } from '../worker/create-worker.js';
import { readRunState } from '../common/read-run-state.js';
import { resultOf, startHarness, waitForState, workflowBundle, type Harness } from './support/workflow-harness.js';
import { temporalAddress } from './support/temporal.js';

let h: Harness;
let server: http.Server;
let httpCalls = 0;
const runs: Record<string, WorkflowHandle> = {};
/** Each run's state once worker 2 has dealt with the interruption. */
const after: Record<string, RunState> = {};

/** A worker on the harness's task queue that knows when it is being stopped, as `cutover worker` does. */
async function startWorker(): Promise<{ stop(): Promise<void> }> {
  let stopping = false;
  installQuietRuntime();
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue: h.taskQueue,
    store: h.store,
    workerStopping: () => stopping,
    workflows: { workflowBundle: await workflowBundle() },
  });
  const running = worker.run();
  return {
    async stop() {
      stopping = true;
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

const file = (name: string) => path.join(h.dir, name);
const lines = (name: string) => (existsSync(file(name)) ? readFileSync(file(name), 'utf8').trim().split('\n') : []);

/** A runbook of one step that is undone by writing `undone-<id>.log`: a back-out leaves a trace. */
function runbook(id: string, step: string): string {
  return `
name: stop-${id}
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
backout: { policy: automatic }
connections:
  slow: { driver: sqlite, path: slow.db }
phases:
  - id: p
    kind: migration
    steps:
      - id: ${id}
        title: ${id}
        owner: dba
        expected: 10s
        backout: { kind: shell, command: "echo undone >> undone-${id}.log" }
${step
  .trim()
  .split('\n')
  .map((line) => `        ${line}`)
  .join('\n')}
`;
}

/** Asked twice: slow the first time (when the worker stops), at once the second. */
const slowFirstCheck = (id: string) =>
  `{ name: ${id} answers, kind: shell, command: "if [ -f ${id}-asked ]; then echo again >> ${id}-checks.log; else touch ${id}-asked; echo first >> ${id}-checks.log; sleep 60; fi", expect: { exit_code: 0 } }`;

const ACTION_CASES = ['shell', 'http', 'sql', 'simulate'] as const;

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
  server = http.createServer((_req, res) => {
    httpCalls += 1;
    const timer = setTimeout(() => res.writeHead(200).end('switched on'), 120_000);
    res.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  new Database(file('slow.db')).close();

  const worker1 = await startWorker();
  const start = async (id: string, step: string) => {
    runs[id] = await h.start(runbook(id, step));
  };
  await start('shell', `action: { kind: shell, command: "echo started >> shell.log; sleep 20; echo finished >> shell.log" }`);
  await start('http', `action: { kind: http, method: POST, url: "${base}/sync/on" }`);
  await start(
    'sql',
    `action: { kind: sql, connection: slow, query: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) SELECT COUNT(*) FROM c" }`,
  );
  await start('simulate', `action: { kind: simulate, duration: 10m }`);
  await start('checks', `action: { kind: shell, command: "echo ran >> checks-action.log" }\nchecks:\n  - ${slowFirstCheck('checks')}`);
  await start('wait-checks', `action: { kind: wait, duration: 1s }\nchecks:\n  - ${slowFirstCheck('wait-checks')}`);

  // Catch every run in the middle of its action or its checks. A case that never gets there
  // (an action that blocks the worker, or ends at once) fails in its own test below.
  const states = async () =>
    Object.fromEntries(await Promise.all(ACTION_CASES.map(async (id) => [id, (await readRunState(runs[id]!)).state] as const)));
  const caught = async () => {
    const now = await states();
    return (
      ACTION_CASES.every((id) => now[id]!.steps[id]!.status === 'running') &&
      lines('shell.log').includes('started') &&
      httpCalls > 0 &&
      h.store.attempts.some((r) => r.stepId === 'sql' && r.status === 'running') &&
      lines('checks-checks.log').includes('first') &&
      lines('wait-checks-checks.log').includes('first')
    );
  };
  const deadline = Date.now() + 60_000;
  while (!(await caught()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  // Let the SQL statement get going (about 20 s of work here).
  await new Promise((r) => setTimeout(r, 500));

  await worker1.stop();
  const worker2 = await startWorker();
  try {
    for (const id of ACTION_CASES) {
      after[id] = await waitForState(
        runs[id]!,
        (s) => s.steps[id]!.resolution !== undefined || s.backout.status !== 'not_requested' || s.endedAt !== undefined,
        60_000,
      ).catch(async () => (await readRunState(runs[id]!)).state);
    }
    for (const id of ['checks', 'wait-checks']) {
      after[id] = await resultOf(runs[id]!)
        .then((r) => r.state)
        .catch(async () => (await readRunState(runs[id]!)).state);
    }
  } finally {
    await Promise.all(ACTION_CASES.map((id) => runs[id]!.terminate('test over').catch(() => undefined)));
    await worker2.stop();
  }
}, 240_000);

afterAll(async () => {
  // The SQL statement was left running on purpose; it has no business outliving the test.
  for (const row of h?.store.attempts ?? []) {
    const pid = /\(pid (\d+)\)/.exec(row.error ?? '')?.[1];
    if (row.stepId === 'sql' && pid) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  server?.closeAllConnections();
  server?.close();
  await h?.stop();
});

describe('a worker stopped gracefully while an action runs: the outcome is unknown, never a back-out', () => {
  it.each(ACTION_CASES)('%s', (id) => {
    const state = after[id]!;
    expect(state.backout.status).toBe('not_requested');
    expect(lines(`undone-${id}.log`)).toEqual([]);
    const step = state.steps[id]!;
    expect(step.status).toBe('waiting');
    expect(step.waitingFor).toBe('resolution');
    expect(step.resolution).toMatchObject({ kind: 'unknown', scope: 'forward' });
    expect(step.resolution!.error).toMatch(/the worker stopped/);
    // The record says so too, for the review after the night.
    const row = h.store.rowsOf(runs[id]!.workflowId).find((r) => r.stepId === id)!;
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/^outcome unknown: the worker stopped/);
  });
});

describe('a worker stopped gracefully while checks are asked: they are asked again, and the step passes', () => {
  it('checks after an action: the action ran once, its checks twice, one attempt recorded as succeeded', () => {
    const state = after.checks!;
    expect(state.status).toBe('completed');
    expect(state.backout.status).toBe('not_requested');
    expect(state.steps.checks).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(lines('checks-action.log')).toEqual(['ran']);
    expect(lines('checks-checks.log')).toEqual(['first', 'again']);
    const rows = h.store.rowsOf(runs.checks!.workflowId);
    expect(rows).toEqual([expect.objectContaining({ stepId: 'checks', attempt: 1, status: 'succeeded', exitCode: 0 })]);
    expect(h.store.checks.filter((c) => c.runId === runs.checks!.workflowId)).toEqual([
      expect.objectContaining({ attempt: 1, checks: [expect.objectContaining({ name: 'checks answers', passed: true })] }),
    ]);
  });

  it('checks after a wait: asked again, and the step passes', () => {
    const state = after['wait-checks']!;
    expect(state.status).toBe('completed');
    expect(state.backout.status).toBe('not_requested');
    expect(state.steps['wait-checks']!.status).toBe('succeeded');
    expect(lines('wait-checks-checks.log')).toEqual(['first', 'again']);
    expect(lines('undone-wait-checks.log')).toEqual([]);
  });
});
