// fuzz-runbooks: generated runbook files, good and bad, through the parser and validator.
//
// Every input must come back as an answer, never as a thrown error: a runbook, or problems that
// each say something and point at a line and column inside the file. `fuzzRunbooks` counts the
// answers and collects the inputs that broke the rule; it prints nothing, so `bench/survive.mjs`
// and the tests decide what to show. The same seed gives the same inputs, and a crash carries
// the `seed` and `path` that replay it with fast-check (`fc.assert(property, { seed, path })`).
//
// The arbitraries are exported so `test/runbook-fuzz.test.ts` runs the same properties against
// the TypeScript sources with small counts.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { stringify } from 'yaml';

const DEFAULT_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');

/** How much of a crashing input a report keeps. */
const INPUT_SHOWN = 500;

// ---------------------------------------------------------------------------------------------
// Valid runbooks, as data

const roleName = fc.constantFrom('lead', 'dba', 'ops', 'business-owner', 'comms', 'qa');
const person = fc.constantFrom('ana', 'ben', 'carol', 'dan', 'erin');
const duration = fc.constantFrom('0s', '90s', '15m', '1h30m', '2d', '250ms');
const phaseKinds = ['preparation', 'data_freeze', 'migration', 'reconciliation', 'interface_switch_on', 'hypercare'];

const action = fc.oneof(
  fc.constant({ kind: 'manual' }),
  fc.record({ kind: fc.constant('wait'), duration }),
  fc.record({ kind: fc.constant('simulate'), duration, outcome: fc.constantFrom('success', 'failure') }),
  fc.record({ kind: fc.constant('shell'), command: fc.constantFrom('true', './migrate.sh customers', 'echo done') }),
  fc.record(
    {
      kind: fc.constant('http'),
      url: fc.constant('https://crm.internal/health'),
      method: fc.constantFrom('GET', 'POST'),
      expect: fc.record({ status: fc.constantFrom(200, [200, 204]) }),
    },
    { requiredKeys: ['kind', 'url'] },
  ),
  fc.record({ kind: fc.constant('sql'), connection: fc.constant('legacy'), query: fc.constant('SELECT 1') }),
);

const checkPart = fc.oneof(
  fc.record({ name: fc.constant('it answers'), kind: fc.constant('shell'), command: fc.constant('true') }),
  fc.record({
    name: fc.constant('rows'),
    kind: fc.constant('sql'),
    connection: fc.constant('legacy'),
    query: fc.constant('SELECT 1'),
    expect: fc.record({ rows: fc.nat(5) }),
  }),
);

const stepShape = fc.record(
  {
    title: fc.constantFrom('Back up', 'Migrate customers', 'Switch on'),
    expected: duration,
    action,
    checks: fc.array(checkPart, { maxLength: 2 }),
    backout: action,
  },
  { requiredKeys: ['title', 'expected', 'action'] },
);

/**
 * A runbook that validation accepts: unique ids, owners that are roles with people, dependencies
 * on earlier steps only, a gate in every go/no-go phase.
 */
