/**
 * Several machines on one run, through the real `cutover` command: two workers (each its own data folder, standing
 * in for its own machine) share a run with parallel streams on one Temporal and one PostgreSQL, a step pinned to a
 * pool runs only on that pool's worker, a pool nobody serves shows in `status`, and when one worker is killed while
 * it holds a step the other finishes the run once the lead has decided about that step.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { openRecordStore } from '../prisma/store.js';
import type { RunState } from '../run/state.js';
import { cliEnv, eventually, killStartedCli, runCli, startCli, startWorkerCli } from './support/cli.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';
import { temporalAddress, temporalNamespace } from './support/temporal.js';

let postgres: TestPostgres;

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  await postgres?.stop();
});

afterEach(killStartedCli);

it('two workers share a run, a pinned step waits for its pool, and a killed worker is taken over', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-pools-'));
  const name = `pools-${Date.now().toString(36)}`;
  // Two streams of short steps that meet at `hold`, a long one, and part again.
  const chain = (stream: string) =>
    [1, 2, 3, 4]
      .map((i) => {
        const after = i === 1 ? [] : i === 3 ? ['hold'] : [`${stream}${i - 1}`];
        return `      - { id: ${stream}${i}, title: ${stream}${i}, owner: dba, expected: 1s, idempotent: true, depends_on: [${after.join(', ')}], action: { kind: shell, command: "sleep 1" } }`;
      })
      .join('\n');
  writeFileSync(
    path.join(dir, 'runbook.yaml'),
    `name: ${name}
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: move
    kind: migration
    steps:
      - { id: extract, title: Extract on the database host, owner: dba, expected: 1s, runs_on: db-host, action: { kind: shell, command: "echo extracted" } }
${chain('a')}
${chain('b')}
      - { id: hold, title: Hold, owner: dba, expected: 8s, idempotent: true, depends_on: [a2, b2], action: { kind: shell, command: "sleep 8" } }
      - { id: load, title: Load, owner: dba, expected: 1s, depends_on: [extract, a4, b4], action: { kind: shell, command: "echo loaded" } }
      - { id: simulated, title: Simulated in rehearsals, owner: dba, expected: 1s, runs_on: nowhere, rehearsal: simulate, action: { kind: shell, command: "exit 1" } }
`,
  );
  const databaseUrl = await postgres.migratedUrl('cutover');
  const shared = {
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: temporalNamespace(),
    CUTOVER_TASK_QUEUE: `pools-${name}`,
    CUTOVER_DATABASE_URL: databaseUrl,
  };
  // cliEnv gives each its own data folder.
  const machine = (workerName: string) => cliEnv({ ...shared, CUTOVER_WORKER_NAME: workerName });
  const reader = cliEnv(shared);
  const runId = `${name}-1`;
  const store = await openRecordStore({ databaseUrl });
  try {
    const apps = {
      'app-1': await startWorkerCli([], machine('app-1'), dir, 'the first worker'),
      'app-2': await startWorkerCli([], machine('app-2'), dir, 'the second worker'),
    };
    const follower = startCli(['rehearse', 'runbook.yaml', '--as', 'alice'], reader, dir);

    // Nobody serves db-host yet: the lead sees what the pinned step waits for, instead of a silent hang.
    const waiting = await eventually(
      () => runCli(['status', runId], reader, dir),
      (r) => r.stdout.includes('waiting for pool db-host'),
      60_000,
      'status to show the pool nobody serves',
    );
    expect(waiting.stdout).toMatch(/extract .*waiting for pool db-host: no worker polls it; start `cutover worker --pool db-host`/);
    const json = JSON.parse(runCli(['status', runId, '--json'], reader, dir).stdout) as { unservedPools?: string[] };
    expect(json.unservedPools).toEqual(['db-host']);
    // The lead following the run is told too.
    await eventually(
      () => follower.output(),
      (o) => /pool db-host has no worker, so extract waits: start `(npx )?cutover worker --pool db-host` on that machine/.test(o),
      30_000,
      'the follower to say the pool has no worker',
    );

    // The worker that runs `hold` dies in the middle of it.
    const held = (await eventually(
      async () => (await store.findRun(runId))?.steps.find((s) => s.stepId === 'hold' && s.status === 'running'),
      (row) => row !== undefined,
      // Four short steps come first; on a machine loaded past its cores (load 18 on 2) they took more than a minute.
      120_000,
      'hold to start',
    ))!;
    const killed = held.worker as keyof typeof apps;
    const survivor = killed === 'app-1' ? 'app-2' : 'app-1';
    expect(Object.keys(apps)).toContain(killed);
    apps[killed].kill('SIGKILL');
    await apps[killed].exited;
    const pool = await startWorkerCli(['--pool', 'db-host'], machine('db-1'), dir, 'the pool worker');
    expect(pool.output()).toContain('serving pool db-host');

    // Nobody knows how far the killed step got: the lead is asked, and retries it (it is idempotent).
    await eventually(
      () => runCli(['status', runId, '--json'], reader, dir),
      (r) => r.code === 0 && (JSON.parse(r.stdout) as { state: RunState }).state.steps.hold?.resolution?.kind === 'unknown',
      90_000,
      'the killed step to wait for the lead',
    );
    const resolved = runCli(
      ['resolve', runId, 'hold', '--retry', '--as', 'alice', '--reason', `${killed} died; safe to rerun`],
      reader,
      dir,
    );
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(await follower.exited, follower.output()).toBe(0);

    // A third machine sees all of it: who ran what, the pinned step only on its pool.
    const status = runCli(['status', runId, '--json'], reader, dir);
    expect(status.code, status.stderr).toBe(0);
    const { state } = JSON.parse(status.stdout) as { state: RunState };
    expect(state.status).toBe('completed');
    expect(state.steps.extract!.worker).toBe('db-1');
    // A step the rehearsal simulates touches no system: it needs no worker of its pool (nobody serves `nowhere`).
    expect(state.steps.simulated!.status).toBe('simulated');
    const unpinned = Object.values(state.steps).filter((s) => s.id !== 'extract' && s.id !== 'simulated');
    expect(
      unpinned.every((s) => s.status === 'succeeded' && ['app-1', 'app-2'].includes(s.worker ?? '')),
      JSON.stringify(unpinned),
    ).toBe(true);
    expect(state.steps.hold!.worker).toBe(survivor);
    const text = runCli(['status', runId], reader, dir).stdout;
    expect(text).toMatch(/extract .* on db-1/);
    expect(text).toMatch(new RegExp(`hold .* on ${survivor}`));

    // The record store keeps every attempt with the worker that made it.
    const attempts = (await store.findRun(runId))!.steps.filter((s) => s.stepId === 'hold' && s.purpose === 'forward');
    expect(attempts.map((a) => [a.attempt, a.worker, a.status])).toEqual([
      [1, killed, 'failed'],
      [2, survivor, 'succeeded'],
    ]);
    expect(new Set((await store.findRun(runId))!.steps.map((s) => s.worker))).toEqual(new Set(['db-1', 'app-1', 'app-2']));
    const list = runCli(['list', '--json'], reader, dir);
    expect((JSON.parse(list.stdout) as { id: string; status: string }[]).find((r) => r.id === runId)?.status).toBe('completed');
  } finally {
    await store.close();
  }
}, 240_000);
