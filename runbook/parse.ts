/**
 * Reads a runbook file: YAML, then the schema, then the semantic rules of `validate.ts`, and
 * turns every problem found on the way into `file:line:column path: message`.
 *
 * All problems are reported at once, sorted by position, so a lead fixes a file in one pass.
 * Stages stop at the first one that fails: schema problems are only meaningful on well-formed
 * YAML, and semantic rules only on a document of the right shape.
 *
 * No Node built-ins: the text comes in as a string, so any side may parse a runbook.
 */
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Alias,
  type Document,
  type YAMLError,
} from 'yaml';
import { z } from 'zod';
import { runbookSchema, type Runbook } from './schema.js';
import { closestMatch, validateRunbook, type RunbookProblem } from './validate.js';

/** One problem in a runbook file, located for people and editors. */
export interface Problem {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Where in the document, like `phases[1].steps[0].owner`; empty for the file as a whole. */
  path: string;
  message: string;
}

/** The outcome of {@link parseRunbook}. Warnings never stop a run; problems do. */
export type ParseResult =
  | { ok: true; runbook: Runbook; warnings: Problem[] }
  | { ok: false; problems: Problem[]; warnings: Problem[] };

/** `runbook.yaml:12:7 phases[0].steps[1].owner: message` (no path part for file-level problems). */
export function formatProblem(problem: Problem): string {
  const where = `${problem.file}:${problem.line}:${problem.column}`;
  return problem.path === '' ? `${where}: ${problem.message}` : `${where} ${problem.path}: ${problem.message}`;
}

/** Renders a document path the way people write it: `phases[1].steps[0].owner`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/**
 * Parses and validates a runbook file's text. `file` is only used in the problems, so they read
 * `file:line:column`.
 */
export function parseRunbook(text: string, file: string): ParseResult {
  const source = new Source(text, file);
  const warnings = source.doc.warnings.map((warning) => source.yamlProblem(warning));

  if (source.doc.errors.length > 0) {
    return { ok: false, problems: sortProblems(source.doc.errors.map((e) => source.yamlProblem(e))), warnings };
  }
  let data: unknown;
  try {
    data = source.doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Unresolvable aliases and alias bombs are only noticed while building the value.
    return { ok: false, problems: [source.aliasProblem(error)], warnings };
  }

  // Zod's own messages are replaced (see `describeIssue`); the marker tells them apart from the
  // messages the schema sets itself, which are kept.
  const parsed = runbookSchema.safeParse(data, { error: () => DEFAULT_MESSAGE });
  if (!parsed.success) {
    const findings = dropExplainedMissing(parsed.error.issues.flatMap((issue) => describeIssue(issue, [], data)));
    const problems = findings.map((finding) => source.at(finding.path, finding.message, finding.target));
    return { ok: false, problems: sortProblems(dedupe(problems)), warnings };
  }

  const validation = validateRunbook(parsed.data);
  const semanticWarnings = locateProblems(source, validation.warnings);
  const allWarnings = sortProblems([...warnings, ...semanticWarnings]);
  if (validation.errors.length > 0) {
    return { ok: false, problems: sortProblems(locateProblems(source, validation.errors)), warnings: allWarnings };
  }
  return { ok: true, runbook: parsed.data, warnings: allWarnings };
}

/**
 * Locates problems found on a parsed runbook (such as `liveRunProblems`) in the file's text, for
 * messages in the same `file:line:column` form as {@link parseRunbook}'s.
 */
export function locateRunbookProblems(
  text: string,
  file: string,
  problems: readonly RunbookProblem[],
): Problem[] {
  return sortProblems(locateProblems(new Source(text, file), problems));
}

function locateProblems(source: Source, problems: readonly RunbookProblem[]): Problem[] {
  return problems.map((p) => source.at(p.path, p.message, p.target === 'key' ? 'key' : 'value'));
}

