import { describe, it, expect } from 'vitest';
import { formatPath, formatProblem, parseRunbook } from '../runbook/parse.js';

/** Strips the common indentation and the first newline, so line numbers read off the source. */
function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').replace(/\n\s*$/, '\n').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

function problemsOf(text: string): string[] {
  const result = parseRunbook(text, 'runbook.yaml');
  return result.ok ? [] : result.problems.map(formatProblem);
}

/** A valid runbook; the tests below break one thing in it at a time. Steps start on line 11. */
const GOOD = dedent(`
  name: crm-cutover
  version: 3
  lead: lead
  roles:
    lead: [ana]
    dba: [ben]
  phases:
    - id: prep
      kind: preparation
      steps:
        - id: backup
          title: Back up
          owner: dba
          expected: 10m
          retry: { attempts: 2 }
          idempotent: true
          action: { kind: http, url: 'http://localhost/health' }
          checks:
            - { name: ok, kind: shell, command: 'true' }
    - id: decide
      kind: go_no_go
      steps:
        - id: go
          title: Go?
          owner: lead
          depends_on: [backup]
          gate: { approvers: [lead, dba] }
`);

describe('parseRunbook on a good runbook', () => {
  it('returns the runbook with defaults applied', () => {
    const result = parseRunbook(GOOD, 'runbook.yaml');
    expect(result).toEqual({
      ok: true,
      warnings: [],
      runbook: {
        name: 'crm-cutover',
        version: '3',
        lead: 'lead',
        roles: { lead: ['ana'], dba: ['ben'] },
        backout: { policy: 'automatic' },
        connections: {},
        phases: [
          {
            id: 'prep',
            kind: 'preparation',
            steps: [
              {
                id: 'backup',
                title: 'Back up',
                owner: 'dba',
                depends_on: [],
                expected: '10m',
                retry: { attempts: 2, interval: '5s', backoff: 2 },
                idempotent: true,
                rehearsal: 'run',
                action: { kind: 'http', url: 'http://localhost/health', method: 'GET' },
                checks: [{ name: 'ok', kind: 'shell', command: 'true' }],
              },
            ],
          },
          {
            id: 'decide',
            kind: 'go_no_go',
            steps: [
              {
                id: 'go',
                title: 'Go?',
                owner: 'lead',
                depends_on: ['backup'],
                gate: { approvers: ['lead', 'dba'], rule: 'all' },
                checks: [],
                idempotent: false,
                rehearsal: 'run',
              },
            ],
          },
        ],
      },
    });
  });
});

describe('YAML problems', () => {
  it('locates a syntax error', () => {
    const text = GOOD.replace('owner: dba', 'owner: dba: ops');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:13:16: invalid YAML: nested mappings are not allowed in compact mappings',
    ]);
  });

  it('reports every syntax error, not just the first', () => {
    const text = GOOD.replace('owner: dba', 'owner: dba: ops').replace('owner: lead', '\towner: lead');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:13:16: invalid YAML: nested mappings are not allowed in compact mappings',
      'runbook.yaml:25:9: invalid YAML: tabs cannot indent; indent with spaces',
    ]);
  });

  it('refuses a duplicate key, pointing at the second one', () => {
    const text = GOOD.replace('        expected: 10m\n', '        expected: 10m\n        expected: 20m\n');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:15:9 phases[0].steps[0].expected: duplicate key `expected`: it already appears in this mapping; keep one of them',
    ]);
  });

  it('supports anchors, aliases and merge keys', () => {
    const text = dedent(`
      name: demo
      version: 1
      lead: lead
      roles:
        lead: [ana]
      phases:
        - id: prep
          kind: preparation
          steps:
            - id: a
              title: A
              <<: &defaults { owner: lead, expected: 5m }
              action: &manual { kind: manual }
            - <<: *defaults
              id: b
              title: B
              backout: *manual
              action: { kind: wait, duration: 1m }
    `);
    const result = parseRunbook(text, 'runbook.yaml');
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    const [a, b] = result.runbook.phases[0]!.steps;
    expect([a?.owner, a?.expected, b?.owner, b?.expected]).toEqual(['lead', '5m', 'lead', '5m']);
    expect(b?.backout).toEqual({ kind: 'manual' });
  });

  it('points at an alias whose anchor is not defined', () => {
    const text = GOOD.replace("action: { kind: http, url: 'http://localhost/health' }", 'action: *http');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:17:17: unknown alias `*http`; define the anchor `&http` before this alias',
    ]);
  });

  it('explains an empty file and a file that is not a mapping', () => {
    const expected = 'a runbook must be a YAML mapping with `name`, `version`, `lead`, `roles` and `phases`';
    expect(problemsOf('')).toEqual([`runbook.yaml:1:1: ${expected}; this file is empty`]);
    expect(problemsOf('- a\n- b\n')).toEqual([`runbook.yaml:1:1: ${expected}; this file holds a list`]);
  });
});

