import { describe, it, expect } from 'vitest';
import { formatProblem } from '../lib/yaml-document/problems.js';
import { locateRunbookProblems, parseRunbook } from '../runbook/parse.js';
import { closestMatch } from '../lib/closest-match.js';
import { liveRunProblems } from '../runbook/validate.js';

/** Strips the common indentation and the first newline, so line numbers read off the source. */
function dedent(text: string): string {
  const lines = text
    .replace(/^\n/, '')
    .replace(/\n\s*$/, '\n')
    .split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** Lines 1-7 of most runbooks below; their `phases` start on line 8. */
const HEAD = dedent(`
  name: demo
  version: 1
  lead: lead
  roles:
    lead: [ana]
    dba: [ben, ana]
  phases:
`);

const withPhases = (phases: string): string => HEAD + dedent(phases).replace(/^/gm, '  ');

function problemsOf(text: string): string[] {
  const result = parseRunbook(text, 'runbook.yaml');
  return result.ok ? [] : result.problems.map(formatProblem);
}

function warningsOf(text: string): string[] {
  return parseRunbook(text, 'runbook.yaml').warnings.map(formatProblem);
}

describe('ids', () => {
  it('refuses a step id used twice, even in different phases', () => {
    const text = withPhases(`
      - id: prep
        kind: preparation
        steps:
          - id: backup
            title: Back up
            owner: dba
            expected: 10m
            action: { kind: manual }
      - id: load
        kind: migration
        steps:
          - id: backup
            title: Back up again
            owner: dba
            expected: 10m
            action: { kind: manual }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:19:13 phases[1].steps[0].id: duplicate step id `backup`: phase `prep` already has a step with this id; step ids must be unique across the runbook, so rename one',
    ]);
  });

  it('refuses a phase id used twice', () => {
    const text = withPhases(`
      - id: prep
        kind: preparation
        steps:
          - id: backup
            title: Back up
            owner: dba
            expected: 10m
            action: { kind: manual }
      - id: prep
        kind: migration
        steps:
          - id: load
            title: Load
            owner: dba
            expected: 10m
            action: { kind: manual }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:16:9 phases[1].id: duplicate phase id `prep`: an earlier phase already uses it; give each phase its own id',
    ]);
  });
});