function sortProblems(problems: Problem[]): Problem[] {
  // Array.prototype.sort is stable: problems on one spot keep the order they were found in.
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Positions

/** The YAML document of one file with its line counter: turns paths into line and column. */
class Source {
  readonly doc: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(
    readonly text: string,
    readonly file: string,
  ) {
    // prettyErrors off: the raw messages are reworded below, and positions come from `pos`.
    // merge: `<<: *defaults` is how people share settings between steps; without it the
    // `<<` key would be reported as an unknown field.
    this.doc = parseDocument(text, {
      lineCounter: this.lines,
      prettyErrors: false,
      uniqueKeys: true,
      merge: true,
    });
  }

  /** A problem at `path`: its value, the key of its last segment, or the nearest existing parent. */
  at(path: readonly PropertyKey[], message: string, target: 'value' | 'key' = 'value'): Problem {
    return this.problem(this.offsetOf(path, target), formatPath(path), message);
  }

  /** Why the document could not become a value: an alias without its anchor, or too many. */
  aliasProblem(error: unknown): Problem {
    let unresolved: Alias | undefined;
    visit(this.doc, {
      Alias: (_, alias) => {
        if (alias.resolve(this.doc) !== undefined) return undefined;
        unresolved = alias;
        return visit.BREAK;
      },
    });
    if (unresolved) {
      return this.problem(
        rangeStart(unresolved) ?? 0,
        '',
        `unknown alias \`*${unresolved.source}\`; define the anchor \`&${unresolved.source}\` before this alias`,
      );
    }
    const message = error instanceof Error ? error.message : String(error);
    return this.problem(0, '', `invalid YAML: ${message}`);
  }

  yamlProblem(error: YAMLError): Problem {
    const key = error.code === 'DUPLICATE_KEY' ? this.keyAt(error.pos[0]) : undefined;
    return this.problem(error.pos[0], key ? formatPath(key.path) : '', yamlMessage(error, key?.text));
  }

  /** The mapping key that starts at `offset` and its document path, if one does. */
  private keyAt(offset: number): { text: string; path: PropertyKey[] } | undefined {
    let found: { text: string; path: PropertyKey[] } | undefined;
    visit(this.doc, {
      Pair: (_, pair, ancestors) => {
        if (rangeStart(pair.key) !== offset) return undefined;
        const path: PropertyKey[] = [];
        const chain = [...ancestors, pair];
        chain.forEach((node, i) => {
          if (isPair(node) && node !== pair) path.push(keyText(node.key));
          else if (isSeq(node)) path.push(node.items.indexOf(chain[i + 1] as never));
        });
        path.push(keyText(pair.key));
        found = { text: keyText(pair.key), path };
        return visit.BREAK;
      },
    });
    return found;
  }

  private problem(offset: number, path: string, message: string): Problem {
    const { line, col } = this.lines.linePos(offset);
    // linePos answers line 0 before the first newline is known (a one-line file).
    return { file: this.file, line: Math.max(line, 1), column: Math.max(col, 1), path, message };
  }

  /**
   * Offset of the node at `path`. Walks as far as the document goes, so a missing field points
   * at the mapping that lacks it. An empty value (`owner:`) points at its key, which is where
   * people look.
   */
  private offsetOf(path: readonly PropertyKey[], target: 'value' | 'key'): number {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i += 1) {
      const segment = path[i];
      if (isAlias(node)) node = node.resolve(this.doc);
      if (isMap(node)) {
        const pair = node.items.find((item) => keyText(item.key) === String(segment));
        if (!pair) return offset;
        const keyOffset = rangeStart(pair.key) ?? offset;
        if (i === path.length - 1 && target === 'key') return keyOffset;
        const value = pair.value;
        const empty = value === null || (isScalar(value) && value.value === null && value.source === '');
        offset = empty ? keyOffset : (rangeStart(value) ?? keyOffset);
        node = value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item: unknown = node.items[segment];
        if (item === undefined) return offset;
        offset = rangeStart(item) ?? offset;
        node = item;
      } else {
        return offset;
      }
    }
    return offset;
  }
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as { range?: readonly number[] | null }).range;
    if (range) return range[0];
  }
  return undefined;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/** YAML errors in the house voice: what is wrong and what to do. */
