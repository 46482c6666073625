/**
 * Fault 4: hypercare is weeks long, so its run meets the worker dying and the Temporal server going down. A run in
 * hypercare, hosted by a `cutover worker` on a server of this file's own, has its worker SIGKILLed (another takes
 * over) and its server SIGKILLed and restarted on its database file. The incidents opened before stay, nothing is
 * opened twice (the stale KPI's incident is one, however many workers checked it), the KPI rounds go on after both
 * faults and see the report come back within its SLA, the incidents are resolved through the CLI after, and the exit
 * gate ends the run with a decision log that verifies.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunState } from '../run/state.js';
import {
  cutover,
  eventually,
  killChildren,
  resultOf,
  scene,
  sigkill,
  startCutover,
  startKillableServer,
  startWorker,
  type KillableServer,
  useStoreTemplate,
} from './support/faults/index.js';
import { storeTemplatePath } from './support/store-template.js';

// Every scene starts with a migrated store: no scenario here is about migrating.
useStoreTemplate(storeTemplatePath());

let server: KillableServer;
beforeAll(async () => {
  // Its own server: the one every other test file shares must not die.
  server = await startKillableServer(mkdtempSync(path.join(tmpdir(), 'cutover-killable-temporal-')));
});
afterAll(async () => {
  killChildren();
  await server?.stop();
});

const runbook = (name: string) => `name: ${name}
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
  mttr: { sev1: 1h, sev2: 4h, sev3: 1d }
  kpis:
    - { id: orders, owner: bi, sla: 24h, repeat: 2s, source: { kind: sql, connection: kpi, query: "SELECT max(loaded_at) FROM orders" } }
  owners: { interfaces: { on: ops }, systems: { kpi: bi } }
  exit: { approvers: [lead], mttr_days: 1 }
`;

type Hypercare = NonNullable<RunState['hypercare']>;

it('a run in hypercare survives its worker and its Temporal server being SIGKILLed', async () => {
  const name = `hc-kill-${Date.now().toString(36)}`;
  const runId = `${name}-1`;
  const s = await scene(server.address, name);
  const kpi = new Database(path.join(s.dir, 'kpi.db'));
  try {
    // The report's data is two days old: its first round finds it stale, which is an incident for its owner.
    kpi.exec('CREATE TABLE orders (loaded_at TEXT)');
    kpi.prepare('INSERT INTO orders VALUES (?)').run(new Date(Date.now() - 48 * 3_600_000).toISOString());
    writeFileSync(path.join(s.dir, 'runbook.yaml'), runbook(name));
    let worker = await startWorker(s);
    const follower = startCutover(['rehearse', 'runbook.yaml', '--plain', '--as', 'alice'], s.env, s.dir);
    const cli = (...args: string[]) => cutover(args, s.env, s.dir);
    const hypercare = async (): Promise<Hypercare | undefined> => {
      const status = await cli('status', runId, '--json');
      return status.code === 0 ? (JSON.parse(status.stdout) as { state: RunState }).state.hypercare : undefined;
    };
    const before = await eventually(
      hypercare,
      (h) => h?.incidents.some((i) => i.kpi === 'orders') === true,
      120_000,
      'the run in hypercare, with the stale KPI an incident',
    );
    const opened = await cli('incident', 'open', runId, '--severity', '2', '--title', 'Orders late', '--owner', 'ops', '--as', 'olga');
    expect([opened.code, opened.stdout.trim()], opened.stderr).toEqual([0, 'olga opened INC-2 (sev2, owner ops): Orders late']);

    // The worker dies in the middle of hypercare; another takes over. Then the server dies and comes back.
    await sigkill(worker);
    worker = await startWorker(s);
    await server.kill();
    await server.restart();
    const restartedAt = Date.now();

    // The report is loaded again: a round after both faults sees it within its SLA.
    kpi.prepare('INSERT INTO orders VALUES (?)').run(new Date().toISOString());
    const after = await eventually(
      hypercare,
      (h) => {
        const orders = h?.kpis.find((k) => k.id === 'orders');
        return orders?.fresh === true && Date.parse(orders.checkedAt ?? '') > restartedAt;
      },
      120_000,
      'a KPI round after the restarts that finds the report fresh',
    );
    // What was opened before the faults is there once: nothing lost, nothing opened twice.
    expect(after!.incidents.map((i) => [i.id, i.kpi ?? i.title, i.status])).toEqual([
      ['INC-1', 'orders', 'open'],
      ['INC-2', 'Orders late', 'open'],
    ]);
    expect(after!.incidents[0]!.openedAt).toBe(before!.incidents[0]!.openedAt);

    for (const [incident, who] of [
      ['INC-1', 'ben'],
      ['INC-2', 'olga'],
    ] as const) {
      const resolved = await cli('incident', 'resolve', runId, incident, '--note', 'back to normal', '--as', who);
      expect(resolved.code, resolved.stderr).toBe(0);
    }
    await eventually(hypercare, (h) => h?.exit.status === 'open', 120_000, 'the exit gate to open');
    const approve = await cli('approve', runId, 'hypercare-exit', '--as', 'alice', '--reason', 'steady');
    expect([approve.code, approve.stdout.trim()], approve.stderr).toEqual([
      0,
      `alice approved hypercare-exit: hypercare is over, ${runId} ends`,
    ]);

    const { state } = await resultOf(s, runId);
    expect(state.status).toBe('completed');
    expect(state.hypercare!.incidents.map((i) => [i.id, i.status, i.resolvedBy])).toEqual([
      ['INC-1', 'resolved', 'ben'],
      ['INC-2', 'resolved', 'olga'],
    ]);
    const decisions = await cli('decisions', runId, '--verify');
    expect(decisions.code, decisions.stdout + decisions.stderr).toBe(0);
    await sigkill(follower);
    await sigkill(worker);
  } finally {
    kpi.close();
    await s.close();
  }
}, 600_000);
