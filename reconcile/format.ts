/**
 * A reconciliation result as plain text lines for people: counts, the per-column table,
 * examples, and the verdict. Pure, so `cutover reconcile`, `status` and reports can share it.
 */
import type { ReconcileSummary } from './result.js';
import type { DifferenceExample, JsonScalar, ReconcileResult } from './result.js';

/** A count as people read it: 1,234,567. */
export const formatCount = (x: number): string => x.toLocaleString('en-US');
const n = formatCount;

function show(value: JsonScalar | undefined): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

function showKey(key: Record<string, JsonScalar>): string {
  return Object.entries(key)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(', ');
}

function example(e: DifferenceExample): string {
  const key = showKey(e.key);
  if (e.kind === 'missing_in_target') return `  missing in target  ${key}`;
  if (e.kind === 'extra_in_target') return `  extra in target    ${key}`;
  const diffs = e.columns.map((c, i) => {
    const sourceName = Object.keys(e.source ?? {})[i] ?? c;
    return `${c}: ${show(e.source?.[sourceName])} -> ${show(e.target?.[c])}`;
  });
  return `  mismatched         ${key}  ${diffs.join('; ')}`;
}

/** The first `max` differences as lines (`mismatched  id=70  country: "FR" -> "XX"`), and how many more there are. */
export function formatDifferences(result: ReconcileResult, max: number): string[] {
  const lines = result.examples.slice(0, max).map((e) => example(e).trimStart());
  const total = result.missing_in_target + result.extra_in_target + result.mismatched;
  if (total > lines.length) lines.push(`... ${n(total - lines.length)} more differing keys`);
  return lines;
}

/** The result as lines, with the sides' labels. */
export function formatResult(result: ReconcileResult, sides: { source: string; target: string }): string[] {
  const lines: string[] = [];
  lines.push(`source: ${sides.source}`);
  lines.push(`target: ${sides.target}`);
  if (result.sample) {
    const s = result.sample;
    lines.push(
      `sample: ${s.method === 'percent' ? `${s.size}% of the keys` : `${n(s.size)} keys`}, seed ${s.seed}${s.stratify_by ? `, stratified by ${s.stratify_by} (${n(s.strata ?? 0)} strata)` : ''}`,
    );
  }
  lines.push('');
  const rows: [string, string][] = [
    ['matched', n(result.matched)],
    ['missing in target', n(result.missing_in_target)],
    ['extra in target', n(result.extra_in_target)],
    ['mismatched', n(result.mismatched)],
    ['duplicate keys', `${n(result.duplicate_keys.source)} source, ${n(result.duplicate_keys.target)} target`],
    ['empty keys', `${n(result.null_keys.source)} source, ${n(result.null_keys.target)} target`],
    ['rows read', `${n(result.rows_read.source)} source, ${n(result.rows_read.target)} target, in ${result.seconds} s`],
  ];
  for (const [label, value] of rows) lines.push(`${label.padEnd(18)} ${value}`);

  if (result.columns.length > 0) {
    lines.push('');
    const width = Math.max(6, ...result.columns.map((c) => c.source.length));
    const twidth = Math.max(6, ...result.columns.map((c) => c.target.length));
    lines.push(`${'column'.padEnd(width)}  ${'target'.padEnd(twidth)}  mismatched`);
    for (const c of result.columns) lines.push(`${c.source.padEnd(width)}  ${c.target.padEnd(twidth)}  ${n(c.mismatched).padStart(10)}`);
  }
  if (result.target_columns_not_compared.length > 0) {
    lines.push(`target columns not compared: ${result.target_columns_not_compared.join(', ')}`);
  }
  if (result.examples.length > 0) {
    lines.push('');
    lines.push(`first ${result.examples.length} differences:`);
    for (const e of result.examples) lines.push(example(e));
  }
  if (result.key_examples.length > 0) {
    lines.push('');
    lines.push('keys not compared:');
    for (const e of result.key_examples) {
      lines.push(`  ${e.kind === 'duplicate_key' ? `duplicate key (${e.rows} rows)` : 'empty key'} in the ${e.side}: ${showKey(e.key)}`);
    }
  }
  lines.push('');
  lines.push(result.within_limits ? 'within limits' : `outside limits: ${result.limit_violations.join('; ')}`);
  return lines;
}

/** The counts in one line: `1,498 matched, 2 differ, 0 missing in the target, 1 only in the target (sample)`. */
export function describeCounts(
  s: Pick<ReconcileSummary, 'matched' | 'mismatched' | 'missing_in_target' | 'extra_in_target' | 'sampled'>,
): string {
  const keys = [
    `${n(s.matched)} matched`,
    `${n(s.mismatched)} differ`,
    `${n(s.missing_in_target)} missing in the target`,
    `${n(s.extra_in_target)} only in the target`,
  ];
  return `${keys.join(', ')}${s.sampled ? ' (sample)' : ''}`;
}

/** A run state's summary in one line: the counts, the round and drift of a repeating check, and the verdict. */
export function describeSummary(s: ReconcileSummary): string {
  const round = s.round === undefined ? '' : `round ${s.round}${s.drift === undefined ? '' : `, ${describeDrift(s.drift)}`}: `;
  return `${round}${describeCounts(s)}; ${describeVerdict(s)}`;
}

/** `within limits`, or `outside limits: ` and which. */
export function describeVerdict(s: Pick<ReconcileSummary, 'within_limits' | 'limit_violations'>): string {
  return s.within_limits ? 'within limits' : `outside limits: ${s.limit_violations.join('; ')}`;
}

/** A repeating check's change in differing rows since its previous round: `drift +12`. */
export function describeDrift(drift: number): string {
  return `drift ${drift >= 0 ? '+' : ''}${n(drift)}`;
}