function yamlMessage(error: YAMLError, key: string | undefined): string {
  switch (error.code) {
    case 'DUPLICATE_KEY':
      return key === undefined
        ? 'duplicate key: it already appears in this mapping; keep one of them'
        : `duplicate key \`${key}\`: it already appears in this mapping; keep one of them`;
    case 'TAB_AS_INDENT':
      return 'invalid YAML: tabs cannot indent; indent with spaces';
    case 'MULTIPLE_DOCS':
      return 'a runbook file holds one YAML document; remove this `---` and what follows, or move it to its own file';
    default: {
      // yaml's messages are accurate but terse; keep them, as one sentence.
      const first = error.message.split('\n')[0]!.replace(/[.:]\s*$/, '');
      return `invalid YAML: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Schema issues

/** Stands for "zod's default message" so the schema's own messages can be told apart. */
const DEFAULT_MESSAGE = '\u0000default';

type Issue = z.core.$ZodIssue;
type Schema = z.core.$ZodType;

interface Finding {
  path: PropertyKey[];
  message: string;
  target?: 'key';
  /** A required field that is absent (`parent` path joined, field). */
  missing?: string;
  /** An unknown field whose closest known field is this (`parent` path joined, field). */
  suggests?: string;
}

/**
 * A missing `owner` next to an unknown `ownr` is one mistake: the "did you mean `owner`?" says
 * it all, so the "missing" finding is dropped.
 */
function dropExplainedMissing(findings: Finding[]): Finding[] {
  const suggested = new Set(findings.flatMap((f) => (f.suggests ? [f.suggests] : [])));
  return findings.filter((f) => !(f.missing && suggested.has(f.missing)));
}

function slot(parent: readonly PropertyKey[], field: string): string {
  return `${formatPath(parent)}\u0000${field}`;
}

/** A required field that is absent: reported at its path, located at the mapping that lacks it. */
function missingField(path: readonly PropertyKey[], extra = ''): Finding {
  const parent = path.slice(0, -1);
  const field = fieldName(path);
  return {
    path: [...path],
    message: `missing required field \`${field}\`; add it to ${nounOf(parent)}${extra}`,
    missing: slot(parent, field),
  };
}

/** The value at `path` in the parsed data, and whether it is there at all. */
function valueAt(data: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) {
      return { found: false, value: undefined };
    }
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return { found: true, value };
}

