/**
 * The comparison itself: two streams of rows in key order, merged like a sorted merge join, so
 * memory holds a batch per side whatever the size of the tables. Pure (async iterables in,
 * counts out); `reconcile.ts` wires it to real sides.
 *
 * Rows are arrays: the key parts first, then the compared columns in the same order on both
 * sides. `prepareRows` turns what a side delivers into canonical keys, sets aside rows with an
 * empty key part, checks the order and applies a sample; `mergeRows` pairs the keys up.
 */
import type { KeyType } from './config.js';
import { ValueReadError, jsonValue, showValue, type ValueComparer } from './compare-values.js';
import { DataError, OrderError, ReconcileCancelledError } from './errors.js';
import { canonicalKeyPart, compareKeys, keyObject } from './keys.js';
import type { DifferenceExample, JsonScalar, KeyExample } from './result.js';

type Row = unknown[];
type Role = 'source' | 'target';

/** What {@link prepareRows} needs to know of a side. */
export interface PrepareOptions {
  role: Role;
  label: string;
  keyTypes: readonly KeyType[];
  /** The side's own key column names, for messages. */
  keyColumns: readonly string[];
  /** Keep only rows this accepts (a sample decided by the key alone). */
  keep?: ((row: Row) => boolean) | undefined;
  /** Rows delivered by the side so far (before sampling or empty keys). */
  onRows?: ((rows: number) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** Receives the rows with an empty key part. */
  onNullKey: (row: Row) => void;
}

/** Canonical, ordered, non-empty keys; throws {@link DataError}, {@link OrderError}, {@link ReconcileCancelledError}. */
export async function* prepareRows(batches: AsyncIterable<Row[]>, o: PrepareOptions): AsyncIterable<Row[]> {
  const parts = o.keyTypes.length;
  let read = 0;
  let previous: Row | undefined;
  for await (const batch of batches) {
    if (o.signal?.aborted) throw new ReconcileCancelledError();
    read += batch.length;
    let out = 0;
    for (let r = 0; r < batch.length; r += 1) {
      const row = batch[r]!;
      let empty = false;
      for (let i = 0; i < parts; i += 1) {
        const v = row[i];
        const type = o.keyTypes[i]!;
        // Fast path: the value already is what the key type wants.
        if (type === 'integer' ? typeof v === 'number' && Number.isSafeInteger(v) : typeof v === 'string' && v !== '') continue;
        const key = canonicalKeyPart(v, type);
        if (key === null) {
          empty = true;
          continue;
        }
        if (key === undefined) {
          throw new DataError(
            o.role,
            `${o.label} holds ${showValue(v)} in key column \`${o.keyColumns[i]}\`, which is not ${type === 'integer' ? 'an integer' : 'text'} as the key declares; declare the key as text or fix the row`,
            o.keyColumns[i],
          );
        }
        row[i] = key;
      }
      if (empty) {
        o.onNullKey(row);
        continue;
      }
      if (previous !== undefined && compareKeys(previous, row, parts) > 0) {
        throw new OrderError(
          o.role,
          `${o.label} returned key ${showKey(row, o.keyColumns)} after ${showKey(previous, o.keyColumns)}: its order and cutover's disagree (a bug in cutover; please report it with the key types)`,
        );
      }
      previous = row;
      if (o.keep && !o.keep(row)) continue;
      batch[out++] = row;
    }
    batch.length = out;
    o.onRows?.(read);
    if (out > 0) yield batch;
  }
  o.onRows?.(read);
}

function showKey(row: Row, names: readonly string[]): string {
  return names.map((n, i) => `${n}=${showValue(row[i])}`).join(', ');
}

/** One compared column: its names and how its values compare. */
export interface MergeColumn {
  source: string;
  target: string;
  equal: ValueComparer;
}

/** What {@link mergeRows} compares and reports. */
export interface MergeOptions {
  keyNames: readonly string[];
  columns: readonly MergeColumn[];
  labels: { source: string; target: string };
  examples: number;
  /** A sample decided at merge time (stratified): whether a key with this row (its side's) is in it. */
  pick?: ((row: Row, role: Role) => boolean) | undefined;
}

/** What {@link mergeRows} found. */
export interface MergeCounts {
  matched: number;
  missing_in_target: number;
  extra_in_target: number;
  mismatched: number;
  duplicate_keys: { source: number; target: number };
  columnMismatches: number[];
  examples: DifferenceExample[];
  keyExamples: KeyExample[];
}

/** A side's batches, read ahead one batch at a time. */
class Cursor {
  batch: Row[] = [];
  i = 0;
  done = false;
  constructor(private readonly it: AsyncIterator<Row[]>) {}

