/**
 * Workers that die on the night, through the real `cutover` command against the test run's
 * Temporal server (a cluster, as far as cutover knows): killed between steps, and killed in
 * the middle of an action.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, eventually, killStartedCli, runCli, startCli, startWorkerCli } from './support/cli.js';
import type { StepState } from '../run/state.js';
import { temporalAddress } from './support/temporal.js';

afterEach(killStartedCli);

describe('a worker killed mid-run', () => {
  it('a new worker finishes the run and no completed step runs again', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-crash-'));
    const name = `crash-${Date.now().toString(36)}`;
    const runbook = path.join(dir, 'runbook.yaml');
    writeFileSync(
      runbook,
      `name: ${name}
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: first, title: First, owner: dba, expected: 1s, action: { kind: shell, command: "echo first >> steps.log" } }
      - { id: check-in, title: Check in, owner: dba, expected: 1m, depends_on: [first], action: { kind: manual } }
      - { id: last, title: Last, owner: dba, expected: 1s, depends_on: [check-in], action: { kind: shell, command: "echo last >> steps.log" } }
`,
    );
    const env = cliEnv({ TEMPORAL_ADDRESS: temporalAddress(), CUTOVER_TASK_QUEUE: `crash-${name}` });
    const worker1 = await startWorkerCli([], env, dir, 'the first worker');
    // With a cluster, `rehearse` starts and follows; the workers host the run.
    const follower = startCli(['rehearse', 'runbook.yaml', '--as', 'alice'], env, dir);
    const runId = `${name}-1`;
    await eventually(
      () => follower.output(),
      (o) => o.includes('manual step for dba'),
      60_000,
      'the manual step',
    );

    worker1.kill('SIGKILL');
    await worker1.exited;
    const worker2 = await startWorkerCli([], env, dir, 'the second worker');

    const done = runCli(['done', runId, 'check-in', '--as', 'bob'], env, dir);
    expect(done.code, done.stderr).toBe(0);
    const code = await follower.exited;
    expect(code, follower.output()).toBe(0);
    expect(readFileSync(path.join(dir, 'steps.log'), 'utf8').trim().split('\n')).toEqual(['first', 'last']);
    // The stock `temporal workflow list` can find runs by runbook and mode.
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    try {
      const found = await eventually(
        async () => {
          const ids: string[] = [];
          for await (const w of client.workflow.list({ query: `CutoverRunbook = '${name}' AND CutoverMode = 'rehearsal'` }))
            ids.push(w.workflowId);
          return ids;
        },
        (ids) => ids.length > 0,
        30_000,
        'the run in Temporal visibility',
      );
      expect(found).toEqual([runId]);
      const described = await client.workflow.getHandle(runId).describe();
      expect(described.memo).toMatchObject({ runbook: name, mode: 'rehearsal' });
    } finally {
      await client.connection.close();
    }
    worker2.kill('SIGINT');
    expect(await worker2.exited).toBe(0);
  });

  // Slow on a loaded machine: the comparison is CPU work done twice, and the lost worker is found by its heartbeat timeout.
  it('a worker lost in the middle of a comparison: a reconcile step only reads, so it runs again by itself', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-lostcmp-'));
    const name = `lostcmp-${Date.now().toString(36)}`;
    const db = new Database(path.join(dir, 'crm.db'));
    db.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)');
    db.exec("INSERT INTO accounts VALUES (1, 'ana'), (2, 'ben'), (3, 'chen')");
    db.close();
    // The target's query counts to 40 million first: a comparison that takes a few seconds.
    const slow =
      'SELECT id, owner FROM accounts WHERE (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40000000) SELECT count(*) FROM c) > 0';
    writeFileSync(
      path.join(dir, 'runbook.yaml'),
      `name: ${name}
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
connections:
  crm: { driver: sqlite, path: crm.db }
phases:
  - id: p
    kind: reconciliation
    steps:
      - id: compare
        title: Compare
        owner: dba
        expected: 5s
        action:
          kind: reconcile
          source: { connection: crm, table: accounts }
          target: { connection: crm, query: "${slow}" }
          key: [{ column: id, type: integer }]
`,
    );
    const env = cliEnv({ TEMPORAL_ADDRESS: temporalAddress(), CUTOVER_TASK_QUEUE: `lostcmp-${name}` });
    const worker1 = await startWorkerCli([], env, dir, 'the first worker');
    const follower = startCli(['rehearse', 'runbook.yaml', '--as', 'alice'], env, dir);
    await eventually(
      () => follower.output(),
      (o) => o.includes('p/compare') && o.includes('started'),
      60_000,
      'the comparison to start',
    );
    // The first worker has the comparison in hand (its query takes seconds): killed now, it is lost mid-way.
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    try {
      await eventually(
        async () => (await client.workflow.getHandle(`${name}-1`).describe()).raw.pendingActivities ?? [],
        (pending) => pending.some((a) => !/^record/.test(a.activityType?.name ?? '') && Number(a.state) === 2 /* STARTED */),
        60_000,
        'the first worker to take the comparison',
      );
    } finally {
      await client.connection.close();
    }
    worker1.kill('SIGKILL');
    await worker1.exited;
    await startWorkerCli([], env, dir, 'the second worker');

    // No one is asked: the comparison runs again on the second worker and the run completes.
    const code = await follower.exited;
    expect(code, follower.output()).toBe(0);
    expect(follower.output()).not.toContain('OUTCOME UNKNOWN');
    const status = runCli(['status', `${name}-1`, '--json'], env, dir);
    const { state } = JSON.parse(status.stdout) as { state: { steps: Record<string, StepState> } };
    expect(state.steps.compare).toMatchObject({ status: 'succeeded', attempts: 2, reconcile: { matched: 3, within_limits: true } });
  }, 240_000);

  it('a worker lost in the middle of an action leaves the outcome unknown, and the lead decides', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-lost-'));
    const name = `lost-${Date.now().toString(36)}`;
    writeFileSync(
      path.join(dir, 'runbook.yaml'),
      `name: ${name}
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: load, title: Load, owner: dba, expected: 3s, action: { kind: shell, command: "echo started >> steps.log; sleep 3; echo loaded >> steps.log" } }
      - { id: after, title: After, owner: dba, expected: 1s, depends_on: [load], action: { kind: shell, command: "echo after >> steps.log" } }
`,
    );
    const env = cliEnv({ TEMPORAL_ADDRESS: temporalAddress(), CUTOVER_TASK_QUEUE: `lost-${name}` });
    const worker1 = await startWorkerCli([], env, dir, 'the first worker');
    const follower = startCli(['rehearse', 'runbook.yaml', '--as', 'alice'], env, dir);
    const log = () => (existsSync(path.join(dir, 'steps.log')) ? readFileSync(path.join(dir, 'steps.log'), 'utf8') : '');
    await eventually(log, (text) => text.includes('started'), 60_000, 'the load step to start');
    worker1.kill('SIGKILL');
    await worker1.exited;
    startCli(['worker'], env, dir); // the second worker, killed after the test

    // Nobody knows whether `load` applied: it is not retried blindly, the lead is asked.
    const runId = `${name}-1`;
    await eventually(
      () => follower.output(),
      (o) => o.includes('OUTCOME UNKNOWN'),
      90_000,
      'the unknown outcome',
    );
    expect(follower.output()).toContain(`cutover resolve ${runId} load --retry|--done`);
    const status = runCli(['status', runId, '--json'], env, dir);
    const { state } = JSON.parse(status.stdout) as { state: { steps: Record<string, { resolution?: { kind: string } }> } };
    expect(state.steps.load!.resolution?.kind).toBe('unknown');

    // The command itself outlived the worker (its own process group) and finished.
    expect(log()).toContain('loaded');
    const resolved = runCli(['resolve', runId, 'load', '--done', '--as', 'alice', '--reason', 'checked: it loaded'], env, dir);
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(await follower.exited).toBe(0);
    expect(log().trim().split('\n')).toEqual(['started', 'loaded', 'after']);
  });
});