export const validRunbook = fc
  .record({
    name: fc.constantFrom('crm-go-live', 'erp', 'x'),
    version: fc.oneof(fc.nat(99), fc.constant('2026.11-r3')),
    roles: fc.uniqueArray(roleName, { minLength: 1, maxLength: 4 }),
    people: fc.array(person, { minLength: 1, maxLength: 3 }),
    phases: fc.array(
      fc.record({
        kind: fc.constantFrom(...phaseKinds, 'go_no_go'),
        steps: fc.array(fc.record({ shape: stepShape, owner: fc.nat(), deps: fc.array(fc.nat(), { maxLength: 2 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    window: fc.option(fc.constant({ start: '2026-12-05T22:00:00Z', length: '6h' }), { nil: undefined }),
  })
  .map((r) => {
    const roles = Object.fromEntries(r.roles.map((role) => [role, [...r.people]]));
    let counter = 0;
    const earlier = [];
    const phases = r.phases.map((p, i) => {
      const steps = p.steps.map((s) => {
        const id = `s${(counter += 1)}`;
        const step = { id, owner: r.roles[s.owner % r.roles.length], ...s.shape };
        const deps = [...new Set(s.deps.filter(() => earlier.length > 0).map((d) => earlier[d % earlier.length]))];
        if (deps.length > 0) step.depends_on = deps;
        return step;
      });
      if (p.kind === 'go_no_go') {
        const gateId = `s${(counter += 1)}`;
        steps.push({ id: gateId, title: 'Go?', owner: r.roles[0], gate: { approvers: [r.roles[0]], rule: 'any' } });
      }
      for (const step of steps) earlier.push(step.id);
      return { id: `p${i}`, kind: p.kind, steps };
    });
    const runbook = {
      name: r.name,
      version: r.version,
      lead: r.roles[0],
      roles,
      connections: { legacy: { driver: 'sqlite', path: 'legacy.db' } },
      phases,
    };
    if (r.window) runbook.window = r.window;
    return runbook;
  });

// ---------------------------------------------------------------------------------------------
// Writing data as YAML text

/** Values that are the wrong thing almost anywhere in a runbook. */
const junk = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, '', '42', '3.0', 'null', '~', 'yes', [], {}, [null], { '': null }),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.array(fc.nat(9), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.nat(), { maxKeys: 2 }),
);

/** Every path into a value: mapping keys and list indexes. */
function pathsOf(value, prefix = [], out = []) {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  return out;
}

function parentOf(root, at) {
  let node = root;
  for (const segment of at.slice(0, -1)) node = node[segment];
  return node;
}

function allSteps(runbook) {
  return (Array.isArray(runbook.phases) ? runbook.phases : []).flatMap((p) =>
    p && Array.isArray(p.steps) ? p.steps.filter((s) => s && typeof s === 'object') : [],
  );
}

/** A step's dependencies as a list, whatever an earlier mutation left there (a string, a number, null). */
function dependsOn(step) {
  return Array.isArray(step.depends_on) ? step.depends_on : [];
}

/** One change to a valid runbook that should make validation refuse it (or, rarely, not). */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('remove'), at: fc.nat() }),
  fc.record({ op: fc.constant('replace'), at: fc.nat(), value: junk }),
  fc.record({
    op: fc.constant('unknown-field'),
    at: fc.nat(),
    key: fc.constantFrom('colour', 'ownr', 'depend_on', 'acton', '<<', 'kind ', 'Steps'),
    value: junk,
  }),
  fc.record({ op: fc.constant('stringify-number'), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate-id'), a: fc.nat(), b: fc.nat() }),
  fc.record({ op: fc.constant('cycle'), a: fc.nat(), b: fc.nat() }),
  fc.record({ op: fc.constant('depends-on'), a: fc.nat(), target: fc.oneof(fc.nat(), fc.constantFrom('nope', 's', 'S1', '')) }),
);

function mutate(runbook, m) {
  const copy = structuredClone(runbook);
  const paths = pathsOf(copy).filter((p) => p.length > 0);
  const pick = (n) => paths[n % paths.length];
  const steps = allSteps(copy);
  switch (m.op) {
    case 'remove': {
      const at = pick(m.at);
      const parent = parentOf(copy, at);
      if (Array.isArray(parent)) parent.splice(at[at.length - 1], 1);
      else delete parent[at[at.length - 1]];
      break;
    }
    case 'replace': {
      const at = pick(m.at);
      parentOf(copy, at)[at[at.length - 1]] = m.value;
      break;
    }
    case 'unknown-field': {
      const maps = pathsOf(copy).filter((p) => {
        const v = p.reduce((node, s) => node[s], copy);
        return v && typeof v === 'object' && !Array.isArray(v);
      });
      const at = maps[m.at % maps.length];
      at.reduce((node, s) => node[s], copy)[m.key] = m.value;
      break;
    }
    case 'stringify-number': {
      const at = pick(m.at);
      const parent = parentOf(copy, at);
      const key = at[at.length - 1];
      if (typeof parent[key] === 'number' || typeof parent[key] === 'boolean') parent[key] = String(parent[key]);
      else if (typeof parent[key] === 'string' && parent[key] !== '')
        parent[key] = Number.isNaN(Number(parent[key])) ? null : Number(parent[key]);
      break;
    }
    case 'duplicate-id': {
      const [a, b] = [steps[m.a % steps.length], steps[m.b % steps.length]];
      if (a && b) b.id = a.id;
      break;
    }
    case 'cycle': {
      // Both directions: within a phase a cycle, across phases a dependency on a later step too.
      const [a, b] = [steps[m.a % steps.length], steps[m.b % steps.length]];
      if (a && b) {
        a.depends_on = [...dependsOn(a), b.id];
        b.depends_on = [...dependsOn(b), a.id];
      }
      break;
    }
    case 'depends-on': {
      const a = steps[m.a % steps.length];
      if (a) a.depends_on = [...dependsOn(a), typeof m.target === 'number' ? (steps[m.target % steps.length]?.id ?? 'x') : m.target];
      break;
    }
  }
  return copy;
}

/** YAML text for a value, in one of the ways people write it. */
function write(value, style) {
  switch (style) {
    case 'flow':
      return stringify(value, { collectionStyle: 'flow', lineWidth: 0 });
    case 'json':
      return `${JSON.stringify(value, null, 2)}\n`;
    default:
      return stringify(value, { lineWidth: 0 });
  }
}

const style = fc.constantFrom('block', 'block', 'flow', 'json');

/** Line ends and byte-order marks that editors on other systems leave in files. */
const dressing = fc.record({ crlf: fc.boolean(), bom: fc.boolean(), noFinalNewline: fc.boolean() });

function dress(text, d) {
  let out = d.noFinalNewline ? text.replace(/\n$/, '') : text;
  if (d.crlf) out = out.replace(/\n/g, '\r\n');
  if (d.bom) out = `\uFEFF${out}`;
  return out;
}

/** Valid runbooks, unchanged: validation must accept them. */
export const validText = fc.tuple(validRunbook, style, dressing).map(([r, s, d]) => dress(write(r, s), d));

/** Valid runbooks with one to three mutations, written out. */
export const mutatedText = fc
  .tuple(validRunbook, fc.array(mutation, { minLength: 1, maxLength: 3 }), style, dressing)
  .map(([r, ms, s, d]) => dress(write(ms.reduce(mutate, r), s), d));

// ---------------------------------------------------------------------------------------------
// Malformed YAML

/** Bits of text that mean something to YAML, to drop into otherwise good files. */
const yamlBits = fc.constantFrom(
  '"',
  "'",
  '[',
  ']',
  '{',
  '}',
  ':',
  ': ',
  '- ',
  '-',
  '? ',
  ',',
  '#',
  '|',
  '>',
  '|-',
  '>+',
  '\t',
  '  ',
  '\n',
  '\r\n',
  '\r',
  '&a ',
  '*a',
  '*b',
  '&a [*a]',
  '<<: *a',
  '!!binary ',
  '!!str ',
  '!foo ',
  '!<tag:x> ',
  '!!map ',
  '---\n',
  '...\n',
  '--- ',
  '%YAML 1.2\n---\n',
  '%TAG ! tag:x,2000:\n',
  '\uFEFF',
  '\u0000',
  '\u0085',
  '\u2028',
  '\uD800',
  '\\',
  '@',
  '`',
  '%',
  '0x1F',
  '.inf',
  '~',
  '"\\x"',
  '"\\u12"',
);

const textEdit = fc.oneof(
  fc.record({ op: fc.constant('insert'), at: fc.nat(), bit: yamlBits }),
  fc.record({ op: fc.constant('delete'), at: fc.nat(), length: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ op: fc.constant('truncate'), at: fc.nat() }),
  fc.record({ op: fc.constant('indent'), line: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ op: fc.constant('duplicate-line'), line: fc.nat() }),
  fc.record({ op: fc.constant('swap-lines'), a: fc.nat(), b: fc.nat() }),
  fc.record({ op: fc.constant('tab-indent'), line: fc.nat() }),
);

function edit(text, e) {
  const lines = text.split('\n');
  const line = (n) => n % lines.length;
  switch (e.op) {
    case 'insert': {
      const at = e.at % (text.length + 1);
      return text.slice(0, at) + e.bit + text.slice(at);
    }
    case 'delete': {
      const at = e.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + e.length);
    }
    case 'truncate':
      return text.slice(0, e.at % (text.length + 1));
    case 'indent': {
      const i = line(e.line);
      lines[i] = e.by >= 0 ? ' '.repeat(e.by) + lines[i] : lines[i].replace(new RegExp(`^ {0,${-e.by}}`), '');
      return lines.join('\n');
    }
    case 'duplicate-line': {
      const i = line(e.line);
      lines.splice(i, 0, lines[i]);
      return lines.join('\n');
    }
    case 'swap-lines': {
      const [i, j] = [line(e.a), line(e.b)];
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return lines.join('\n');
    }
    case 'tab-indent': {
      const i = line(e.line);
      lines[i] = lines[i].replace(/^ +/, '\t');
      return lines.join('\n');
    }
  }
  return text;
}

/** `levels` anchors, each a list of `fanout` aliases of the one before: fanout^levels values. */
export function aliasBomb(levels, fanout, where = 'top') {
  const lines = [`l0: &l0 [${Array.from({ length: fanout }, () => '"lol"').join(', ')}]`];
  for (let i = 1; i < levels; i += 1) lines.push(`l${i}: &l${i} [${Array.from({ length: fanout }, () => `*l${i - 1}`).join(', ')}]`);
  const anchors = lines.join('\n');
  if (where === 'top') return `${anchors}\n`;
  // Inside a runbook: the bomb lands where the schema walks every value (the people of a role).
  return `x-anchors:\n${anchors.replace(/^/gm, '  ')}\nname: bomb\nversion: 1\nlead: lead\nroles:\n  lead: *l${levels - 1}\nphases: []\n`;
}

const aliasText = fc.oneof(
  fc
    .record({ levels: fc.integer({ min: 2, max: 12 }), fanout: fc.integer({ min: 2, max: 10 }), where: fc.constantFrom('top', 'roles') })
    .map(({ levels, fanout, where }) => aliasBomb(levels, fanout, where)),
  fc.constantFrom(
    'a: &a [*a]\n',
    'a: &a { b: *a }\n',
    'a: &a { <<: *a }\n',
    '&a [*a, *a]\n',
    'x: *nope\n',
    'x: &a 1\ny: *a\nz: &a 2\nw: *a\n',
    '<<: [*a]\n',
    'a: &a\n  <<: *a\n  b: 1\n',
    '? &k [a]\n: *k\n',
    '*a : 1\n',
  ),
  // A runbook whose steps share settings through anchors and merge keys, many times over.
  fc
    .integer({ min: 1, max: 400 })
    .map((n) =>
      [
        'name: shared',
        'version: 1',
        'lead: lead',
        'roles: { lead: [ana] }',
        'x-defaults: &defaults { owner: lead, expected: 1m, action: { kind: manual } }',
        'phases:',
        '  - id: all',
        '    kind: migration',
        '    steps:',
        ...Array.from({ length: n }, (_, i) => `      - { <<: *defaults, id: s${i}, title: Step ${i} }`),
      ].join('\n'),
    ),
);

/** Bytes that are not text at all, read as UTF-8 and as Latin-1. */
const binaryJunk = fc
  .uint8Array({ maxLength: 300 })
  .chain((bytes) => fc.constantFrom(new TextDecoder('utf-8').decode(bytes), new TextDecoder('latin1').decode(bytes)));

/** Broken YAML: good files with edits, alias tricks, raw junk. */
export const malformedText = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(validText, fc.array(textEdit, { minLength: 1, maxLength: 4 })).map(([t, es]) => es.reduce(edit, t)) },
  { weight: 2, arbitrary: aliasText },
  { weight: 1, arbitrary: binaryJunk },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.array(yamlBits, { maxLength: 40 }).map((bits) => bits.join('')) },
);

// ---------------------------------------------------------------------------------------------
// Unicode

const unicodeWord = fc.oneof(
  fc.constantFrom(
    '🚀',
    'déjà-vu',
    'ﻣﺮﺣﺒﺎ',
    'שלום',
    '\u202Eevil',
    'a\u0000b',
    '\u0000',
    'é',
    'e\u0301',
    '𝓍',
    '\uD83D',
    '\uDE00x',
    'İ',
    'ß',
    '\u200B',
    'a\u2028b',
    'a\u0085b',
    '\uFFFE',
    '\t',
    ' lead',
    'lead ',
    'ＬＥＡＤ',
    '١٢٣',
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
);

/** A valid runbook with one or more names, titles, owners or ids in other scripts. */
export const unicodeText = fc
  .tuple(
    validRunbook,
    fc.array(fc.record({ at: fc.nat(), word: unicodeWord, key: fc.boolean() }), { minLength: 1, maxLength: 4 }),
    style,
    fc.boolean(),
  )
  .map(([r, changes, s, raw]) => {
    const copy = structuredClone(r);
    for (const { at, word, key } of changes) {
      const paths = pathsOf(copy).filter((p) => p.length > 0);
      const target = paths[at % paths.length];
      const parent = parentOf(copy, target);
      const last = target[target.length - 1];
      if (key && !Array.isArray(parent)) {
        parent[word] = parent[last];
        delete parent[last];
      } else if (typeof parent[last] !== 'object' || parent[last] === null) {
        parent[last] = word;
      }
    }
    const text = write(copy, s);
    // Raw: the same words typed into the text without YAML's quoting.
    return raw
      ? text.replace(/"((?:[^"\\]|\\.)*)"/g, (_, inner) =>
          inner.replace(/\\u([0-9a-fA-F]{4})/g, (_m, hex) => String.fromCharCode(parseInt(hex, 16))),
        )
      : text;
  });