describe('dependencies', () => {
  it('names an unknown dependency and suggests the closest step id', () => {
    const text = withPhases(`
      - id: prep
        kind: preparation
        steps:
          - id: backup
            title: Back up
            owner: dba
            expected: 10m
            action: { kind: manual }
          - id: migrate
            title: Migrate
            owner: dba
            expected: 1h
            depends_on: [bakup, restore]
            action: { kind: manual }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:20:22 phases[0].steps[1].depends_on[0]: `depends_on` names unknown step `bakup`; did you mean `backup`?',
      'runbook.yaml:20:29 phases[0].steps[1].depends_on[1]: `depends_on` names unknown step `restore`; use the id of a step in this or an earlier phase',
    ]);
  });

  it('refuses a dependency on a step of a later phase, without also calling it a cycle', () => {
    const text = withPhases(`
      - id: prep
        kind: preparation
        steps:
          - id: backup
            title: Back up
            owner: dba
            expected: 10m
            depends_on: [migrate]
            action: { kind: manual }
      - id: load
        kind: migration
        steps:
          - id: migrate
            title: Migrate
            owner: dba
            expected: 1h
            action: { kind: manual }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:15:22 phases[0].steps[0].depends_on[0]: step `backup` depends on `migrate` of the later phase `load`, but phases run in order; move one of the two steps or drop this dependency',
    ]);
  });

  it('names a dependency cycle once, at the first step of it', () => {
    const text = withPhases(`
      - id: prep
        kind: preparation
        steps:
          - id: a
            title: A
            owner: dba
            expected: 1m
            depends_on: [b]
            action: { kind: manual }
          - id: b
            title: B
            owner: dba
            expected: 1m
            depends_on: [a]
            action: { kind: manual }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:15:22 phases[0].steps[0].depends_on[0]: dependency cycle a -> b -> a: each step waits for the next, so none can start; remove one of these dependencies',
    ]);
  });
});

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

describe('connections', () => {
  it('takes PostgreSQL with a URL, and refuses a URL that is not one or an unknown driver', () => {
    const text = dedent(`
      name: demo
      version: 1
      lead: lead
      roles:
        lead: [ana]
      connections:
        crm: { driver: postgres, url: "postgres://app:\${env:CRM_PASSWORD}@db.internal/crm?sslmode=verify-full", readonly: true }
        erp: { driver: postgres, url: "db.internal:5432/erp" }
      phases:
        - id: prep
          kind: preparation
          steps:
            - id: count
              title: Count
              owner: lead
              expected: 1m
              action: { kind: sql, connection: crm, query: select 1 }
    `);
    const problems = problemsOf(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^runbook\.yaml:8:\d+ connections\.erp\.url: expected a postgres:\/\/ or postgresql:\/\/ URL/);
    // An unknown driver is a problem of the format itself, reported at its line before anything else is checked.
    const mysql = problemsOf(text.replace('driver: postgres, url: "db.internal:5432/erp"', 'driver: mysql, path: erp.db'));
    expect(mysql).toHaveLength(1);
    expect(mysql[0]).toMatch(
      /^runbook\.yaml:8:\d+ connections\.erp\.driver: unknown driver `mysql`; expected one of sqlite, postgres, csv$/,
    );
  });
});

describe('roles', () => {
  it('refuses an owner role that is not defined, suggesting a close one', () => {
    const text = withPhases(`
      - id: prep
        kind: preparation
        steps:
          - id: a
            title: A
            owner: dbas
            expected: 1m
            action: { kind: manual }
          - id: b
            title: B
            owner: finance
            expected: 1m
            action: { kind: manual }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:13:16 phases[0].steps[0].owner: owner role `dbas` is not defined in `roles`; did you mean `dba`?',
      'runbook.yaml:18:16 phases[0].steps[1].owner: owner role `finance` is not defined in `roles`; add it to `roles` with the people who hold it',
    ]);
  });

  it('refuses an owner role with no people at the role, and warns about an unused empty role', () => {
    const text = dedent(`
      name: demo
      version: 1
      lead: lead
      roles:
        lead: [ana]
        dba: []
        spare: []
      phases:
        - id: prep
          kind: preparation
          steps:
            - id: backup
              title: Back up
              owner: dba
              expected: 10m
              action: { kind: manual }
    `);
    const result = parseRunbook(text, 'runbook.yaml');
    expect(result.ok).toBe(false);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:6:3 roles.dba: role `dba` has no people but step `backup` needs it; list who holds it, such as `dba: [alice]`',
    ]);
    expect(warningsOf(text)).toEqual([
      'runbook.yaml:7:3 roles.spare: role `spare` has no people and nothing uses it; list who holds it or remove it',
    ]);
  });

  it('refuses a lead role that is not defined', () => {
    const text =
      HEAD.replace('lead: lead', 'lead: boss') +
      dedent(`
        - id: prep
          kind: preparation
          steps:
            - id: a
              title: A
              owner: dba
              expected: 1m
              action: { kind: manual }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:3:7 lead: lead role `boss` is not defined in `roles`; add it to `roles` with the people who hold it',
    ]);
  });

  it('lets one person hold several roles, and allows a manual back-out', () => {
    const text = withPhases(`
      - id: prep
        kind: preparation
        steps:
          - id: a
            title: A
            owner: dba
            expected: 1m
            action: { kind: shell, command: ./a.sh }
            backout: { kind: manual, instructions: Undo by hand }
    `);
    // `ana` is both lead and dba in HEAD.
    expect(problemsOf(text)).toEqual([]);
    expect(parseRunbook(text, 'runbook.yaml').ok).toBe(true);
  });
});

describe('warnings', () => {
  it('warns about steps without `expected` and a window shorter than the critical path', () => {
    const text = dedent(`
      name: demo
      version: 1
      lead: lead
      roles:
        lead: [ana]
      window:
        length: 1h
      phases:
        - id: prep
          kind: preparation
          steps:
            - id: a
              title: A
              owner: lead
              expected: 45m
              action: { kind: manual }
            - id: b
              title: B
              owner: lead
              depends_on: [a]
              expected: 30m
              action: { kind: manual }
            - id: c
              title: C
              owner: lead
              action: { kind: manual }
        - id: decide
          kind: go_no_go
          steps:
            - id: go
              title: Go?
              owner: lead
              gate: { approvers: [lead] }
    `);
    const result = parseRunbook(text, 'runbook.yaml');
    expect(result.ok).toBe(true);
    expect(result.warnings.map(formatProblem)).toEqual([
      'runbook.yaml:7:11 window.length: the planned critical path takes 1h15m but the window is only 1h00m; run more steps in parallel, shorten them, or ask for a longer window',
      'runbook.yaml:23:9 phases[0].steps[2]: step `c` has no `expected` duration; add one (such as `expected: 10m`) so rehearsals can be compared with the plan and the window',
    ]);
  });

  it('skips the window warning, rather than throwing, when a step depends on a later phase', () => {
    // Found by the fuzzer: the later-phase dependency plus the phase order make a cycle that
    // the plan of the window check could not order.
    const text = dedent(`
      name: demo
      version: 1
      lead: lead
      roles:
        lead: [ana]
      window:
        length: 1h
      phases:
        - id: first
          kind: preparation
          steps:
            - id: a
              title: A
              owner: lead
              expected: 1m
              depends_on: [b]
              action: { kind: manual }
        - id: second
          kind: migration
          steps:
            - id: b
              title: B
              owner: lead
              expected: 1m
              action: { kind: manual }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:16:22 phases[0].steps[0].depends_on[0]: step `a` depends on `b` of the later phase `second`, but phases run in order; move one of the two steps or drop this dependency',
    ]);
  });

  it('does not warn when the plan fits the window', () => {
    const text = dedent(`
      name: demo
      version: 1
      lead: lead
      roles:
        lead: [ana]
      window:
        length: 2h
      phases:
        - id: prep
          kind: preparation
          steps:
            - id: a
              title: A
              owner: lead
              expected: 2h
              action: { kind: manual }
    `);
    expect(warningsOf(text)).toEqual([]);
  });
});

