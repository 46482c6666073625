/**
 * Whole runs through the real `cutover` command: the sample rehearsal on the embedded default
 * (its own Temporal dev server, reviewed afterwards with that server gone), and a worker
 * process killed mid-run against the shared test server.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, eventually, runCli, startCli } from './support/cli.js';
import { temporalAddress } from './support/temporal.js';

const children: Array<{ kill: (s?: NodeJS.Signals) => boolean; exitCode: number | null }> = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('the sample rehearsal on the embedded default', () => {
  it('completes unattended, then can be reviewed with Temporal gone', async () => {
    const env = cliEnv({ SAMPLE_CRM_PORT: String(40_000 + Math.floor(Math.random() * 20_000)) });
    const rehearsal = startCli(['rehearse', 'examples/sample/runbook.yaml', '--auto-approve', '--as', 'alice'], env);
    children.push(rehearsal);
    const code = await rehearsal.exited;
    const output = rehearsal.output();
    expect(output).toMatch(/rehearsal sample-crm-1 of sample-crm v1\.0/);
    expect(code, output).toBe(0);
    expect(output).toMatch(/gate open: Counts and sample match/);
    expect(output).toMatch(/alice \(cutover-lead\) approved go-no-go: auto-approved .*\[automatic\]/);
    expect(output).toMatch(/dana \(business-owner\) approved go-no-go/);
    expect(output).toMatch(/erin \(comms\) marked done announce-freeze/);
    expect(output).toMatch(/migrate\/rebuild-search-index\s+simulated/);
    expect(output).toMatch(/sample-crm-1 COMPLETED: completed in/);

    // The embedded server stopped with the command; the record store still has everything.
    const status = runCli(['status', 'sample-crm-1', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    const { source, state } = JSON.parse(status.stdout) as { source: string; state: { status: string; steps: Record<string, { status: string }>; decisions: unknown[] } };
    expect(source).toBe('store');
    expect(state.status).toBe('completed');
    expect(state.steps['reconcile-sample']!.status).toBe('succeeded');
    expect(state.decisions).toHaveLength(3);
    const list = runCli(['list'], env);
    expect(list.stdout).toMatch(/sample-crm-1\s+rehearsal\s+completed/);
    const human = runCli(['status', 'sample-crm-1'], env);
    expect(human.stdout).toMatch(/reconcile-sample\s+business-owner\s+succeeded/);
  });
});

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
    const worker1 = startCli(['worker'], env, dir);
    children.push(worker1);
    await eventually(() => worker1.output(), (o) => o.includes('worker on task queue'), 60_000, 'the first worker');
    // With a cluster, `rehearse` starts and follows; the workers host the run.
    const follower = startCli(['rehearse', 'runbook.yaml', '--as', 'alice'], env, dir);
    children.push(follower);
    const runId = `${name}-1`;
    await eventually(() => follower.output(), (o) => o.includes('manual step for dba'), 60_000, 'the manual step');

    worker1.kill('SIGKILL');
    await worker1.exited;
    const worker2 = startCli(['worker'], env, dir);
    children.push(worker2);
    await eventually(() => worker2.output(), (o) => o.includes('worker on task queue'), 60_000, 'the second worker');

    const done = runCli(['done', runId, 'check-in', '--as', 'bob'], env, dir);
    expect(done.code, done.stderr).toBe(0);
    const code = await follower.exited;
    expect(code, follower.output()).toBe(0);
    expect(readFileSync(path.join(dir, 'steps.log'), 'utf8').trim().split('\n')).toEqual(['first', 'last']);
    worker2.kill('SIGINT');
    expect(await worker2.exited).toBe(0);
  });
});
