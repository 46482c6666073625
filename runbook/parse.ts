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
  Composer,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Parser,
  YAMLParseError,
  type CST,
  type Document,
  type YAMLError,
  type YAMLMap,
} from 'yaml';
import type { z } from 'zod';
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
export type ParseResult = { ok: true; runbook: Runbook; warnings: Problem[] } | { ok: false; problems: Problem[]; warnings: Problem[] };

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
 * `file:line:column`. Never throws: a file beyond {@link RUNBOOK_LIMITS} (size, nesting, alias
 * repetition) is refused with one located problem that names the limit.
 */
export function parseRunbook(text: string, file: string): ParseResult {
  const read = parseYamlDocument(text, file, { schema: runbookSchema, expected: RUNBOOK_EXPECTED });
  if (!read.ok) return read;
  const validation = validateRunbook(read.data);
  const semanticWarnings = read.locate(validation.warnings);
  const allWarnings = sortProblems([...read.warnings, ...semanticWarnings]);
  if (validation.errors.length > 0) {
    return { ok: false, problems: read.locate(validation.errors), warnings: allWarnings };
  }
  return { ok: true, runbook: read.data, warnings: allWarnings };
}

const RUNBOOK_EXPECTED = 'a runbook must be a YAML mapping with `name`, `version`, `lead`, `roles` and `phases`';

/** What {@link parseYamlDocument} reads a file as. */
export interface YamlDocumentShape<T> {
  /** The zod schema the document must satisfy; its field names feed the "did you mean" hints. */
  schema: z.ZodType<T>;
  /** Said when the file is empty or not a mapping: "a NAME must be a YAML mapping with ...". */
  expected: string;
}

/**
 * The outcome of {@link parseYamlDocument}. `locate` turns problems found later on the data (by
 * path) into located, sorted problems of the same file.
 */
export type YamlDocumentResult<T> =
  | { ok: true; data: T; warnings: Problem[]; locate: (problems: readonly RunbookProblem[]) => Problem[] }
  | { ok: false; problems: Problem[]; warnings: Problem[] };

/**
 * The YAML and schema stages of {@link parseRunbook} for any YAML file cutover reads (a runbook, a
 * reconciliation config): the same limits, the same located `file:line:column` problems, the same
 * wording of schema problems. Never throws.
 */
export function parseYamlDocument<T>(text: string, file: string, shape: YamlDocumentShape<T>): YamlDocumentResult<T> {
  const tooBig = sizeProblem(text, file);
  if (tooBig) return { ok: false, problems: [tooBig], warnings: [] };
  const source = new Source(text, file);
  if (source.tooDeep) return { ok: false, problems: [source.tooDeep], warnings: [] };
  const warnings = source.doc.warnings.map((warning) => source.yamlProblem(warning));

  const syntaxProblems = [...source.doc.errors.map((e) => source.yamlProblem(e)), ...source.duplicateKeys()];
  if (syntaxProblems.length > 0) return { ok: false, problems: sortProblems(syntaxProblems), warnings };
  const shapeProblems = source.nodeProblems();
  if (shapeProblems.length > 0) return { ok: false, problems: sortProblems(shapeProblems), warnings };
  // Aliases were checked above (known, not recursive, not a bomb), so yaml's own alias count,
  // which also refuses a file whose hundred steps share one `<<: *defaults`, is off.
  let data: unknown;
  try {
    data = source.doc.toJS({ maxAliasCount: -1 });
  } catch (error) {
    // Not expected after the checks above; should yaml find something else it cannot build,
    // the person still gets a located sentence rather than a stack trace.
    return { ok: false, problems: [source.at([], `invalid YAML: ${error instanceof Error ? error.message : String(error)}`)], warnings };
  }

  // Zod's own messages are replaced (see `describeIssue`); the marker tells them apart from the
  // messages the schema sets itself, which are kept.
  const parsed = shape.schema.safeParse(data, { error: () => DEFAULT_MESSAGE });
  if (!parsed.success) {
    const context: IssueContext = { root: shape.schema, expected: shape.expected };
    const findings = dropExplainedMissing(parsed.error.issues.flatMap((issue) => describeIssue(issue, [], data, context)));
    const problems = findings.map((finding) => source.at(finding.path, finding.message, finding.target));
    return { ok: false, problems: sortProblems(dedupe(problems)), warnings };
  }
  return { ok: true, data: parsed.data, warnings, locate: (problems) => sortProblems(locateProblems(source, problems)) };
}

/**
 * Locates problems found on a parsed runbook (such as `liveRunProblems`) in the file's text, for
 * messages in the same `file:line:column` form as {@link parseRunbook}'s.
 */