describe('simulated actions', () => {
  const text = withPhases(`
    - id: prep
      kind: preparation
      steps:
        - id: copy
          title: Copy
          owner: dba
          expected: 1m
          action: { kind: simulate, duration: 2s }
          checks:
            - { name: rows, kind: simulate }
          backout: { kind: simulate }
        - id: real
          title: Real
          owner: dba
          expected: 1m
          action: { kind: shell, command: ./real.sh }
  `);

  it('are allowed in a runbook', () => {
    expect(parseRunbook(text, 'runbook.yaml').ok).toBe(true);
  });

  it('are listed by liveRunProblems, so a live run can be refused, with their positions', () => {
    const result = parseRunbook(text, 'runbook.yaml');
    if (!result.ok) throw new Error('expected the runbook to parse');
    const problems = liveRunProblems(result.runbook);
    expect(locateRunbookProblems(text, 'runbook.yaml', problems).map(formatProblem)).toEqual([
      'runbook.yaml:3:7 lead: ana is the lead (lead), who backs out and resolves, and a live run takes only signed requests, but `people` lists no key for ana; they run `cutover keys init`, and the key `cutover keys show` prints goes under `people`',
      'runbook.yaml:15:25 phases[0].steps[0].action.kind: the action of step `copy` is simulated; replace it with a real action before a live run',
      'runbook.yaml:17:33 phases[0].steps[0].checks[0].kind: check `rows` of step `copy` is simulated; replace it with a real action before a live run',
      'runbook.yaml:18:26 phases[0].steps[0].backout.kind: the back-out of step `copy` is simulated; replace it with a real action before a live run',
    ]);
  });
});

describe('live runs and keys', () => {
  it('need a key under people for everyone who may have to answer: the lead, approvers, owners of manual steps', () => {
    const text = dedent(`
      name: keys
      version: 1
      lead: lead
      roles: { lead: [ana], cab: [ben, cy], ops: [dee] }
      people:
        ana: { key: "ed25519:${'A'.repeat(43)}=" }
        ben: { key: "ed25519:${'B'.repeat(43)}=" }
      phases:
        - id: p
          kind: go_no_go
          steps:
            - { id: go, title: Go, owner: lead, gate: { approvers: [cab] } }
            - { id: tell, title: Tell, owner: ops, action: { kind: manual }, expected: 1m }
    `);
    const result = parseRunbook(text, 'runbook.yaml');
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('; '));
    expect(liveRunProblems(result.runbook).map((p) => p.message.split(',')[0])).toEqual([
      'cy is an approver of gate `go`',
      'dee is an owner of manual step `tell`',
    ]);
  });
});

