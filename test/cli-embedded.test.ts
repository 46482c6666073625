/**
 * Whole runs through the real `cutover` command on the embedded default (each with its own
 * Temporal dev server): the sample rehearsal, reviewed afterwards with that server gone, and a
 * rehearsal interrupted with Ctrl-C that `cutover worker` carries on.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { StepState } from '../run/state.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { cliEnv, eventually, killStartedCli, PROJECT, runCli, startCli, startWorkerCli } from './support/cli.js';

afterEach(killStartedCli);

describe('the sample rehearsal on the embedded default', () => {
  it('completes unattended, then can be reviewed with Temporal gone', async () => {
    const env = cliEnv({
      CUTOVER_ACTION_ENV: 'SAMPLE_CORRUPT:SAMPLE_CRM_PORT',
      SAMPLE_CRM_PORT: String(40_000 + Math.floor(Math.random() * 20_000)),
    });
    const rehearsal = startCli(['rehearse', 'examples/sample/runbook.yaml', '--auto-approve', '--as', 'alice'], env);
    const code = await rehearsal.exited;
    const output = rehearsal.output();
    expect(output).toMatch(/rehearsal sample-crm-1 of sample-crm v1\.0/);
    expect(code, output).toBe(0);
    expect(output).toMatch(/gate open: Counts and sample match/);
    expect(output).toMatch(/alice \(cutover-lead\) approved go-no-go: auto-approved .*\[automatic\]/);
    expect(output).toMatch(/dana \(business-owner\) approved go-no-go/);
    expect(output).toMatch(/erin \(comms\) marked done announce-freeze/);
    expect(output).toMatch(/migrate\/rebuild-search-index\s+simulated/);
    // The sample goes on into hypercare after go-live; its exit gate is approved once the customers report is fresh.
    expect(output).toMatch(/alice \(cutover-lead\) approved hypercare-exit: auto-approved/);
    expect(output).toMatch(/sample-crm-1 COMPLETED: went live in \S+; hypercare exited after \S+/);

    // The embedded server stopped with the command; the record store still has everything.
    const status = runCli(['status', 'sample-crm-1', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    const { source, state } = JSON.parse(status.stdout) as {
      source: string;
      state: { status: string; steps: Record<string, StepState>; decisions: unknown[] };
    };
    expect(source).toBe('store');
    expect(state.status).toBe('completed');
    const reconciled = state.steps['reconcile-sample']!;
    expect(reconciled.status).toBe('succeeded');
    // Every customer compared field by field, and a fifth of the orders, picked by the seed.
    expect(reconciled.reconcile).toMatchObject({ matched: 200, mismatched: 0, missing_in_target: 0, sampled: false, within_limits: true });
    const orders = reconciled.checks.find((check) => check.kind === 'reconcile')!.reconcile!;
    expect(orders).toMatchObject({ mismatched: 0, sampled: true, within_limits: true });
    expect(orders.matched).toBeGreaterThan(80);
    expect(orders.matched).toBeLessThan(160);
    expect(state.decisions).toHaveLength(5);
    const list = runCli(['list'], env);
    expect(list.stdout).toMatch(/sample-crm-1\s+rehearsal\s+completed/);
    const human = runCli(['status', 'sample-crm-1'], env);
    expect(human.stdout).toMatch(/reconcile-sample\s+business-owner\s+succeeded/);
    expect(human.stdout).toMatch(/KPI customers-report \(business-owner\): fresh/);
  });
});

describe('the back-out drill', () => {
  it('a corrupted migration fails reconciliation and the rehearsal backs out, exit 4', async () => {
    const env = cliEnv({
      CUTOVER_ACTION_ENV: 'SAMPLE_CORRUPT:SAMPLE_CRM_PORT',
      SAMPLE_CORRUPT: '1',
      SAMPLE_CRM_PORT: String(40_000 + Math.floor(Math.random() * 20_000)),
    });
    const result = runCli(['rehearse', 'examples/sample/runbook.yaml', '--auto-approve'], env);
    expect(result.code, result.stdout + result.stderr).toBe(4);
    expect(result.stdout).toMatch(
      /reconcile\/reconcile-sample\s+FAILED\s+199 matched, 1 differ, 0 missing in the target, 0 only in the target; outside limits: 1 row with differing values \(limit 0\)/,
    );
    // The lead sees why, right under the failure: the differing row with both sides' values.
    expect(result.stdout).toMatch(/│ mismatched\s+id=70 {2}country: "FR" -> "XX"/);
    // ...and where all of its differing rows are; the report reads them from the record store.
    const pointer =
      /≈ reconcile\/reconcile-sample\s+compared: 199 matched, 1 differ.*\n\s+the differing rows: (?:npx )?cutover reconcile-report (\S+) reconcile-sample\n/.exec(
        result.stdout,
      );
    expect(pointer, result.stdout).not.toBeNull();
    const report = runCli(['reconcile-report', pointer![1]!, 'reconcile-sample'], env);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('\r\n(action),1,1,mismatched,70,country,FR,XX,\r\n');
    expect(result.stdout).toContain('BACK-OUT (step failed)');
    expect(result.stdout).toMatch(/freeze\/freeze-legacy\s+undone/);
    expect(result.stdout).toMatch(/decide\/go-no-go\s+cancelled/);
    // The legacy CRM is writable again: the freeze was undone for real.
    const legacy = new Database(path.join(PROJECT, 'examples/sample/data/legacy.db'), { readonly: true });
    try {
      expect(legacy.prepare("SELECT value FROM settings WHERE key = 'mode'").pluck().get()).toBe('read-write');
    } finally {
      legacy.close();
    }
    const status = JSON.parse(runCli(['status', 'sample-crm-1', '--json'], env).stdout) as {
      state: { status: string; backout: { status: string; trigger: string } };
    };
    expect(status.state).toMatchObject({ status: 'backed_out', backout: { status: 'completed', trigger: 'step_failed' } });
  });
});

describe('interrupting a rehearsal on the embedded default', () => {
  it('Ctrl-C stops following, the run is kept, and `cutover worker` carries it on', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-int-'));
    writeFileSync(
      path.join(dir, 'runbook.yaml'),
      `name: paused
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: first, title: First, owner: dba, expected: 1s, action: { kind: shell, command: "echo first >> steps.log" } }
      - { id: sign-off, title: Sign off, owner: dba, expected: 1m, depends_on: [first], action: { kind: manual } }
      - { id: last, title: Last, owner: dba, expected: 1s, depends_on: [sign-off], runs_on: db-host, action: { kind: shell, command: "echo last >> steps.log" } }
`,
    );
    // \`last\` is pinned to a pool: on the embedded default every pool is this machine, so the plain worker runs it.
    const env = cliEnv();
    const rehearsal = startCli(['rehearse', 'runbook.yaml'], env, dir);
    await eventually(
      () => rehearsal.output(),
      (o) => o.includes('manual step for dba'),
      60_000,
      'the manual step',
    );
    rehearsal.kill('SIGINT');
    expect(await rehearsal.exited).toBe(130);
    expect(rehearsal.output()).toContain('stopped following paused-1; the run itself is kept');
    expect(rehearsal.output()).not.toMatch(/\n\s+at /);

    // With nothing running, a decision has nowhere to go, and says so.
    const early = runCli(['done', 'paused-1', 'sign-off', '--as', 'bob'], env, dir);
    expect(early.code).toBe(6);
    expect(early.stderr).toContain('the embedded Temporal server is not running');

    const worker = await startWorkerCli([], env, dir, 'the worker');
    const done = runCli(['done', 'paused-1', 'sign-off', '--as', 'bob'], env, dir);
    expect(done.code, done.stderr).toBe(0);
    await eventually(
      () => runCli(['list', '--json'], env, dir).stdout,
      (out) => out.includes('"completed"'),
      60_000,
      'the run to complete',
    );
    expect(readFileSync(path.join(dir, 'steps.log'), 'utf8').trim().split('\n')).toEqual(['first', 'last']);
    worker.kill('SIGINT');
    expect(await worker.exited).toBe(0);
  });

  it('Ctrl-C during a running command leaves it running, and its outcome for the lead to decide', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-int2-'));
    writeFileSync(
      path.join(dir, 'runbook.yaml'),
      `name: long
version: 1
lead: lead
roles: { lead: [alice] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: load, title: Load, owner: lead, expected: 8s, action: { kind: shell, command: "echo started >> steps.log; sleep 8; echo loaded >> steps.log" } }
`,
    );
    const env = cliEnv();
    const rehearsal = startCli(['rehearse', 'runbook.yaml'], env, dir);
    await eventually(
      () => rehearsal.output(),
      (o) => o.includes('p/load') && o.includes('started'),
      60_000,
      'the load step',
    );
    rehearsal.kill('SIGINT');
    expect(await rehearsal.exited).toBe(130);

    const worker = await startWorkerCli([], env, dir, 'the worker');
    const state = await eventually(
      () =>
        JSON.parse(runCli(['status', 'long-1', '--json'], env, dir).stdout || '{}') as {
          state?: { steps: Record<string, { resolution?: { kind: string; error: string } }> };
        },
      (s) => s.state?.steps.load?.resolution !== undefined,
      30_000,
      'the unknown outcome',
    );
    // Not a failure, not backed out: the lead is asked, and the command went on by itself.
    expect(state.state!.steps.load!.resolution).toMatchObject({ kind: 'unknown' });
    expect(state.state!.steps.load!.resolution!.error).toContain('it was left running');
    await eventually(
      () => readFileSync(path.join(dir, 'steps.log'), 'utf8'),
      (t) => t.includes('loaded'),
      15_000,
      'the command to finish',
    );
    const resolved = runCli(['resolve', 'long-1', 'load', '--done', '--as', 'alice', '--reason', 'it loaded'], env, dir);
    expect(resolved.code, resolved.stderr).toBe(0);
    await eventually(
      () => runCli(['list', '--json'], env, dir).stdout,
      (out) => out.includes('"completed"'),
      30_000,
      'the run to complete',
    );
    worker.kill('SIGINT');
    expect(await worker.exited).toBe(0);
  });
});