/** Turns one zod issue (at `base` + its path) into findings with messages people can act on. */
function describeIssue(issue: Issue, base: readonly PropertyKey[], data: unknown): Finding[] {
  const path = [...base, ...issue.path];
  const custom = issue.message !== DEFAULT_MESSAGE ? issue.message : undefined;
  const { found, value } = valueAt(data, path);
  const field = fieldName(path);

  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(path, data);
      return issue.keys.map((key) => {
        const match = closestMatch(key, known);
        return {
          path: [...path, key],
          target: 'key' as const,
          message:
            match !== undefined
              ? `unknown field \`${key}\`; did you mean \`${match}\`?`
              : `unknown field \`${key}\`; remove it${known.length > 0 ? ` or use one of ${known.join(', ')}` : ''}`,
          ...(match !== undefined ? { suggests: slot(path, match) } : {}),
        };
      });
    }

    case 'invalid_type': {
      if (path.length === 0) {
        const what = value === null || value === undefined ? 'this file is empty' : `this file holds ${describeValue(value)}`;
        return [{ path, message: `a runbook must be a YAML mapping with \`name\`, \`version\`, \`lead\`, \`roles\` and \`phases\`; ${what}` }];
      }
      if (!found) return [missingField(path)];
      return [{ path, message: custom ?? wrongType(path, [issue.expected], value) }];
    }

    case 'invalid_union': {
      if (issue.discriminator !== undefined) {
        const options = ('options' in issue ? (issue.options ?? []) : []).map(String);
        if (!found) return [missingField(path, ` with one of ${options.join(', ')}`)];
        const noun = kindNoun(path.slice(0, -1));
        let message = `unknown ${noun} \`${String(value)}\`; expected one of ${options.join(', ')}`;
        if (noun === 'check kind' && (value === 'manual' || value === 'wait')) {
          message += `, because a check must run unattended`;
        }
        return [{ path, message }];
      }
      if (!found && path.length > 0) return [missingField(path)];
      if (issue.errors.length === 0) return [{ path, message: custom ?? `\`${field}\` matches more than one allowed form; make it unambiguous` }];
      // Branches that failed only on the type of the value itself tell us the allowed types;
      // a branch whose type matched failed on something deeper, which is what to report.
      const typeOnly = (errors: readonly Issue[]): boolean =>
        errors.length > 0 && errors.every((e) => e.code === 'invalid_type' && e.path.length === 0);
      const closer = issue.errors.find((errors) => !typeOnly(errors));
      if (closer) return closer.flatMap((inner) => describeIssue(inner, path, data));
      const expected = issue.errors.flatMap((errors) => errors.map((e) => (e.code === 'invalid_type' ? e.expected : '')));
      return [{ path, message: custom ?? wrongType(path, expected, value) }];
    }

    case 'invalid_value': {
      const options = issue.values.map(String);
      const head = field === 'kind' ? `unknown ${kindNoun(path.slice(0, -1))}` : `invalid \`${field}\` value`;
      const match = typeof value === 'string' ? closestMatch(value, options) : undefined;
      const message =
        options.length === 1
          ? `invalid \`${field}\` value \`${String(value)}\`; it must be \`${options[0]}\``
          : `${head} \`${String(value)}\`; expected one of ${options.join(', ')}` +
            (match !== undefined ? `; did you mean \`${match}\`?` : '');
      return [{ path, message }];
    }

    case 'invalid_format': {
      const expected = custom ?? formatExpectation(issue.format);
      return [{ path, message: `invalid \`${field}\` value \`${String(value)}\`: ${expected}` }];
    }

    case 'too_small': {
      if (issue.origin === 'array' || issue.origin === 'set') {
        if (custom) return [{ path, message: `${custom}; add one to \`${field}\`` }];
        return [{ path, message: `\`${field}\` needs at least ${String(issue.minimum)} ${Number(issue.minimum) === 1 ? 'item' : 'items'}` }];
      }
      if (issue.origin === 'string') {
        return [{ path, message: custom ?? `\`${field}\` must not be empty; write some text there` }];
      }
      const bound = issue.inclusive === false ? 'greater than' : 'at least';
      return [{ path, message: custom ?? `\`${field}\` must be ${bound} ${String(issue.minimum)}, not \`${String(value)}\`` }];
    }

    case 'too_big': {
      if (issue.origin === 'array' || issue.origin === 'set') {
        return [{ path, message: custom ?? `\`${field}\` may have at most ${String(issue.maximum)} items` }];
      }
      if (issue.origin === 'string') {
        return [{ path, message: custom ?? `\`${field}\` may be at most ${String(issue.maximum)} characters long` }];
      }
      const bound = issue.inclusive === false ? 'less than' : 'at most';
      return [{ path, message: custom ?? `\`${field}\` must be ${bound} ${String(issue.maximum)}, not \`${String(value)}\`` }];
    }

    case 'invalid_key': {
      const container = path.length >= 2 ? String(path[path.length - 2]) : '';
      const noun = container === 'roles' ? 'role name' : container === 'connections' ? 'connection name' : `key in \`${container}\``;
      const inner = issue.issues[0];
      const why =
        inner && inner.message !== DEFAULT_MESSAGE
          ? inner.message
          : inner?.code === 'invalid_format'
            ? formatExpectation(inner.format)
            : 'it is not allowed here';
      return [{ path, target: 'key', message: `invalid ${noun} \`${String(path[path.length - 1])}\`: ${why}` }];
    }

    case 'not_multiple_of':
      return [{ path, message: custom ?? `\`${field}\` must be a multiple of ${issue.divisor}, not \`${String(value)}\`` }];

    default:
      return [{ path, message: custom ?? `\`${field}\` is not valid here` }];
  }
}

/** The name people know a path by: the last key, or `list[3]` for a list item. */
function fieldName(path: readonly PropertyKey[]): string {
  const last = path[path.length - 1];
  if (last === undefined) return 'runbook';
  if (typeof last === 'number') return `${String(path[path.length - 2] ?? '')}[${last}]`;
  return String(last);
}

/** "this step", "the runbook": what a mapping at `path` is to the person reading. */
function nounOf(path: readonly PropertyKey[]): string {
  const last = path[path.length - 1];
  const previous = path[path.length - 2];
  if (last === undefined) return 'the runbook';
  if (typeof last === 'number') {
    if (previous === 'phases') return 'this phase';
    if (previous === 'steps') return 'this step';
    if (previous === 'checks') return 'this check';
    return 'this item';
  }
  if (previous === 'connections') return 'this connection';
  switch (last) {
    case 'action':
      return 'this action';
    case 'backout':
      return path.length === 1 ? 'the top-level `backout`' : 'this back-out action';
    case 'gate':
      return 'this gate';
    case 'retry':
      return 'this retry policy';
    case 'window':
      return 'the window';
    default:
      return `\`${String(last)}\``;
  }
}