describe('closestMatch', () => {
  it('suggests near misses only', () => {
    expect(closestMatch('depend_on', ['id', 'depends_on', 'owner'])).toBe('depends_on');
    expect(closestMatch('onwer', ['id', 'owner'])).toBe('owner'); // swapped letters count once
    expect(closestMatch('GET', ['get', 'post'])).toBe('get');
    expect(closestMatch('finance', ['lead', 'dba'])).toBeUndefined();
  });

  it('stops comparing once its budget is spent', () => {
    expect(closestMatch('s1x', ['t1', 's1'], { left: 2 })).toBe('s1');
    const budget = { left: 1 };
    expect(closestMatch('s1x', ['t1', 's1'], budget)).toBeUndefined();
    expect(budget.left).toBe(0);
  });

  it('gives hints to the first of thousands of unknown dependencies, then none, without comparing every pair', () => {
    // Found by the fuzzer: 5000 steps depending on unknown ids compared every id with every
    // step (25 million edit distances, 15 s). Now a budget per validation bounds the work.
    const steps = Array.from(
      { length: 2000 },
      (_, i) => `      - { id: s${i}, title: S, owner: lead, expected: 1m, depends_on: [t${i}], action: { kind: manual } }`,
    );
    const text = `${HEAD}    - id: p\n      kind: migration\n      steps:\n${steps.join('\n')}\n`;
    const problems = problemsOf(text);
    expect(problems).toHaveLength(2000);
    expect(problems[0]).toMatch(/names unknown step `t0`; did you mean `s0`\?$/);
    expect(problems[1999]).toMatch(/names unknown step `t1999`; use the id of a step in this or an earlier phase$/);
  });
});

describe('gates people can actually pass, and patterns that compile', () => {
  const base = (roles: string, extra = '') => `
name: g
version: 1
lead: lead
roles: ${roles}
phases:
  - id: p
    kind: go_no_go
    steps:
      - { id: work, title: Work, owner: lead, expected: 1m, action: { kind: http, url: "http://x/y", expect: { body_matches: "${extra || 'ok'}" } } }
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead, business] } }
`;
  it('refuses rule all when one person would have to vote for two roles', async () => {
    const { parseRunbook } = await import('../runbook/parse.js');
    const result = parseRunbook(base('{ lead: [alice], business: [alice] }'), 'g.yaml');
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.problems[0]!.message).toMatch(/gate `go` needs one approval from each of lead, business, but their people overlap/);
    expect(parseRunbook(base('{ lead: [alice], business: [alice, dana] }'), 'g.yaml').ok).toBe(true);
  });

  it('matches thousands of approver roles to people without running out of stack', () => {
    // Role i is held by people i and i+1, and the last role only by person 0: giving it a vote
    // shifts every other role to its second person, one augmenting path through all of them.
    // The recursive search threw RangeError: Maximum call stack size exceeded at 8000 roles.
    const n = 10_000;
    const roles = Array.from({ length: n }, (_, i) => `  r${i}: [p${i}, p${i + 1}]\n`).join('');
    const approvers = Array.from({ length: n + 1 }, (_, i) => `r${i}`).join(', ');
    const text = `name: g\nversion: 1\nlead: r0\nroles:\n${roles}  r${n}: [p0]\nphases:\n  - id: p\n    kind: go_no_go\n    steps:\n      - { id: go, title: Go, owner: r0, gate: { approvers: [${approvers}] } }\n`;
    expect(problemsOf(text)).toEqual([]);
    expect(
      problemsOf(text.replace(`  r${n}: [p0]`, `  r${n}: [p0]\n  r${n + 1}: [p0]`).replace(`r${n}] }`, `r${n}, r${n + 1}] }`)),
    ).toEqual([
      expect.stringMatching(
        /^runbook\.yaml:10011:60 phases\[0\]\.steps\[0\]\.gate\.approvers: gate `go` needs one approval from each of r0, r1, r2, r3, r4 and 9997 more, but their people overlap/,
      ),
    ]);
  });

  it('refuses a body_matches that is not a regular expression', async () => {
    const { parseRunbook } = await import('../runbook/parse.js');
    const result = parseRunbook(base('{ lead: [alice], business: [dana] }', 'ok('), 'g.yaml');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]).toMatchObject({ path: 'phases[0].steps[0].action.expect.body_matches' });
  });
});
