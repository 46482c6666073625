/**
 * Hypercare through the real `cutover` command, a real `cutover worker` and the test run's Temporal server: a
 * rehearsal that went live stays in hypercare; incidents are opened, listed and resolved from the terminal (bad input
 * one sentence and a non-zero exit, nothing half written), `status` shows them, and the exit gate's approval ends the
 * run, whose decision log verifies.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { cliEnv, eventually, killStartedCli, runCli, startCli, startWorkerCli } from './support/cli.js';
import { temporalAddress } from './support/temporal.js';

afterEach(killStartedCli);

it('incidents from the terminal, status, bad input, and the exit gate that ends the run', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-hc-'));
  const db = new Database(path.join(dir, 'kpi.db'));
  db.exec('CREATE TABLE orders (loaded_at TEXT)');
  db.prepare('INSERT INTO orders VALUES (?)').run(new Date().toISOString());
  db.close();
  const name = `hc-${Date.now().toString(36)}`;
  const runId = `${name}-1`;
  writeFileSync(
    path.join(dir, 'runbook.yaml'),
    `name: ${name}
version: 1
lead: lead
roles: { lead: [alice], ops: [olga], bi: [ben] }
connections:
  kpi: { driver: sqlite, path: kpi.db }
phases:
  - id: switch
    kind: interface_switch_on
    steps:
      - { id: on, title: Switch on, owner: ops, expected: 1s, action: { kind: shell, command: "echo on" } }
hypercare:
  mttr: { sev1: 1h, sev2: 4h }
  kpis:
    - { id: orders, owner: bi, sla: 24h, repeat: 2s, source: { kind: sql, connection: kpi, query: "SELECT max(loaded_at) FROM orders" } }
  owners: { interfaces: { on: ops }, systems: { kpi: bi } }
  exit: { approvers: [lead], mttr_days: 1 }
`,
  );
  const env = cliEnv({
    TEMPORAL_ADDRESS: temporalAddress(),
    CUTOVER_TASK_QUEUE: `hc-${name}`,
    CUTOVER_KEYS_DIR: path.join(dir, 'no-keys'),
  });
  await startWorkerCli([], env, dir);
  const rehearse = startCli(['rehearse', 'runbook.yaml', '--plain', '--as', 'alice'], env, dir);
  const cli = (...args: string[]) => runCli(args, env, dir);
  await eventually(
    () => cli('status', runId, '--json'),
    (r) => r.code === 0 && /"exit":\{"status":"open"/.test(r.stdout.replace(/\s/g, '')),
    90_000,
    'the run to be in hypercare with its exit gate open',
  );

  // Bad input: one sentence each, a non-zero exit, no stack trace.
  const badSeverity = cli('incident', 'open', runId, '--severity', '5', '--title', 'x', '--owner', 'ops', '--as', 'olga');
  expect([badSeverity.code, badSeverity.stderr.trim()]).toEqual([2, 'cutover: --severity wants 1, 2, 3 or 4 (1 is the worst), not "5"']);
  const unknown = cli('incident', 'resolve', runId, 'INC-9', '--as', 'olga');
  expect([unknown.code, unknown.stderr.trim()]).toEqual([
    7,
    'cutover: refused: there is no incident INC-9 in this run; `cutover incident list RUN` shows them',
  ]);

  const opened = cli(
    'incident',
    'open',
    runId,
    '--severity',
    '2',
    '--title',
    'Orders late',
    '--owner',
    'ops',
    '--external',
    'JIRA-7',
    '--as',
    'olga',
  );
  expect([opened.code, opened.stdout.trim()]).toEqual([0, 'olga opened INC-1 (sev2, owner ops): Orders late']);
  const updated = cli('incident', 'update', runId, 'INC-1', '--note', 'queue draining', '--as', 'olga');
  expect(updated.code).toBe(0);
  const list = cli('incident', 'list', runId);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/open incidents: 1 \(ops 1\), oldest first:/);
  expect(list.stdout).toMatch(/INC-1\s+sev2\s+ops\s+\S+\s+within\s+Orders late \(ext JIRA-7\)/);
  expect(list.stdout).toMatch(/exit gate hypercare-exit: shut — sev2 incident INC-1 is open \(Orders late\)/);
  const json = JSON.parse(cli('incident', 'list', runId, '--json').stdout) as { incidents: { id: string; notes: { text: string }[] }[] };
  expect(json.incidents.map((i) => [i.id, i.notes.map((n) => n.text)])).toEqual([['INC-1', ['queue draining']]]);

  const resolved = cli('incident', 'resolve', runId, 'INC-1', '--note', 'drained', '--as', 'olga');
  expect(resolved.code).toBe(0);
  expect(resolved.stdout).toMatch(/^olga resolved INC-1 \(sev2, owner ops\) after \S+: Orders late\n$/);
  const again = cli('incident', 'resolve', runId, 'INC-1', '--as', 'alice');
  expect(again.code).toBe(7);
  expect(again.stderr).toMatch(/^cutover: refused: incident INC-1 was already resolved at \S+ by olga\n$/);

  const status = await eventually(
    () => cli('status', runId),
    (r) => r.stdout.includes('exit gate hypercare-exit: open'),
    60_000,
    'the exit gate to open again',
  );
  expect(status.stdout).toMatch(/hypercare open \(since /);
  expect(status.stdout).toMatch(/MTTR: sev1 — \(target 1h00m\), 0 resolved; sev2 \S+ \(target 4h00m\), 1 resolved/);
  expect(status.stdout).toMatch(/KPI orders \(bi\): fresh/);

  const approve = cli('approve', runId, 'hypercare-exit', '--as', 'alice', '--reason', 'steady');
  expect([approve.code, approve.stdout.trim()]).toEqual([0, `alice approved hypercare-exit: hypercare is over, ${runId} ends`]);
  const code = await Promise.race([rehearse.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 60_000))]);
  expect(code, rehearse.output()).toBe(0);
  expect(rehearse.output()).toContain(`${runId} COMPLETED`);
  const decisions = cli('decisions', runId, '--verify');
  expect(decisions.code, decisions.stdout + decisions.stderr).toBe(0);
  expect(decisions.stdout).toMatch(/olga .*incident INC-1 \(open\)/);
  const report = cli('report', runId, '--hypercare');
  expect(report.code, report.stderr).toBe(0);
  expect(report.stdout).toMatch(/^\| sev2 \| 1 \| 0 \| \S+ \| 4h00m \| within target \| 0 \|$/m);
  expect(report.stdout).toMatch(/^\| INC-1 \| 2 \| ops \| Orders late \(JIRA-7\) \| \S+ \| olga \| \S+ by olga \| \S+ \| {2}\|$/m);
  expect(report.stdout).toMatch(/^\| orders \| bi \| \d+ \| 0 \| \S+ \| \S+ \| fresh \|$/m);
  expect(report.stdout).toMatch(/^- \S+ alice \(lead\) approved: steady$/m);
}, 300_000);

it('rehearse --auto-approve goes through hypercare: the exit gate is approved once its criteria hold', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-hc-auto-'));
  const name = `hc-auto-${Date.now().toString(36)}`;
  writeFileSync(
    path.join(dir, 'runbook.yaml'),
    `name: ${name}
version: 1
lead: lead
roles: { lead: [alice], bi: [ben] }
phases:
  - id: switch
    kind: interface_switch_on
    steps:
      - { id: on, title: Switch on, owner: lead, expected: 1s, action: { kind: shell, command: "echo on" } }
hypercare:
  owners: { interfaces: { on: lead } }
  exit: { approvers: [lead, bi] }
`,
  );
  const env = cliEnv({
    TEMPORAL_ADDRESS: temporalAddress(),
    CUTOVER_TASK_QUEUE: `hc-${name}`,
    CUTOVER_KEYS_DIR: path.join(dir, 'no-keys'),
  });
  await startWorkerCli([], env, dir);
  const rehearse = startCli(['rehearse', 'runbook.yaml', '--plain', '--auto-approve', '--as', 'alice'], env, dir);
  const code = await Promise.race([rehearse.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 120_000))]);
  expect(code, rehearse.output()).toBe(0);
  expect(rehearse.output()).toMatch(/COMPLETED/);
  const status = runCli(['status', `${name}-1`], env, dir);
  expect(status.stdout).toMatch(/alice \(lead\) approve hypercare-exit: "auto-approved \(--auto-approve\)" \[automatic\]/);
  expect(status.stdout).toMatch(/ben \(bi\) approve hypercare-exit: "auto-approved \(--auto-approve\)" \[automatic\]/);
  expect(status.stdout).toMatch(/outcome: went live in \S+; hypercare exited after \S+/);
}, 200_000);
