/**
 * Validation of a runbook's steps: what each does or decides (actions, gates and their deadlines, criteria, required
 * people and approvers), retries, and the actions, checks and back-outs they run. The rest: runbook-validate.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/parse.js';
import { dedent, problemsOf, withPhases } from './support/runbook-text.js';

describe('actions and gates', () => {
  it('needs exactly one of `action` and `gate`', () => {
    const text = withPhases(`
      - id: prep
        kind: preparation
        steps:
          - id: a
            title: A
            owner: dba
            expected: 1m
            action: { kind: manual }
            gate: { approvers: [lead] }
          - id: b
            title: B
            owner: dba
            expected: 1m
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:16:9 phases[0].steps[0].gate: step `a` has both an `action` and a `gate`; a step either does something or asks for a decision, so split it into two steps',
      'runbook.yaml:17:9 phases[0].steps[1]: step `b` has neither an `action` nor a `gate`; add an `action` (kind `manual` for work done by hand) or a `gate`',
    ]);
  });

  it('refuses a gate without approvers', () => {
    const text = withPhases(`
      - id: decide
        kind: go_no_go
        steps:
          - id: go
            title: Go?
            owner: lead
            gate:
              approvers: []
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:15:22 phases[0].steps[0].gate.approvers: a gate needs at least one approver role; add one to `approvers`',
    ]);
  });

  it('refuses an approver role that is undefined or has nobody in it', () => {
    const text = dedent(`
      name: demo
      version: 1
      lead: lead
      roles:
        lead: [ana]
        cab: []
      phases:
        - id: decide
          kind: go_no_go
          steps:
            - id: go
              title: Go?
              owner: lead
              gate:
                approvers: [lead, cab, board]
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:6:3 roles.cab: role `cab` has no people but gate `go` needs it; list who holds it, such as `cab: [alice]`',
      'runbook.yaml:15:34 phases[0].steps[0].gate.approvers[2]: approver role `board` is not defined in `roles`; add it to `roles` with the people who hold it',
    ]);
  });

  it('needs a gate step in a go_no_go phase', () => {
    const text = withPhases(`
      - id: decide
        kind: go_no_go
        steps:
          - id: call
            title: Call
            owner: lead
            expected: 5m
            action: { kind: manual }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:9:11 phases[0].kind: go_no_go phase `decide` has no gate step; add a step with a `gate` so the approvers decide go or no-go',
    ]);
  });

  it('refuses checks, back-out and retry on a gate step', () => {
    const text = withPhases(`
      - id: decide
        kind: go_no_go
        steps:
          - id: go
            title: Go?
            owner: lead
            gate: { approvers: [lead] }
            checks:
              - { name: ping, kind: shell, command: 'true' }
            backout: { kind: manual }
            retry: { attempts: 1 }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:15:9 phases[0].steps[0].checks: gate step `go` cannot have checks, because a gate only records a decision; remove `checks`',
      'runbook.yaml:17:9 phases[0].steps[0].backout: gate step `go` cannot have a back-out, because a gate only records a decision; remove `backout`',
      'runbook.yaml:18:9 phases[0].steps[0].retry: gate step `go` cannot have a retry policy, because a gate only records a decision; remove `retry`',
    ]);
  });

  it('never retries a step that is not idempotent', () => {
    const text = withPhases(`
      - id: load
        kind: migration
        steps:
          - id: load
            title: Load
            owner: dba
            expected: 1h
            retry: { attempts: 3 }
            action: { kind: shell, command: ./load.sh }
          - id: load-again
            title: Load once more
            owner: dba
            expected: 1h
            idempotent: true
            retry: { attempts: 3 }
            action: { kind: shell, command: ./load.sh }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:15:28 phases[0].steps[0].retry.attempts: step `load` retries up to 3 times but is not marked `idempotent: true`; a step that is not idempotent must never be retried blindly, so set `idempotent: true` if running it twice is safe, or remove `retry`',
    ]);
  });

  /** A runbook with connections (lines 1-11); its `phases` start on line 12. */
  const withConnections = (phases: string): string =>
    dedent(`
      name: demo
      version: 1
      lead: lead
      roles:
        lead: [ana]
        dba: [ben, ana]
      connections:
        legacy: { driver: sqlite, path: legacy.db }
        crm: { driver: postgres, url: "postgres://crm:\${env:CRM_PASSWORD}@db/crm" }
        export: { driver: csv, path: export.csv, delimiter: ";" }
      phases:
    `) + dedent(phases).replace(/^/gm, '  ');

  it('accepts reconcile as action and check, with sides naming sqlite, postgres and csv connections', () => {
    const text = withConnections(`
      - id: check
        kind: reconciliation
        steps:
          - id: compare
            title: Compare a sample
            owner: dba
            expected: 10m
            action:
              kind: reconcile
              source: { connection: legacy, table: customers }
              target: { connection: crm, query: "SELECT id, email FROM crm.customers" }
              key: id
              columns: { email: { trim: true, case: lower } }
              sample: { percent: 10, seed: 7 }
              limits: { max_mismatched: 2 }
            checks:
              - name: export matches
                kind: reconcile
                source: { connection: export }
                target: { connection: legacy, table: customers }
                key: [{ column: id, type: integer }]
                repeat: { every: 15m, for: 24h }
    `);
    expect(problemsOf(text)).toEqual([]);
    const parsed = parseRunbook(text, 'runbook.yaml');
    expect(parsed.ok && parsed.runbook.phases[0]!.steps[0]!.action).toMatchObject({ kind: 'reconcile', sample: { percent: 10, seed: 7 } });
  });

  it('refuses a reconcile step whose sides, comparison or schedule cannot work, at the line of each', () => {
    const text = withConnections(`
      - id: check
        kind: reconciliation
        steps:
          - id: compare
            title: Compare a sample
            owner: dba
            expected: 10m
            action:
              kind: reconcile
              source: { connection: legasy, table: customers }
              target: { connection: export, table: customers }
              key: id
              ignore: [id]
            checks:
              - name: still equal
                kind: reconcile
                source: { connection: legacy }
                target: { connection: crm, table: customers, query: "SELECT 1" }
                key: id
                until: { within: 5m }
                repeat: { every: 2h, for: 1h }
              - name: sql on a file
                kind: sql
                connection: export
                query: SELECT 1
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:21:33 phases[0].steps[0].action.source.connection: connection `legasy` is not defined in `connections`; did you mean `legacy`?',
      'runbook.yaml:22:41 phases[0].steps[0].action.target.table: connection `export` is a CSV file, which is read whole; remove `table`',
      'runbook.yaml:24:20 phases[0].steps[0].action.ignore[0]: `id` is a key column, so it cannot be ignored; remove it from `ignore`',
      'runbook.yaml:28:21 phases[0].steps[0].checks[0].source: the source needs `table` or `query`; add one of them',
      'runbook.yaml:29:58 phases[0].steps[0].checks[0].target.query: the target has both `table` and `query`; keep one of them',
      'runbook.yaml:32:13 phases[0].steps[0].checks[0].repeat: a check cannot both `repeat` (compare on a schedule) and ask again `until` it passes; keep one of them',
      'runbook.yaml:32:30 phases[0].steps[0].checks[0].repeat.every: `every: 2h` must be more than nothing and at most `for: 1h`, or the check compares only once',
      'runbook.yaml:35:25 phases[0].steps[0].checks[1].connection: connection `export` is a CSV file, which sql steps cannot query; name a sqlite or postgres connection, or compare the file with a `reconcile` step',
    ]);
  });

  it('refuses a reconcile step with an unknown field, naming the fields it has', () => {
    const text = withConnections(`
      - id: check
        kind: reconciliation
        steps:
          - id: compare
            title: Compare
            owner: dba
            expected: 10m
            action:
              kind: reconcile
              source: { connection: legacy, table: a }
              target: { connection: legacy, table: b }
              key: id
              tolerance: 0.1
    `);
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(/^runbook\.yaml:24:11 phases\[0\]\.steps\[0\]\.action\.tolerance: unknown field `tolerance`/),
    ]);
  });

  it('refuses a gate deadline with none or two of its times, or after a window that has no start', () => {
    const text = withPhases(`
      - id: decide
        kind: go_no_go
        steps:
          - { id: a, title: A, owner: lead, gate: { approvers: [lead], deadline: { decides: go } } }
          - { id: b, title: B, owner: lead, gate: { approvers: [lead], deadline: { after_opening: 1h, at: "2026-12-05T23:00:00Z" } } }
          - { id: c, title: C, owner: lead, gate: { approvers: [lead], deadline: { after_window_start: 2h } } }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:11:78 phases[0].steps[0].gate.deadline: a deadline needs one of `at` (a time), `after_opening` or `after_window_start` (a duration)',
      'runbook.yaml:12:80 phases[0].steps[1].gate.deadline.after_opening: a deadline has one of `at`, `after_opening` and `after_window_start`, not `at` and `after_opening`; keep one',
      'runbook.yaml:13:100 phases[0].steps[2].gate.deadline.after_window_start: a deadline after the window start needs `window.start`; add it, or use `after_opening` or `at`',
    ]);
  });

  it('refuses required approvers who cannot vote on the gate, and a count no one can reach', () => {
    const text = withPhases(`
      - id: decide
        kind: go_no_go
        steps:
          - { id: go, title: Go, owner: lead, gate: { approvers: [lead], require: [{ at_least: 3, of: [ana, ben] }, { all_of: [zoe] }] } }
    `);
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(
        /phases\[0\]\.steps\[0\]\.gate\.require\[0\]\.at_least: at_least 3 of 2 people can never be met; lower it or name more people$/,
      ),
      expect.stringMatching(
        /phases\[0\]\.steps\[0\]\.gate\.require\[0\]\.of\[1\]: ben holds dba, none of the gate's approver roles \(lead\); add one, or take them out of `require`$/,
      ),
      expect.stringMatching(
        /phases\[0\]\.steps\[0\]\.gate\.require\[1\]\.all_of\[0\]: zoe is not named in `roles`; a required approver must hold one of the gate's approver roles \(lead\)$/,
      ),
    ]);
  });

  it('refuses gate criteria naming a phase that does not exist', () => {
    const text = withPhases(`
      - id: decide
        kind: go_no_go
        steps:
          - { id: go, title: Go, owner: lead, gate: { approvers: [lead], criteria: { checks_passed: [decid] } } }
    `);
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(/gate\.criteria\.checks_passed\[0\]: there is no phase `decid`; did you mean `decide`\?$/),
    ]);
  });

  it('refuses sql naming a connection that is not defined', () => {
    const text = dedent(`
      name: demo
      version: 1
      lead: lead
      roles:
        lead: [ana]
      connections:
        crm: { driver: sqlite, path: crm.db }
      phases:
        - id: prep
          kind: preparation
          steps:
            - id: count
              title: Count
              owner: lead
              expected: 1m
              action: { kind: sql, connection: crn, query: select 1 }
              checks:
                - { name: n, kind: sql, connection: erp, query: select 1 }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:16:42 phases[0].steps[0].action.connection: connection `crn` is not defined in `connections`; did you mean `crm`?',
      'runbook.yaml:18:47 phases[0].steps[0].checks[0].connection: connection `erp` is not defined in `connections`; add it under `connections` with its driver and path',
    ]);
  });
});