  /** Loads the next non-empty batch; false at the end. */
  async load(): Promise<boolean> {
    for (;;) {
      const next = await this.it.next();
      if (next.done) {
        this.done = true;
        this.batch = [];
        this.i = 0;
        return false;
      }
      if (next.value.length > 0) {
        this.batch = next.value;
        this.i = 0;
        return true;
      }
    }
  }
}

/**
 * Moves `c` past the rows with the key of `row` (the one at `c.i`) and says how many there were.
 * A number when that needed no new batch (nearly always), a promise otherwise.
 */
function skipGroup(c: Cursor, row: Row, parts: number): number | Promise<number> {
  c.i += 1;
  if (c.i < c.batch.length && compareKeys(c.batch[c.i]!, row, parts) !== 0) return 1;
  return (async () => {
    let n = 1;
    for (;;) {
      if (c.i >= c.batch.length && !(await c.load())) return n;
      if (compareKeys(c.batch[c.i]!, row, parts) !== 0) return n;
      n += 1;
      c.i += 1;
    }
  })();
}

/** Pairs up the keys of two prepared streams and compares the values of each pair. */
export async function mergeRows(source: AsyncIterable<Row[]>, target: AsyncIterable<Row[]>, o: MergeOptions): Promise<MergeCounts> {
  const parts = o.keyNames.length;
  const columns = o.columns;
  const width = columns.length;
  const counts: MergeCounts = {
    matched: 0,
    missing_in_target: 0,
    extra_in_target: 0,
    mismatched: 0,
    duplicate_keys: { source: 0, target: 0 },
    columnMismatches: columns.map(() => 0),
    examples: [],
    keyExamples: [],
  };
  const a = new Cursor(source[Symbol.asyncIterator]());
  const b = new Cursor(target[Symbol.asyncIterator]());
  const differing: number[] = [];
  const key = (row: Row): Record<string, JsonScalar> => {
    const k = keyObject(row, o.keyNames);
    for (const n of Object.keys(k)) k[n] = jsonValue(k[n]);
    return k as Record<string, JsonScalar>;
  };
  const values = (row: Row, which: 'source' | 'target', only?: readonly number[]): Record<string, JsonScalar> => {
    const out: Record<string, JsonScalar> = {};
    for (const j of only ?? columns.map((_, j) => j)) out[columns[j]![which]] = jsonValue(row[parts + j]);
    return out;
  };
  const duplicate = (row: Row, role: Role, rows: number): void => {
    counts.duplicate_keys[role] += 1;
    if (counts.keyExamples.length < o.examples) counts.keyExamples.push({ kind: 'duplicate_key', side: role, key: key(row), rows });
  };

  try {
    for (;;) {
      if (a.i >= a.batch.length && !a.done) await a.load();
      if (b.i >= b.batch.length && !b.done) await b.load();
      const ra = a.i < a.batch.length ? a.batch[a.i] : undefined;
      const rb = b.i < b.batch.length ? b.batch[b.i] : undefined;
      if (ra === undefined && rb === undefined) break;
      const c = ra === undefined ? 1 : rb === undefined ? -1 : compareKeys(ra, rb, parts);

      if (c < 0) {
        let n = skipGroup(a, ra!, parts);
        if (typeof n !== 'number') n = await n;
        if (o.pick && !o.pick(ra!, 'source')) continue;
        if (n > 1) duplicate(ra!, 'source', n);
        counts.missing_in_target += 1;
        if (counts.examples.length < o.examples) {
          counts.examples.push({
            kind: 'missing_in_target',
            key: key(ra!),
            columns: columns.map((col) => col.target),
            source: values(ra!, 'source'),
            target: null,
          });
        }
        continue;
      }
      if (c > 0) {
        let n = skipGroup(b, rb!, parts);
        if (typeof n !== 'number') n = await n;
        if (o.pick && !o.pick(rb!, 'target')) continue;
        if (n > 1) duplicate(rb!, 'target', n);
        counts.extra_in_target += 1;
        if (counts.examples.length < o.examples) {
          counts.examples.push({
            kind: 'extra_in_target',
            key: key(rb!),
            columns: columns.map((col) => col.target),
            source: null,
            target: values(rb!, 'target'),
          });
        }
        continue;
      }

      let na = skipGroup(a, ra!, parts);
      if (typeof na !== 'number') na = await na;
      let nb = skipGroup(b, rb!, parts);
      if (typeof nb !== 'number') nb = await nb;
      if (o.pick && !o.pick(ra!, 'source')) continue;
      if (na > 1 || nb > 1) {
        // Which row of one side pairs with which of the other is unknowable: report, do not guess.
        if (na > 1) duplicate(ra!, 'source', na);
        if (nb > 1) duplicate(rb!, 'target', nb);
        continue;
      }
      differing.length = 0;
      for (let j = 0; j < width; j += 1) {
        const x = ra![parts + j];
        const y = rb![parts + j];
        if (x === y) continue;
        let equal: boolean;
        try {
          equal = columns[j]!.equal(x, y);
        } catch (err) {
          if (!(err instanceof ValueReadError)) throw err;
          const row = err.side === 'source' ? ra! : rb!;
          const column = columns[j]![err.side];
          throw new DataError(
            err.side,
            `${o.labels[err.side]}, row ${showKey(row, o.keyNames)}: column \`${column}\` holds ${showValue(err.value)}, which cannot be read as ${err.expected}; fix the value or change how \`columns.${columns[j]!.source}\` compares`,
            column,
          );
        }
        if (!equal) {
          counts.columnMismatches[j]! += 1;
          differing.push(j);
        }
      }
      if (differing.length === 0) {
        counts.matched += 1;
      } else {
        counts.mismatched += 1;
        if (counts.examples.length < o.examples) {
          counts.examples.push({
            kind: 'mismatched',
            key: key(ra!),
            columns: differing.map((j) => columns[j]!.target),
            source: values(ra!, 'source', differing),
            target: values(rb!, 'target', differing),
          });
        }
      }
    }
  } finally {
    // Stops reading a side that still has rows (after an error): its statement or cursor closes.
    await Promise.all([source, target].map((s) => (s as AsyncGenerator<Row[]>).return?.(undefined)));
  }
  return counts;
}