/** "action kind", "check kind", "back-out kind", "phase kind" for the mapping at `parent`. */
function kindNoun(parent: readonly PropertyKey[]): string {
  const last = parent[parent.length - 1];
  const previous = parent[parent.length - 2];
  if (typeof last === 'number' && previous === 'checks') return 'check kind';
  if (typeof last === 'number' && previous === 'phases') return 'phase kind';
  if (last === 'backout') return 'back-out kind';
  if (last === 'action') return 'action kind';
  return 'kind';
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  null: 'empty',
};

function wrongType(path: readonly PropertyKey[], expected: readonly string[], value: unknown): string {
  const field = fieldName(path);
  const names = [...new Set(expected.filter((e) => e !== '').map((e) => TYPE_NAMES[e] ?? e))];
  const wanted =
    names.length <= 1 ? (names[0] ?? 'something else') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
  if (value === null || value === undefined) {
    return typeof path[path.length - 1] === 'number'
      ? `list item \`${field}\` is empty; write ${wanted} there`
      : `\`${field}\` has no value; write ${wanted} after \`${field}:\``;
  }
  if (expected.includes('int') && typeof value === 'number') {
    return `\`${field}\` must be a whole number, not \`${value}\``;
  }
  let fix = '';
  if (expected.includes('string') && (typeof value === 'number' || typeof value === 'boolean')) {
    fix = '; put it in quotes to make it a string';
  } else if (expected.includes('array') && !Array.isArray(value) && typeof value !== 'object') {
    fix = `; write it as a list, such as \`[${String(value)}]\``;
  }
  return `\`${field}\` must be ${wanted}, not ${describeValue(value)}${fix}`;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string \`${value.length > 40 ? `${value.slice(0, 37)}...` : value}\``;
  if (typeof value === 'number') return `the number \`${value}\``;
  return `\`${String(value)}\``;
}

function formatExpectation(format: string): string {
  if (format === 'datetime') {
    return 'expected an ISO 8601 date and time with a time zone, such as 2025-06-14T22:00:00+02:00';
  }
  return `expected a valid ${format}`;
}

// ---------------------------------------------------------------------------------------------
// Walking the schema, for the fields an object knows (to suggest the one that was meant)

function unwrap(schema: Schema): Schema {
  for (;;) {
    const def = schema._zod.def;
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'nonoptional':
      case 'readonly':
      case 'catch':
        schema = (def as z.core.$ZodOptionalDef).innerType;
        break;
      case 'pipe':
        schema = (def as z.core.$ZodPipeDef).in;
        break;
      case 'lazy':
        schema = (def as z.core.$ZodLazyDef).getter();
        break;
      default:
        return schema;
    }
  }
}

/** The member of a discriminated union that `value` claims to be, or the schema itself. */
function pick(schema: Schema, value: unknown): Schema | undefined {
  const bare = unwrap(schema);
  const def = bare._zod.def as z.core.$ZodDiscriminatedUnionDef;
  if (def.type !== 'union' || typeof def.discriminator !== 'string') return bare;
  if (value === null || typeof value !== 'object') return undefined;
  const claimed = (value as Record<string, unknown>)[def.discriminator];
  for (const option of def.options) {
    const member = unwrap(option);
    const shape = (member._zod.def as z.core.$ZodObjectDef).shape;
    const literal = shape?.[def.discriminator];
    if (!literal) continue;
    const values = (unwrap(literal)._zod.def as z.core.$ZodLiteralDef<z.core.util.Literal>).values ?? [];
    if (values.includes(claimed as z.core.util.Literal)) return member;
  }
  return undefined;
}

/** Field names of the object schema at `path` (empty when it is not an object or is unknown). */
function knownKeys(path: readonly PropertyKey[], data: unknown): string[] {
  let schema: Schema | undefined = runbookSchema;
  let value: unknown = data;
  for (const segment of path) {
    if (!schema) return [];
    schema = pick(schema, value);
    if (!schema) return [];
    const def = schema._zod.def;
    if (def.type === 'object') schema = (def as z.core.$ZodObjectDef).shape[String(segment)];
    else if (def.type === 'array') schema = (def as z.core.$ZodArrayDef).element;
    else if (def.type === 'record') schema = (def as z.core.$ZodRecordDef).valueType;
    else return [];
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[segment] : undefined;
  }
  const target = schema ? pick(schema, value) : undefined;
  if (!target || target._zod.def.type !== 'object') return [];
  return Object.keys((target._zod.def as z.core.$ZodObjectDef).shape);
}
