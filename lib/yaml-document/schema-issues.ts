/**
 * Zod's complaints about a document, reworded for people: a missing field, an unknown one with the field that was
 * probably meant, a value of the wrong kind with what was expected. Pure.
 */
import type { z } from 'zod';
import { closestMatch } from '../closest-match.js';
import { formatPath } from './problems.js';
/** Stands for "zod's default message" so the schema's own messages can be told apart. */
export const DEFAULT_MESSAGE = '\u0000default';

type Issue = z.core.$ZodIssue;
type Schema = z.core.$ZodType;

export interface Finding {
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
export function dropExplainedMissing(findings: Finding[]): Finding[] {
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
/** What describing an issue needs to know of the document type. */
export interface IssueContext {
  root: Schema;
  expected: string;
}

export function describeIssue(issue: Issue, base: readonly PropertyKey[], data: unknown, context: IssueContext): Finding[] {
  const path = [...base, ...issue.path];
  const custom = issue.message !== DEFAULT_MESSAGE ? issue.message : undefined;
  const { found, value } = valueAt(data, path);
  const field = fieldName(path);

  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(path, data, context.root);
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
        return [{ path, message: `${context.expected}; ${what}` }];
      }
      if (!found) return [missingField(path)];
      return [{ path, message: custom ?? wrongType(path, [issue.expected], value) }];
    }

    case 'invalid_union': {
      if (issue.discriminator !== undefined) {
        const options = ('options' in issue ? (issue.options ?? []) : []).map(String);
        if (!found) return [missingField(path, ` with one of ${options.join(', ')}`)];
        // `kind` in runbooks; other documents switch on other fields (a reconciliation's `driver`).
        const noun = field === 'kind' ? kindNoun(path.slice(0, -1)) : field;
        let message = `unknown ${noun} ${literal(value)}; expected one of ${options.join(', ')}`;
        if (noun === 'check kind' && (value === 'manual' || value === 'wait')) {
          message += `, because a check must run unattended`;
        }
        return [{ path, message }];
      }
      if (!found && path.length > 0) return [missingField(path)];
      if (issue.errors.length === 0)
        return [{ path, message: custom ?? `\`${field}\` matches more than one allowed form; make it unambiguous` }];
      // Branches that failed only on the type of the value itself tell us the allowed types;
      // a branch whose type matched failed on something deeper, which is what to report.
      const typeOnly = (errors: readonly Issue[]): boolean =>
        errors.length > 0 && errors.every((e) => e.code === 'invalid_type' && e.path.length === 0);
      const closer = issue.errors.find((errors) => !typeOnly(errors));
      if (closer) return closer.flatMap((inner) => describeIssue(inner, path, data, context));
      const expected = issue.errors.flatMap((errors) => errors.map((e) => (e.code === 'invalid_type' ? e.expected : '')));
      return [{ path, message: custom ?? wrongType(path, expected, value) }];
    }

    case 'invalid_value': {
      const options = issue.values.map(String);
      const head = field === 'kind' ? `unknown ${kindNoun(path.slice(0, -1))}` : `invalid \`${field}\` value`;
      const match = typeof value === 'string' ? closestMatch(value, options) : undefined;
      const message =
        options.length === 1
          ? `invalid \`${field}\` value ${literal(value)}; it must be \`${options[0]}\``
          : `${head} ${literal(value)}; expected one of ${options.join(', ')}` +
            (match !== undefined ? `; did you mean \`${match}\`?` : '');
      return [{ path, message }];
    }

    case 'invalid_format': {
      const expected = custom ?? formatExpectation(issue.format);
      return [{ path, message: `invalid \`${field}\` value ${literal(value)}: ${expected}` }];
    }

    case 'too_small': {
      if (issue.origin === 'array' || issue.origin === 'set') {
        if (custom) return [{ path, message: `${custom}; add one to \`${field}\`` }];
        return [
          { path, message: `\`${field}\` needs at least ${String(issue.minimum)} ${Number(issue.minimum) === 1 ? 'item' : 'items'}` },
        ];
      }
      if (issue.origin === 'string') {
        return [{ path, message: custom ?? `\`${field}\` must not be empty; write some text there` }];
      }
      const bound = issue.inclusive === false ? 'greater than' : 'at least';
      return [{ path, message: custom ?? `\`${field}\` must be ${bound} ${String(issue.minimum)}, not ${literal(value)}` }];
    }

    case 'too_big': {
      if (issue.origin === 'array' || issue.origin === 'set') {
        return [{ path, message: custom ?? `\`${field}\` may have at most ${String(issue.maximum)} items` }];
      }
      if (issue.origin === 'string') {
        return [{ path, message: custom ?? `\`${field}\` may be at most ${String(issue.maximum)} characters long` }];
      }
      const bound = issue.inclusive === false ? 'less than' : 'at most';
      return [{ path, message: custom ?? `\`${field}\` must be ${bound} ${String(issue.maximum)}, not ${literal(value)}` }];
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
      return [{ path, message: custom ?? `\`${field}\` must be a multiple of ${issue.divisor}, not ${literal(value)}` }];

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
  const wanted = names.length <= 1 ? (names[0] ?? 'something else') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
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

/** A value as messages quote it: `text` for a scalar, "a list" or "a mapping" otherwise. */
function literal(value: unknown): string {
  return value !== null && typeof value === 'object' ? describeValue(value) : `\`${String(value)}\``;
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
function knownKeys(path: readonly PropertyKey[], data: unknown, root: Schema): string[] {
  let schema: Schema | undefined = root;
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
