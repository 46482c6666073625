import { describe, it, expect } from 'vitest';
import { formatPath, formatProblem } from '../lib/yaml-document/problems.js';
import { YAML_LIMITS } from '../lib/yaml-document/source.js';
import { parseRunbook } from '../runbook/parse.js';

/** Strips the common indentation and the first newline, so line numbers read off the source. */
function dedent(text: string): string {
  const lines = text
    .replace(/^\n/, '')
    .replace(/\n\s*$/, '\n')
    .split('\n');
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
        people: {},
        signatures: 'optional',
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
                gate: { approvers: ['lead', 'dba'], rule: 'all', self_approval: true },
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
    expect(problemsOf(text)).toEqual(['runbook.yaml:13:16: invalid YAML: nested mappings are not allowed in compact mappings']);
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
      'runbook.yaml:17:17 phases[0].steps[0].action: unknown alias `*http`; define the anchor `&http` before this alias',
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
    expect(problemsOf(text)).toEqual(['runbook.yaml:13:9 phases[0].steps[0].ownr: unknown field `ownr`; did you mean `owner`?']);
  });

  it('points at the parent mapping for a missing required field', () => {
    const text = GOOD.replace('        owner: dba\n', '');
    expect(problemsOf(text)).toEqual(['runbook.yaml:11:9 phases[0].steps[0].owner: missing required field `owner`; add it to this step']);
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
    expect(problemsOf(text)).toEqual(['runbook.yaml:25:9 phases[1].steps[0].owner: `owner` has no value; write a string after `owner:`']);
  });

  it('names an unknown action kind and lists the known ones', () => {
    const text = GOOD.replace('kind: http', 'kind: shel');
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:17:25 phases[0].steps[0].action.kind: unknown action kind `shel`; expected one of shell, http, sql, manual, wait, simulate, reconcile, notify',
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
      'runbook.yaml:17:17 phases[0].steps[0].action.kind: missing required field `kind`; add it to this action with one of shell, http, sql, manual, wait, simulate, reconcile, notify',
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
      'runbook.yaml:4:1 colour: unknown field `colour`; remove it or use one of name, version, description, lead, roles, window, change_window, freeze_windows, backout, hypercare, evidence, connections, people, signatures, phases, notifications, deputies, rota',
      'runbook.yaml:14:16 phases[0].steps[0].owner: `owner` must be a string, not the number `7`; put it in quotes to make it a string',
      'runbook.yaml:22:11 phases[1].kind: unknown phase kind `go-no-go`; expected one of preparation, data_freeze, migration, reconciliation, interface_switch_on, go_no_go, hypercare; did you mean `go_no_go`?',
    ]);
  });
});

/** The people and roles of a runbook, for the files below; `phases` comes next. */
const HEAD = 'name: demo\nversion: 1\nlead: lead\nroles:\n  lead: [ana]\n';

