/**
 * A YAML text as cutover reads it: parsed once, with the limits that keep a hostile or broken file from taking the
 * process down, and every node's position, so a problem found by path is pointed at `line:column`. Pure.
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
import { formatPath, type Problem } from './problems.js';

/**
 * Limits that keep a hostile or broken file from taking the process down. A runbook nests
 * lists and mappings nine deep at most (`phases[0].steps[0].checks[0].expect.status[0]`) and holds a
 * few thousand steps at most; the limits are far beyond that and far below what would exhaust
 * the stack (yaml composes nested collections recursively) or the time of a `validate`.
 */
export const YAML_LIMITS = {
  /** Size of the file in bytes of UTF-8. */
  bytes: 5 * 1024 * 1024,
  /** Lists and mappings inside each other, counting those reached through aliases. */
  depth: 100,
  /** Values that aliases repeat, in total: an alias bomb repeats billions. */
  aliasedValues: 100_000,
} as const;

/** A file larger than {@link YAML_LIMITS}.bytes, refused before YAML reads it. */
export function sizeProblem(text: string, file: string): Problem | undefined {
  // Most files are far below the limit in any encoding; count bytes only near it.
  if (text.length * 3 <= YAML_LIMITS.bytes) return undefined;
  const bytes = utf8Length(text);
  if (bytes <= YAML_LIMITS.bytes) return undefined;
  return {
    file,
    line: 1,
    column: 1,
    path: '',
    message: `this file is ${megabytes(bytes)}; the limit for a runbook is ${megabytes(YAML_LIMITS.bytes)}, so split the cutover into several runbooks or move data out of this file`,
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
export class Source {
  readonly doc: Document.Parsed;
  /** Set when the file nests deeper than {@link YAML_LIMITS}.depth; `doc` is then empty. */
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
        if (aliased > YAML_LIMITS.aliasedValues && !refused) {
          refused = true;
          problems.push(
            this.problem(
              offset,
              formatPath(path),
              `the aliases in this file repeat more than ${YAML_LIMITS.aliasedValues.toLocaleString('en-US')} values (the limit), which a runbook never needs; ` +
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
        if (size.depth > YAML_LIMITS.depth && !refused) {
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
  return `lists and mappings are nested more than ${YAML_LIMITS.depth} levels deep here (the limit); a runbook needs fewer than ten, so look for unclosed brackets or runaway indentation`;
}

/**
 * Where the syntax tree first nests collections deeper than {@link YAML_LIMITS}.depth, or
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
      if (depth + 1 > YAML_LIMITS.depth) return token.offset;
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
