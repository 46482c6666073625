/**
 * The result of a reconciliation, plain JSON (it may travel in a Temporal payload or be stored),
 * and the limits that make it pass or fail, in words. Pure.
 */
import type { LimitsSpec } from './config.js';

/** A value as results carry it. */
export type JsonScalar = string | number | boolean | null;

/** One differing row, with both sides' values. */
export interface DifferenceExample {
  kind: 'mismatched' | 'missing_in_target' | 'extra_in_target';
  /** Key column (source name) -> value. */
  key: Record<string, JsonScalar>;
  /** Target names of the columns that differ (mismatched), or of every compared column. */
  columns: string[];
  /** Source values of those columns (source names); null for a row missing on that side. */
  source: Record<string, JsonScalar> | null;
  /** Target values of those columns (target names). */
  target: Record<string, JsonScalar> | null;
}

/** A key that could not be compared: duplicated, or with an empty part. */
export interface KeyExample {
  kind: 'duplicate_key' | 'null_key';
  side: 'source' | 'target';
  key: Record<string, JsonScalar>;
  /** Rows holding this key (duplicates). */
  rows?: number;
}

/** Everything a reconciliation found. Counts are of keys (a row is one key). */
export interface ReconcileResult {
  /** Keys on both sides whose compared values are all equal. */
  matched: number;
  /** Keys in the source, not in the target. */
  missing_in_target: number;
  /** Keys in the target, not in the source. */
  extra_in_target: number;
  /** Keys on both sides with at least one differing value. */
  mismatched: number;
  /** Keys held by more than one row, per side; their rows are not compared. */
  duplicate_keys: { source: number; target: number };
  /** Rows with an empty (NULL) key part, per side; never compared. */
  null_keys: { source: number; target: number };
  /** Per compared column: mismatching keys. */
  columns: { source: string; target: string; mismatched: number }[];
  /** The first differing rows, in key order. */
  examples: DifferenceExample[];
  /** The first duplicate and empty keys. */
  key_examples: KeyExample[];
  /** Rows each side delivered (after sampling in SQL, when it could be). */
  rows_read: { source: number; target: number };
  /** Whether only a sample of the keys was compared. */
  sampled: boolean;
  sample: { method: 'rows' | 'percent'; size: number; seed: number | string; stratify_by?: string; strata?: number } | null;
  /** Target columns that no source column compares with and `ignore` does not name. */
  target_columns_not_compared: string[];
  within_limits: boolean;
  /** One sentence per limit exceeded. */
  limit_violations: string[];
  /** Wall time of the reconciliation. */
  seconds: number;
}

/** The counts the limits judge. */
export type LimitedCounts = Pick<
  ReconcileResult,
  'matched' | 'missing_in_target' | 'extra_in_target' | 'mismatched' | 'duplicate_keys' | 'null_keys'
>;

const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** The limits `counts` exceed, each as a sentence (empty: within limits). */
export function limitViolations(counts: LimitedCounts, limits: LimitsSpec): string[] {
  const out: string[] = [];
  if (counts.missing_in_target > limits.max_missing) {
    out.push(`${plural(counts.missing_in_target, 'key')} missing in the target (limit ${limits.max_missing})`);
  }
  if (counts.extra_in_target > limits.max_extra) {
    out.push(`${plural(counts.extra_in_target, 'key')} only in the target (limit ${limits.max_extra})`);
  }
  if (counts.mismatched > limits.max_mismatched) {
    out.push(`${plural(counts.mismatched, 'row')} with differing values (limit ${limits.max_mismatched})`);
  }
  if (limits.max_mismatch_rate !== undefined) {
    const compared = counts.matched + counts.mismatched;
    const rate = compared === 0 ? 0 : counts.mismatched / compared;
    if (rate > limits.max_mismatch_rate) {
      out.push(`mismatch rate ${percent(rate)} of ${plural(compared, 'compared row')} (limit ${percent(limits.max_mismatch_rate)})`);
    }
  }
  const duplicates = counts.duplicate_keys.source + counts.duplicate_keys.target;
  if (duplicates > limits.max_duplicate_keys) {
    out.push(
      `${plural(duplicates, 'duplicate key')} (source ${counts.duplicate_keys.source}, target ${counts.duplicate_keys.target}; limit ${limits.max_duplicate_keys})`,
    );
  }
  const nulls = counts.null_keys.source + counts.null_keys.target;
  if (nulls > limits.max_null_keys) {
    out.push(
      `${plural(nulls, 'row')} with an empty key (source ${counts.null_keys.source}, target ${counts.null_keys.target}; limit ${limits.max_null_keys})`,
    );
  }
  return out;
}

function percent(rate: number): string {
  return `${Number((rate * 100).toPrecision(3))}%`;
}

/**
 * What a `reconcile` action or check found, as the run state carries it: the counts and the verdict,
 * in the field names of `cutover reconcile --json`. The differing rows stay in the record store
 * (`cutover reconcile-report`), so a large comparison never makes a large payload.
 */
export type ReconcileSummary = Pick<
  ReconcileResult,
  | 'matched'
  | 'missing_in_target'
  | 'extra_in_target'
  | 'mismatched'
  | 'duplicate_keys'
  | 'null_keys'
  | 'rows_read'
  | 'sampled'
  | 'within_limits'
  | 'limit_violations'
  | 'seconds'
> & {
  /** Rounds compared so far by a check that repeats during hypercare (`repeat`); absent for one comparison. */
  round?: number;
  /** Change in differing keys (missing + extra + mismatched) since the previous round. */
  drift?: number;
};