// ---------------------------------------------------------------------------------------------
// Huge and deep

/** `steps` steps in one chain, written one per line; `breakAt` spoils one of them. */
export function hugeRunbook(steps, { phases = 1, breakAt = -1, breakWith = 'owner: nobody' } = {}) {
  const lines = ['name: huge', 'version: 1', 'lead: lead', 'roles: { lead: [ana] }', 'phases:'];
  const perPhase = Math.ceil(steps / phases);
  for (let i = 0; i < steps; i += 1) {
    if (i % perPhase === 0) lines.push(`  - id: p${i}`, '    kind: migration', '    steps:');
    const deps = i > 0 ? `depends_on: [s${i - 1}], ` : '';
    const owner = i === breakAt ? breakWith : 'owner: lead';
    lines.push(`      - { id: s${i}, title: Step ${i}, ${owner}, expected: 1s, ${deps}action: { kind: simulate, duration: 0s } }`);
  }
  return `${lines.join('\n')}\n`;
}

/** A value nested `depth` levels deep, in one of YAML's ways of nesting, under `notes:`. */
export function deepText(depth, how) {
  switch (how) {
    case 'flow-seq':
      return `name: deep\nnotes: ${'['.repeat(depth)}x${']'.repeat(depth)}\n`;
    case 'flow-map':
      return `name: deep\nnotes: ${'{a: '.repeat(depth)}x${'}'.repeat(depth)}\n`;
    case 'unclosed':
      return `name: deep\nnotes: ${'[{'.repeat(depth)}\n`;
    case 'block-seq':
      return `${Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}-`).join('\n')} x\n`;
    case 'block-map':
      return `${Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} x\n`;
    case 'compact-seq':
      return `${'- '.repeat(depth)}x\n`;
    default:
      return `roles:\n  lead: ${'['.repeat(depth)}ana${']'.repeat(depth)}\n`;
  }
}

export const hugeText = fc.oneof(
  fc
    .record({
      steps: fc.integer({ min: 1000, max: 5000 }),
      phases: fc.constantFrom(1, 10, 1000),
      breakAt: fc.integer({ min: -1, max: 5000 }),
      breakWith: fc.constantFrom(
        'owner: nobody',
        'owner: 7',
        'ownr: lead',
        'owner: lead, depends_on: [s0, nope]',
        'owner: lead, depends_on: [s4999]',
      ),
    })
    .map(({ steps, ...rest }) => hugeRunbook(steps, rest)),
  // Thousands of steps that all depend on steps nobody wrote: one "did you mean" search each.
  fc.integer({ min: 1000, max: 5000 }).map((n) => hugeRunbook(n).replace(/depends_on: \[s(\d+)\]/g, 'depends_on: [t$1]')),
  fc.integer({ min: 1, max: 12 }).map((mb) => `name: huge\nnotes: "${'x'.repeat(mb * 1024 * 1024)}"\n`),
  fc.integer({ min: 1000, max: 20000 }).map((n) => `name: keys\n${Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join('\n')}\n`),
  // A gate whose approver roles chain through shared people: one matching path through all.
  fc.integer({ min: 1000, max: 12000 }).map((n) => {
    const roles = Array.from({ length: n }, (_, i) => `  r${i}: [p${i}, p${i + 1}]\n`).join('');
    const approvers = Array.from({ length: n + 1 }, (_, i) => `r${i}`).join(', ');
    return `name: g\nversion: 1\nlead: r0\nroles:\n${roles}  r${n}: [p0]\nphases:\n  - id: p\n    kind: go_no_go\n    steps:\n      - { id: go, title: Go, owner: r0, gate: { approvers: [${approvers}] } }\n`;
  }),
);

/**
 * Nesting around the parser's limit and far beyond it. Block nesting indents each level once
 * more, so its text grows with the square of the depth: 3000 levels are already 4.5 MB.
 */
export const nestedText = fc
  .oneof(
    fc.record({
      depth: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 200, max: 20000 })),
      how: fc.constantFrom('flow-seq', 'flow-map', 'unclosed', 'compact-seq', 'roles'),
    }),
    fc.record({
      depth: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 200, max: 3000 })),
      how: fc.constantFrom('block-seq', 'block-map'),
    }),
  )
  .map(({ depth, how }) => deepText(depth, how));

/** Everything, in the mix `fuzzRunbooks` uses: mostly small inputs, now and then a huge one. */
export const anyRunbookText = fc.oneof(
  { weight: 150, arbitrary: validText },
  { weight: 350, arbitrary: mutatedText },
  { weight: 300, arbitrary: malformedText },
  { weight: 150, arbitrary: unicodeText },
  { weight: 48, arbitrary: nestedText },
  { weight: 2, arbitrary: hugeText },
);

export const arbitraries = { validText, mutatedText, malformedText, unicodeText, hugeText, deepText: nestedText, anyRunbookText };

// ---------------------------------------------------------------------------------------------
// The property

/**
 * What is wrong with `parse(text)`'s answer, or undefined when it keeps the promise: it returns,
 * and either accepts a runbook with at least one step and unique step ids, or lists problems
 * that each have a message and a position inside the text. Thrown errors are returned as
 * violations too.
 */
export function violation(text, parse) {
  return judge(text, parse).violation;
}

/** The answer's kind and what is wrong with it, if anything (see {@link violation}). */
export function judge(text, parse) {
  let result;
  // A process warning is output too (yaml warns on stderr about keys it has to write out), so
  // it counts as a broken promise; caught here, it is also not printed.
  const warnings = [];
  const emitWarning = process.emitWarning;
  process.emitWarning = (warning) => warnings.push(warning instanceof Error ? warning.message : String(warning));
  try {
    result = parse(text, 'fuzz.yaml');
  } catch (error) {
    return { violation: `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}` };
  } finally {
    process.emitWarning = emitWarning;
  }
  if (warnings.length > 0) return { violation: `printed a process warning: ${warnings[0]}` };
  const wrong = check(text, result);
  return { ok: result?.ok === true, violation: wrong };
}

function check(text, result) {
  if (!result || typeof result !== 'object') return `returned ${String(result)}`;
  const lines = text.split('\n');
  const misplaced = (p) => {
    if (!p || typeof p.message !== 'string' || p.message.trim() === '') return `a problem without a message: ${JSON.stringify(p)}`;
    if (p.message.includes('\u0000default') || p.message.includes('[object Object]'))
      return `a problem with a broken message: ${p.message}`;
    if (p.file !== 'fuzz.yaml') return `a problem names the file ${JSON.stringify(p.file)}`;
    if (!Number.isInteger(p.line) || !Number.isInteger(p.column) || p.line < 1 || p.column < 1)
      return `a problem at ${p.line}:${p.column}: ${p.message}`;
    if (p.line > lines.length) return `a problem at line ${p.line} of ${lines.length}: ${p.message}`;
    const width = lines[p.line - 1].length + 1;
    if (p.column > width) return `a problem at ${p.line}:${p.column}, past the end of a line of ${width - 1}: ${p.message}`;
    return undefined;
  };
  for (const warning of result.warnings ?? []) {
    const wrong = misplaced(warning);
    if (wrong) return `warning: ${wrong}`;
  }
  if (result.ok === true) {
    const steps = (result.runbook?.phases ?? []).flatMap((phase) => phase.steps ?? []);
    if (steps.length === 0) return 'accepted a runbook without steps';
    const ids = steps.map((step) => step.id);
    if (new Set(ids).size !== ids.length) return 'accepted a runbook with a step id used twice';
    return undefined;
  }
  if (result.ok !== false) return `returned ok = ${String(result.ok)}`;
  if (!Array.isArray(result.problems) || result.problems.length === 0) return 'refused the runbook without a problem';
  for (const problem of result.problems) {
    const wrong = misplaced(problem);
    if (wrong) return wrong;
  }
  return undefined;
}

/** `parseRunbook` from the compiled sources in `distDir`. */
export async function loadParser(distDir = DEFAULT_DIST) {
  const { parseRunbook } = await import(pathToFileURL(path.join(distDir, 'runbook', 'parse.js')).href);
  return parseRunbook;
}

function shown(text) {
  return text.length > INPUT_SHOWN ? `${text.slice(0, INPUT_SHOWN)}... (${text.length} characters)` : text;
}

/**
 * Runs `runs` generated inputs through `parseRunbook` and counts the answers.
 *
 * @param {object} options
 * @param {number} options.runs how many inputs
 * @param {number} [options.seed] fast-check seed; the same seed gives the same inputs
 * @param {string} [options.distDir] where the compiled parser is (default: this checkout's dist/)
 * @param {(text: string, file: string) => any} [options.parseRunbook] the parser itself, instead of distDir
 * @param {import('fast-check').Arbitrary<string>} [options.arbitrary] the inputs (default: {@link anyRunbookText})
 * @returns {Promise<{ seed: number, runs: number, accepted: number, rejected: number, crashes: { seed: number, path: string, input: string, error: string }[], ms: number, slowest: { ms: number, characters: number } }>}
 */
export async function fuzzRunbooks({ runs, seed = Date.now() | 0, distDir, parseRunbook, arbitrary = anyRunbookText }) {
  const parse = parseRunbook ?? (await loadParser(distDir));
  const figures = { seed, runs: 0, accepted: 0, rejected: 0, crashes: [], ms: 0, slowest: { ms: 0, characters: 0 } };
  const started = performance.now();
  // The property never fails, so fast-check goes through every run without shrinking; the
  // index of a run is the fast-check `path` that replays it.
  fc.check(
    fc.property(arbitrary, (text) => {
      const index = figures.runs;
      figures.runs += 1;
      const before = performance.now();
      const { ok, violation: wrong } = judge(text, parse);
      const took = performance.now() - before;
      if (took > figures.slowest.ms) figures.slowest = { ms: Math.round(took), characters: text.length };
      if (wrong !== undefined) figures.crashes.push({ seed, path: String(index), input: shown(text), error: wrong });
      else if (ok) figures.accepted += 1;
      else figures.rejected += 1;
      return true;
    }),
    { seed, numRuns: runs, endOnFailure: true },
  );
  figures.ms = Math.round(performance.now() - started);
  return figures;
}