export function locateRunbookProblems(text: string, file: string, problems: readonly RunbookProblem[]): Problem[] {
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

/**
 * Limits that keep a hostile or broken file from taking the process down. A runbook nests
 * lists and mappings nine deep at most (`phases[0].steps[0].checks[0].expect.status[0]`) and holds a
 * few thousand steps at most; the limits are far beyond that and far below what would exhaust
 * the stack (yaml composes nested collections recursively) or the time of a `validate`.
 */
export const RUNBOOK_LIMITS = {
  /** Size of the file in bytes of UTF-8. */
  bytes: 5 * 1024 * 1024,
  /** Lists and mappings inside each other, counting those reached through aliases. */
  depth: 100,
  /** Values that aliases repeat, in total: an alias bomb repeats billions. */
  aliasedValues: 100_000,
} as const;

/** A file larger than {@link RUNBOOK_LIMITS}.bytes, refused before YAML reads it. */
function sizeProblem(text: string, file: string): Problem | undefined {
  // Most files are far below the limit in any encoding; count bytes only near it.
  if (text.length * 3 <= RUNBOOK_LIMITS.bytes) return undefined;
  const bytes = utf8Length(text);
  if (bytes <= RUNBOOK_LIMITS.bytes) return undefined;
  return {
    file,
    line: 1,
    column: 1,
    path: '',
    message: `this file is ${megabytes(bytes)}; the limit for a runbook is ${megabytes(RUNBOOK_LIMITS.bytes)}, so split the cutover into several runbooks or move data out of this file`,
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i += 1;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Line starts of a text, for offsets to `line:column`. Counted here from the text itself rather
 * than by yaml's LineCounter, which only hears of the line breaks its parser reports and, after
 * some syntax errors, misses a few (so a problem pointed past the end of a line).
 */
class LineIndex {
  private readonly starts: number[] = [0];
  /** A byte-order mark is invisible in editors, so columns on the first line do not count it. */
  private readonly bom: number;

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
    this.bom = text.startsWith('\uFEFF') ? 1 : 0;
  }

  /** 1-based line and column (in UTF-16 code units, like editors' columns) of `offset`. */
  position(offset: number): { line: number; column: number } {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.starts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    const skipped = low === 0 ? this.bom : 0;
    return { line: low + 1, column: Math.max(offset - this.starts[low]! - skipped, 0) + 1 };
  }
}

/** The YAML document of one file with its line index: turns paths into line and column. */
class Source {
  readonly doc: Document.Parsed;
  /** Set when the file nests deeper than {@link RUNBOOK_LIMITS}.depth; `doc` is then empty. */
  readonly tooDeep: Problem | undefined;
  private readonly lines: LineIndex;
  /** Pairs by key text, per mapping, so locating thousands of problems stays linear. */
  private readonly pairsByKey = new WeakMap<YAMLMap, Map<string, YAMLMap['items'][number]>>();

  constructor(
    readonly text: string,
    readonly file: string,
  ) {
    this.lines = new LineIndex(text);
    // The concrete syntax tree first: yaml builds it without recursion, so its depth can be
    // measured before composing it, which recurses once per level.
    const tokens = [...new Parser().parse(text)];
    const deepAt = tooDeepOffset(tokens);
    // prettyErrors off: the raw messages are reworded below, and positions come from `pos`.
    // merge: `<<: *defaults` is how people share settings between steps; without it the
    // `<<` key would be reported as an unknown field. uniqueKeys off: yaml compares each key
    // with every earlier one of its mapping, minutes for a mapping of 50,000 keys;
    // `duplicateKeys` does the same in one pass.
    const composer = new Composer({ prettyErrors: false, uniqueKeys: false, merge: true });
    if (deepAt !== undefined) {
      this.tooDeep = this.problem(deepAt, '', nestingMessage());
      this.doc = [...composer.compose([], true, 0)][0]!;
      return;
    }
    let doc: Document.Parsed | undefined;
    for (const next of composer.compose(tokens, true, text.length)) {
      if (!doc) doc = next;
      else {
        doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents'));
        break;
      }
    }
    // compose(..., forceDoc) always yields a document, even for an empty text.
    this.doc = doc!;
  }

  /** A problem at `path`: its value, the key of its last segment, or the nearest existing parent. */
  at(path: readonly PropertyKey[], message: string, target: 'value' | 'key' = 'value'): Problem {
    return this.problem(this.offsetOf(path, target), formatPath(path), message);
  }

  /**
   * What the YAML says that a runbook cannot be, before it becomes a value: aliases without an
   * anchor, aliases inside the node they repeat, too much repetition (an alias bomb), nesting
   * that aliases make too deep, and keys that are lists or mappings.
   */
  nodeProblems(): Problem[] {
    const problems: Problem[] = [];
    /** The node each anchor names at this point of the document (a later anchor replaces it). */
    const anchors = new Map<string, unknown>();
    /** Values in each finished node once its aliases are expanded, and its expanded depth. */
    const sizes = new Map<unknown, { values: number; depth: number }>();
    const open = new Set<unknown>();
    let aliased = 0;
    let refused = false;

    const measure = (node: unknown, path: PropertyKey[]): { values: number; depth: number } => {
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        const offset = rangeStart(node) ?? 0;
        if (target === undefined) {
          problems.push(
            this.problem(
              offset,
              formatPath(path),
              `unknown alias \`*${node.source}\`; define the anchor \`&${node.source}\` before this alias`,
            ),
          );
          return { values: 1, depth: 0 };
        }
        if (open.has(target)) {
          problems.push(
            this.problem(
              offset,
              formatPath(path),
              `alias \`*${node.source}\` is inside the node its anchor \`&${node.source}\` names, so that node would contain itself; repeat something else or write it out`,
            ),
          );
          return { values: 1, depth: 0 };
        }
        const size = sizes.get(target) ?? { values: 1, depth: 0 };
        aliased += size.values;
        if (aliased > RUNBOOK_LIMITS.aliasedValues && !refused) {
          refused = true;
          problems.push(
            this.problem(
              offset,
              formatPath(path),
              `the aliases in this file repeat more than ${RUNBOOK_LIMITS.aliasedValues.toLocaleString('en-US')} values (the limit), which a runbook never needs; ` +
                `an alias of an alias multiplies what it repeats, so write the repeated part out or repeat fewer times`,
            ),
          );
        }
        return size;
      }
      const anchor = (node as { anchor?: string } | null)?.anchor;
      if (anchor) anchors.set(anchor, node);
      let size = { values: 1, depth: 0 };
      if (isCollection(node)) {
        open.add(node);
        let values = 1;
        let depth = 0;
        node.items.forEach((item, i) => {
          if (isPair(item)) {
            const key = keyText(item.key);
            if (!isPlainKey(item.key, anchors)) {
              problems.push(
                this.problem(
                  rangeStart(item.key) ?? 0,
                  formatPath(path),
                  'a key must be plain text, not a list, a mapping or a tagged value such as !!binary; write the key as a word',
                ),
              );
            }
            const k = item.key === null ? { values: 0, depth: 0 } : measure(item.key, path);
            const v = measure(item.value, [...path, key]);
            if (isMergeKey(item.key) && !mergesMappings(item.value, anchors)) {
              problems.push(
                this.problem(
                  (isEmpty(item.value) ? undefined : rangeStart(item.value)) ?? rangeStart(item.key) ?? 0,
                  formatPath([...path, key]),
                  '`<<` merges mappings into this one, so its value must be a mapping, an alias of one (such as `<<: *defaults`) or a list of them',
                ),
              );
            }
            values += k.values + v.values;
            depth = Math.max(depth, k.depth, v.depth);
          } else {
            const v = measure(item, [...path, i]);
            values += v.values;
            depth = Math.max(depth, v.depth);
          }
        });
        open.delete(node);
        size = { values, depth: depth + 1 };
        if (size.depth > RUNBOOK_LIMITS.depth && !refused) {
          refused = true;
          problems.push(this.problem(rangeStart(node) ?? 0, formatPath(path), nestingMessage()));
        }
      }
      sizes.set(node, size);
      return size;
    };
    measure(this.doc.contents, []);
    return problems;
  }

  yamlProblem(error: YAMLError): Problem {
    return this.problem(error.pos[0], '', yamlMessage(error));
  }

  /** Keys that appear twice in one mapping (the same scalar value), at the later ones. */
  duplicateKeys(): Problem[] {
    const problems: Problem[] = [];
    const walk = (node: unknown, path: PropertyKey[]): void => {
      if (!isCollection(node)) return;
      const seen = new Set<unknown>();
      node.items.forEach((item, i) => {
        if (!isPair(item)) return walk(item, [...path, i]);
        const text = keyText(item.key);
        if (isScalar(item.key)) {
          if (seen.has(item.key.value)) {
            problems.push(
              this.problem(
                rangeStart(item.key) ?? 0,
                formatPath([...path, text]),
                `duplicate key \`${text}\`: it already appears in this mapping; keep one of them`,
              ),
            );
          }
          seen.add(item.key.value);
        }
        walk(item.value, [...path, text]);
      });
    };
    walk(this.doc.contents, []);
    return problems;
  }

  private problem(offset: number, path: string, message: string): Problem {
    const { line, column } = this.lines.position(offset);
    return { file: this.file, line, column, path, message };
  }

  /** The pair of `map` whose key reads `key`, the first one if several do. */
  private pairOf(map: YAMLMap, key: string): YAMLMap['items'][number] | undefined {
    let byKey = this.pairsByKey.get(map);
    if (!byKey) {
      byKey = new Map();
      for (const item of map.items) {
        const text = keyText(item.key);
        if (!byKey.has(text)) byKey.set(text, item);
      }
      this.pairsByKey.set(map, byKey);
    }
    return byKey.get(key);
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
        const pair = this.pairOf(node, String(segment));
        if (!pair) return offset;
        const keyOffset = rangeStart(pair.key) ?? offset;
        if (i === path.length - 1 && target === 'key') return keyOffset;
        const value = pair.value;
        offset = isEmpty(value) ? keyOffset : (rangeStart(value) ?? keyOffset);
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

/**
 * Whether a key is text, a number, true/false or empty. Anything else (a collection, or a
 * `!!binary` or `!!timestamp` scalar, whose value is an object) yaml can only turn into an
 * object key by writing it out, with a process warning on stderr.
 */
function isPlainKey(key: unknown, anchors: ReadonlyMap<string, unknown>): boolean {
  const node = isAlias(key) ? anchors.get(key.source) : key;
  if (isCollection(node)) return false;
  return !(isScalar(node) && node.value !== null && typeof node.value === 'object');
}

/** No value at all, as in `owner:`: people look for it at its key. */
function isEmpty(value: unknown): boolean {
  return value === null || (isScalar(value) && value.value === null && value.source === '');
}

/** A `<<` key (yaml makes its value a symbol when merge keys are on). */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === 'symbol';
}

/**
 * Whether a `<<` value is something yaml can merge: a mapping, an alias of one, or a list of
 * those (anything else makes yaml throw while building the value). Unknown aliases are
 * reported on their own, so they pass here.
 */
function mergesMappings(value: unknown, anchors: ReadonlyMap<string, unknown>): boolean {
  const resolve = (node: unknown): unknown => (isAlias(node) ? anchors.get(node.source) : node);
  const mapping = (node: unknown): boolean => {
    const resolved = resolve(node);
    return resolved === undefined || isMap(resolved);
  };
  const resolved = resolve(value);
  return isSeq(resolved) ? resolved.items.every(mapping) : mapping(value);
}

function nestingMessage(): string {
  return `lists and mappings are nested more than ${RUNBOOK_LIMITS.depth} levels deep here (the limit); a runbook needs fewer than ten, so look for unclosed brackets or runaway indentation`;
}

/**
 * Where the syntax tree first nests collections deeper than {@link RUNBOOK_LIMITS}.depth, or
 * undefined. Iterative, so the measuring cannot overflow the stack either.
 */
function tooDeepOffset(tokens: readonly CST.Token[]): number | undefined {
  // Pushed in reverse, so the first deep spot in the file is the one found.
  const stack: { token: CST.Token | null | undefined; depth: number }[] = tokens.map((token) => ({ token, depth: 0 })).reverse();
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (!token) continue;
    if (token.type === 'document') {
      stack.push({ token: token.value, depth });
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth + 1 > RUNBOOK_LIMITS.depth) return token.offset;
      for (const item of [...(token.items as CST.CollectionItem[])].reverse()) {
        stack.push({ token: item.value, depth: depth + 1 }, { token: item.key, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as { range?: readonly number[] | null }).range;
    if (range) return range[0];
  }
  return undefined;
}

/**
 * A key as paths show it. Never a list or mapping written out: yaml's text of a collection key
 * writes out the collection keys inside it too, which doubles at each level, so 45 unclosed
 * `[{` ran for minutes and then threw 'Invalid string length'. Such keys are refused anyway.
 */
function keyText(key: unknown): string {
  if (isSeq(key)) return '[...]';
  if (isMap(key)) return '{...}';
  if (isAlias(key)) return `*${key.source}`;
  if (!isScalar(key)) return String(key);
  // A merge key's value is a symbol; people wrote `<<`.
  return typeof key.value === 'symbol' ? (key.value.description ?? '<<') : String(key.value);
}

/** YAML errors in the house voice: what is wrong and what to do. */
function yamlMessage(error: YAMLError): string {
  switch (error.code) {
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
/** What describing an issue needs to know of the document type. */
interface IssueContext {
  root: Schema;
  expected: string;
}

function describeIssue(issue: Issue, base: readonly PropertyKey[], data: unknown, context: IssueContext): Finding[] {
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
