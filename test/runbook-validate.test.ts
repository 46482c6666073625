import { describe, it, expect } from 'vitest';
import { formatProblem } from '../lib/yaml-document/problems.js';
import { locateRunbookProblems, parseRunbook } from '../runbook/parse.js';
import { closestMatch } from '../lib/closest-match.js';
import { liveRunProblems } from '../runbook/validate.js';
import { dedent, HEAD, problemsOf, warningsOf, withPhases } from './support/runbook-text.js';

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
