/**
 * `reconcile` steps in a run on a real Temporal server: a migration that does not reconcile backs
 * the run out, and a hypercare comparison that repeats while a change lands on the new system
 * notices the drift and backs out too. The run state carries counts; the rows are in the store.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultOf, startHarness, type Harness } from './support/workflow-harness.js';
import { sqliteFile } from './support/reconcile-data.js';
import { progressNotes } from '../common/step-progress.js';
import { eventually, PROJECT } from './support/cli.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const DDL = 'CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER)';
const ROWS = Array.from({ length: 100 }, (_, i) => [i + 1, `owner ${i + 1}`, i * 100]);

/** Writes a script into the scratch folder that runs `sql` on `file`; a step's command is then `node NAME`. */
function sqlScript(name: string, file: string, sql: string): string {
  const sqlite = JSON.stringify(path.join(PROJECT, 'node_modules', 'better-sqlite3'));
  writeFileSync(
    path.join(h.dir, name),
    `const Database = require(${sqlite});\nconst db = new Database(${JSON.stringify(file)});\ndb.exec(${JSON.stringify(sql)});\ndb.close();\n`,
  );
  return `node ${name}`;
}

const HEAD = (name: string, dbs: string) => `
name: ${name}
version: 1
lead: lead
roles:
  lead: [alice]
  dba: [bob]
connections:
  old: { driver: sqlite, path: ${dbs}-old.db }
  new: { driver: sqlite, path: ${dbs}-new.db }
`;

describe('reconcile steps in a run', () => {
  it('a migration outside the limits fails its reconcile step and the run backs out', async () => {
    sqliteFile(h.dir, 'm-old.db', DDL, ROWS);
    sqliteFile(h.dir, 'm-new.db', DDL, []);
    const handle = await h.start(`${HEAD('migrate-and-check', 'm')}
phases:
  - id: migrate
    kind: migration
    steps:
      - id: copy
        title: Copy accounts, losing one
        owner: dba
        expected: 1s
        action: { kind: shell, command: ${sqlScript('copy.cjs', 'm-new.db', "ATTACH 'm-old.db' AS o; INSERT INTO accounts SELECT * FROM o.accounts WHERE id <> 42")} }
        backout: { kind: shell, command: "echo undone > undone.txt" }
  - id: check
    kind: reconciliation
    steps:
      - id: compare
        title: Every account arrived
        owner: dba
        expected: 1s
        depends_on: [copy]
        action:
          kind: reconcile
          source: { connection: old, table: accounts }
          target: { connection: new, table: accounts }
          key: [{ column: id, type: integer }]
`);
    const result = await resultOf(handle);
    expect(result.status).toBe('backed_out');
    expect(result.state.backout.reason).toBe(
      'step compare failed: 99 matched, 0 differ, 1 missing in the target, 0 only in the target; outside limits: 1 key missing in the target (limit 0)',
    );
    const compare = result.state.steps.compare!;
    expect(compare.reconcile).toMatchObject({ matched: 99, missing_in_target: 1, within_limits: false });
    expect(compare.outputTail).toContain('missing in target  id=42');
    expect(result.state.steps.copy!.backout?.status).toBe('succeeded');
    const [recorded] = await h.store.reconcileResults(handle.workflowId, { stepId: 'compare' });
    expect(recorded).toMatchObject({ check: '', round: 1, attempt: 1 });
    expect(recorded!.result.examples[0]).toMatchObject({ kind: 'missing_in_target', key: { id: 42 } });
  });

  it('a hypercare comparison repeats while both systems run, and a drift beyond the limits backs out', async () => {
    sqliteFile(h.dir, 'h-old.db', DDL, ROWS);
    sqliteFile(h.dir, 'h-new.db', DDL, ROWS);
    const handle = await h.start(`${HEAD('hypercare', 'h')}
phases:
  - id: hypercare
    kind: hypercare
    steps:
      - id: watch
        title: Old and new agree while both run
        owner: dba
        expected: 1m
        action: { kind: shell, command: "true" }
        checks:
          - name: accounts agree
            kind: reconcile
            source: { connection: old, table: accounts }
            target: { connection: new, table: accounts }
            key: [{ column: id, type: integer }]
            columns: { balance: { tolerance: { abs: 5 } } }
            repeat: { every: 1s, for: 1m }
      - id: late-change
        title: A change reaches only the new system
        owner: dba
        expected: 3s
        action: { kind: shell, command: "until [ -e agreed-twice ]; do sleep 0.1; done; ${sqlScript('change.cjs', 'h-new.db', 'UPDATE accounts SET balance = balance + 50 WHERE id <= 3')}" }
`);
    // The change lands once two rounds agreed, however long they took (not after a fixed sleep: on a loaded machine a
    // round can take longer than its second).
    const recorded = () => h.store.reconcileResults(handle.workflowId, { stepId: 'watch', check: 'accounts agree' });
    await eventually(recorded, (rows) => rows.length >= 2, 60_000, 'two rounds of the comparison');
    writeFileSync(path.join(h.dir, 'agreed-twice'), '');
    const result = await resultOf(handle);
    expect(result.status).toBe('backed_out');
    const check = result.state.steps.watch!.checks[0]!;
    expect(check.passed).toBe(false);
    const round = check.reconcile!.round!;
    expect(round).toBeGreaterThanOrEqual(3);
    expect(check.reconcile).toMatchObject({ mismatched: 3, drift: 3, within_limits: false });
    expect(result.state.backout.reason).toContain(`round ${round} of the comparison every 1s for 1m:`);
    expect(result.state.backout.reason).toContain('drift +3 since round');
    // Every round is in the store: the ones that agreed, then the one that did not.
    const rounds = await recorded();
    expect(rounds.map((r) => r.round)).toEqual(Array.from({ length: round }, (_, i) => i + 1));
    expect(rounds.map((r) => r.result.within_limits)).toEqual([...Array<boolean>(round - 1).fill(true), false]);
  });

  it('a long comparison reports its rows read in its heartbeats, which status shows', async () => {
    sqliteFile(h.dir, 'p-old.db', DDL, ROWS);
    // The target's query counts to 65 million first (several seconds): the source is read, the target not yet.
    const slow =
      'SELECT * FROM accounts WHERE (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 65000000) SELECT count(*) FROM c) > 0';
    const handle = await h.start(`${HEAD('progress', 'p')}
phases:
  - id: check
    kind: reconciliation
    steps:
      - id: slow
        title: A comparison that takes a while
        owner: dba
        expected: 10s
        action:
          kind: reconcile
          source: { connection: old, table: accounts }
          target: { connection: old, query: "${slow}" }
          key: [{ column: id, type: integer }]
`);
    const seen = await eventually(
      () => progressNotes(h.client, handle),
      (progress) => progress.slow !== undefined,
      20_000,
      'the comparison to report progress',
    );
    expect(seen.slow).toBe('comparison comparing: 100 source and 0 target rows read');
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(result.state.steps.slow!.reconcile).toMatchObject({ matched: 100, within_limits: true });
    // Once it is done, nothing is in progress.
    expect(await progressNotes(h.client, handle)).toEqual({});
  }, 60_000);
});