// Each case here was found by bench/lib/fuzz-runbooks.mjs (or is the limit that fixed one).
describe('broken, hostile and huge files', () => {
  it('points inside the file after a syntax error that hides a line break from the YAML parser', () => {
    // yaml's LineCounter missed the line break before `d:` and said 2:5, past the end of `na`.
    expect(problemsOf('-\nna\nd:')).toEqual([
      'runbook.yaml:2:1: invalid YAML: unexpected scalar at node end',
      'runbook.yaml:3:2: invalid YAML: unexpected map-value-ind token in YAML stream: ":"',
    ]);
  });

  it('does not count a byte-order mark as a column', () => {
    expect(problemsOf('\uFEFFname: demo\nversion: 1\nlead: lead\nroles: {}\nphases: []\n')).toEqual([
      'runbook.yaml:5:9 phases: a runbook needs at least one phase; add one to `phases`',
    ]);
    expect(problemsOf('\uFEFFname: Demo\n')).toContain(
      'runbook.yaml:1:7 name: invalid `name` value `Demo`: expected lower-case letters, digits, - and _ (starting with a letter or digit)',
    );
  });

  it('refuses deep nesting with its limit, where it starts, instead of running out of stack', () => {
    const text = `name: demo\nnotes: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    expect(problemsOf(text)).toEqual([
      `runbook.yaml:2:107: lists and mappings are nested more than ${YAML_LIMITS.depth} levels deep here (the limit); a runbook needs fewer than ten, so look for unclosed brackets or runaway indentation`,
    ]);
    const block = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}-`).join('\n');
    expect(problemsOf(block)).toEqual([
      expect.stringMatching(/^runbook\.yaml:101:101: lists and mappings are nested more than 100 levels/),
    ]);
  });

  it('answers unclosed brackets nested under the depth limit', () => {
    // Each `[{` made a mapping whose key is the rest; writing those keys out for the paths
    // doubled at each level until it threw RangeError: Invalid string length.
    const problems = problemsOf(`name: demo\nnotes: ${'[{'.repeat(45)}\n`);
    expect(problems[0]).toBe('runbook.yaml:3:1: invalid YAML: flow map in block collection must be sufficiently indented and end with a }');
    expect(problems).toHaveLength(90);
  });

  it('refuses an alias bomb at the alias that passes the limit', () => {
    const level = (name: string, item: string): string => `${name}: &${name} [${Array(10).fill(item).join(', ')}]\n`;
    const text = `${HEAD}${level('a', 'lol')}${level('b', '*a')}${level('c', '*b')}${level('d', '*c')}${level('e', '*d')}${level('f', '*e')}`;
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:10:36 e[7]: the aliases in this file repeat more than 100,000 values (the limit), which a runbook never needs; an alias of an alias multiplies what it repeats, so write the repeated part out or repeat fewer times',
    ]);
  });

  it('accepts many steps sharing their settings through one anchor', () => {
    // yaml's default alias count refused this as "a resource exhaustion attack" past 100 uses.
    const steps = Array.from({ length: 150 }, (_, i) => `      - { <<: *defaults, id: s${i + 1}, title: Step ${i + 1} }\n`).join('');
    const text = `${HEAD}phases:\n  - id: p\n    kind: migration\n    steps:\n      - { <<: &defaults { owner: lead, expected: 1m, action: { kind: manual } }, id: s0, title: Step 0 }\n${steps}`;
    const result = parseRunbook(text, 'runbook.yaml');
    expect(result.ok ? result.runbook.phases[0]!.steps.length : result.problems.map(formatProblem)).toBe(151);
  });

  it('refuses an alias inside the node it repeats', () => {
    expect(problemsOf('name: &a [*a]\n')).toEqual([
      'runbook.yaml:1:11 name[0]: alias `*a` is inside the node its anchor `&a` names, so that node would contain itself; repeat something else or write it out',
    ]);
    expect(problemsOf('x: &a { <<: *a }\n')).toEqual([
      'runbook.yaml:1:13 x["<<"]: alias `*a` is inside the node its anchor `&a` names, so that node would contain itself; repeat something else or write it out',
    ]);
  });

  it('refuses a merge of something that is not a mapping, at its value', () => {
    // yaml threw 'Merge sources must be maps or map aliases' while building the value.
    expect(problemsOf(`${HEAD}x: &one 1\nphases:\n  - { <<: *one, id: p }\n  - { <<: [{ id: q }, 2] }\n  - { <<: }\n`)).toEqual([
      'runbook.yaml:8:11 phases[0]["<<"]: `<<` merges mappings into this one, so its value must be a mapping, an alias of one (such as `<<: *defaults`) or a list of them',
      'runbook.yaml:9:11 phases[1]["<<"]: `<<` merges mappings into this one, so its value must be a mapping, an alias of one (such as `<<: *defaults`) or a list of them',
      'runbook.yaml:10:7 phases[2]["<<"]: `<<` merges mappings into this one, so its value must be a mapping, an alias of one (such as `<<: *defaults`) or a list of them',
    ]);
  });

  it('finds a duplicate among 100,000 keys without comparing every pair', { timeout: 20_000 }, () => {
    // yaml's own check compared each key with every earlier one: over three minutes for this file
    // (found by fuzz-runbooks, huge inputs). Duplicates are now found in one pass.
    const keys = Array.from({ length: 100_000 }, (_, i) => `k${i}: ${i}\n`).join('');
    expect(problemsOf(`${keys}k7: again\n`)).toEqual([
      'runbook.yaml:100001:1 k7: duplicate key `k7`: it already appears in this mapping; keep one of them',
    ]);
  });

  it('refuses a list, a mapping or a tagged value as a key, at the key', () => {
    // yaml stringified the key with a process warning on stderr.
    const message = 'a key must be plain text, not a list, a mapping or a tagged value such as !!binary; write the key as a word';
    expect(problemsOf('name: demo\n[a, b]: 1\n')).toEqual([`runbook.yaml:2:1: ${message}`]);
    expect(problemsOf('name: demo\n!!binary aGk=: 1\n? !!timestamp 2001-12-14\n: 2\n')).toEqual([
      `runbook.yaml:2:10: ${message}`,
      `runbook.yaml:3:15: ${message}`,
    ]);
  });

  it('refuses a file over the size limit before reading it as YAML', () => {
    const text = `name: demo\nnotes: "${'x'.repeat(6 * 1024 * 1024)}"\n`;
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:1:1: this file is 6 MB; the limit for a runbook is 5 MB, so split the cutover into several runbooks or move data out of this file',
    ]);
  });

  it('names a list or a mapping where a kind belongs, rather than `[object Object]`', () => {
    const step = '      - { id: a, title: A, owner: lead, expected: 1m, action: { kind: { shell: 1 } } }\n';
    expect(problemsOf(`${HEAD}phases:\n  - id: p\n    kind: [preparation]\n    steps:\n${step}`)).toEqual([
      'runbook.yaml:8:11 phases[0].kind: unknown phase kind a list; expected one of preparation, data_freeze, migration, reconciliation, interface_switch_on, go_no_go, hypercare',
      'runbook.yaml:10:71 phases[0].steps[0].action.kind: unknown action kind a mapping; expected one of shell, http, sql, manual, wait, simulate, reconcile, notify',
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
    expect(formatProblem({ file: 'runbook.yaml', line: 12, column: 7, path: 'phases[0].steps[1].owner', message: 'x' })).toBe(
      'runbook.yaml:12:7 phases[0].steps[1].owner: x',
    );
    expect(formatProblem({ file: 'a.yaml', line: 1, column: 1, path: '', message: 'y' })).toBe('a.yaml:1:1: y');
  });
});