describe('schema problems', () => {
  it('points at an unknown field and suggests the field that was meant', () => {
    const text = GOOD.replace('depends_on: [backup]', 'depend_on: [backup]');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:26:9 phases[1].steps[0].depend_on: unknown field `depend_on`; did you mean `depends_on`?',
    ]);
  });

  it('lists the known fields when nothing is close', () => {
    const text = GOOD.replace('  kind: go_no_go\n', '  kind: go_no_go\n    colour: red\n');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:22:5 phases[1].colour: unknown field `colour`; remove it or use one of id, kind, title, steps',
    ]);
  });

  it('reports a misspelt required field once, as the misspelling', () => {
    const text = GOOD.replace('owner: dba', 'ownr: dba');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:13:9 phases[0].steps[0].ownr: unknown field `ownr`; did you mean `owner`?',
    ]);
  });

  it('points at the parent mapping for a missing required field', () => {
    const text = GOOD.replace('        owner: dba\n', '');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:11:9 phases[0].steps[0].owner: missing required field `owner`; add it to this step',
    ]);
  });

  it('names the expected type of a wrong value and how to fix it', () => {
    const text = GOOD.replace('title: Back up', 'title: 42')
      .replace('attempts: 2', 'attempts: 1.5')
      .replace('depends_on: [backup]', 'depends_on: backup')
      .replace('version: 3', 'version: [3]');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:2:10 version: `version` must be a string or a number, not a list',
      'runbook.yaml:12:16 phases[0].steps[0].title: `title` must be a string, not the number `42`; put it in quotes to make it a string',
      'runbook.yaml:15:28 phases[0].steps[0].retry.attempts: `attempts` must be a whole number, not `1.5`',
      'runbook.yaml:26:21 phases[1].steps[0].depends_on: `depends_on` must be a list, not the string `backup`; write it as a list, such as `[backup]`',
    ]);
  });

  it('points at an empty value by its key', () => {
    const text = GOOD.replace('owner: lead', 'owner:');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:25:9 phases[1].steps[0].owner: `owner` has no value; write a string after `owner:`',
    ]);
  });

  it('names an unknown action kind and lists the known ones', () => {
    const text = GOOD.replace('kind: http', 'kind: shel');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:17:25 phases[0].steps[0].action.kind: unknown action kind `shel`; expected one of shell, http, sql, manual, wait, simulate, reconcile',
    ]);
  });

  it('explains why manual is not a check', () => {
    const text = GOOD.replace("{ name: ok, kind: shell, command: 'true' }", '{ name: ok, kind: manual }');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:19:31 phases[0].steps[0].checks[0].kind: unknown check kind `manual`; expected one of shell, http, sql, simulate, reconcile, because a check must run unattended',
    ]);
  });

  it('asks for the kind of an action that has none', () => {
    const text = GOOD.replace("{ kind: http, url: 'http://localhost/health' }", "{ url: 'http://localhost/health' }");
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:17:17 phases[0].steps[0].action.kind: missing required field `kind`; add it to this action with one of shell, http, sql, manual, wait, simulate, reconcile',
    ]);
  });

  it('suggests the allowed value closest to a wrong one', () => {
    const text = GOOD.replace("url: 'http://localhost/health'", "url: 'http://localhost/health', method: get").replace(
      'kind: preparation',
      'kind: prepare',
    );
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:9:11 phases[0].kind: unknown phase kind `prepare`; expected one of preparation, data_freeze, migration, reconciliation, interface_switch_on, go_no_go, hypercare',
      'runbook.yaml:17:71 phases[0].steps[0].action.method: invalid `method` value `get`; expected one of GET, HEAD, POST, PUT, PATCH, DELETE; did you mean `GET`?',
    ]);
  });

  it('explains a malformed duration and id', () => {
    const text = GOOD.replace('expected: 10m', 'expected: 10 minutes').replace('  dba: [ben]', '  DBA: [ben]');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:6:3 roles.DBA: invalid role name `DBA`: expected lower-case letters, digits, - and _ (starting with a letter or digit)',
      'runbook.yaml:14:19 phases[0].steps[0].expected: invalid `expected` value `10 minutes`: expected a duration such as 90s, 15m, 1h30m or 2d',
    ]);
  });

  it('explains an empty list item', () => {
    const text = GOOD.replace("          - { name: ok, kind: shell, command: 'true' }\n", '          -\n');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:19:12 phases[0].steps[0].checks[0]: list item `checks[0]` is empty; write a mapping there',
    ]);
  });

  it('reports every missing top-level field at the top of the file', () => {
    expect(problemsOf('name: demo\n')).toEqual([
      'runbook.yaml:1:1 version: missing required field `version`; add it to the runbook',
      'runbook.yaml:1:1 lead: missing required field `lead`; add it to the runbook',
      'runbook.yaml:1:1 roles: missing required field `roles`; add it to the runbook',
      'runbook.yaml:1:1 phases: missing required field `phases`; add it to the runbook',
    ]);
  });

  it('reports all problems of a file at once, sorted by position', () => {
    const text = GOOD.replace('kind: go_no_go', 'kind: go-no-go')
      .replace('owner: dba', 'owner: 7')
      .replace('lead: lead\n', 'lead: lead\ncolour: blue\n');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:4:1 colour: unknown field `colour`; remove it or use one of name, version, description, lead, roles, window, backout, connections, phases',
      'runbook.yaml:14:16 phases[0].steps[0].owner: `owner` must be a string, not the number `7`; put it in quotes to make it a string',
      'runbook.yaml:22:11 phases[1].kind: unknown phase kind `go-no-go`; expected one of preparation, data_freeze, migration, reconciliation, interface_switch_on, go_no_go, hypercare; did you mean `go_no_go`?',
    ]);
  });
});

describe('formatting', () => {
  it('renders paths the way people write them', () => {
    expect(formatPath(['phases', 1, 'steps', 0, 'owner'])).toBe('phases[1].steps[0].owner');
    expect(formatPath(['roles', 'dba-team'])).toBe('roles.dba-team');
    expect(formatPath(['roles', 'ops team'])).toBe('roles["ops team"]');
    expect(formatPath([])).toBe('');
  });

  it('renders a problem as file:line:column path: message', () => {
    expect(
      formatProblem({ file: 'runbook.yaml', line: 12, column: 7, path: 'phases[0].steps[1].owner', message: 'x' }),
    ).toBe('runbook.yaml:12:7 phases[0].steps[1].owner: x');
    expect(formatProblem({ file: 'a.yaml', line: 1, column: 1, path: '', message: 'y' })).toBe('a.yaml:1:1: y');
  });
});
