/**
 * `reconcile(config, options)`: opens both sides, works out which columns compare with which,
 * decides the sample, streams both sides in key order through the merge and returns the result.
 * The standalone command calls it; an activity can too (progress for heartbeats, a signal to
 * stop: a stopped reconciliation throws, it never returns a partial result as complete).
 */
import path from 'node:path';
import { keyColumns, type ReconcileConfig, type SourceSpec } from './config.js';
import { compileComparer, jsonValue } from './compare-values.js';
import { OrderError, ReconcileCancelledError, SourceError } from './errors.js';
import { keyObject } from './keys.js';
import { mergeRows, prepareRows, type MergeColumn } from './merge.js';
import { limitViolations, type JsonScalar, type KeyExample, type ReconcileResult } from './result.js';
import { hashParams, keyHasher, percentThreshold, PRIME, SmallestN } from './sample.js';
import { openCsvSide } from './sides/csv.js';
import { openCsvStreamSide } from './sides/csv-stream.js';
import { openPostgresSide, resolveEnvRefs } from './sides/postgres.js';
import type { ReadPlan, Side } from './sides/side.js';
import { openSqliteSide } from './sides/sqlite.js';

/** Rows read so far, per side. */
export interface ReconcileProgress {
  /** loading: a CSV file into its sort file; sampling: choosing the sample; comparing: the merge. */
  phase: 'loading' | 'sampling' | 'comparing';
  rows_read: { source: number; target: number };
}

export interface ReconcileOptions {
  /** Relative paths in the config are relative to this folder (the config file's). Default: the working directory. */
  baseDir?: string;
  /** Where `${env:NAME}` references are looked up. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Called after every batch (a few thousand rows); cheap, so an activity may heartbeat from it. */
  onProgress?: (progress: ReconcileProgress) => void;
  /** Stops the reconciliation: it then throws {@link ReconcileCancelledError}. */
  signal?: AbortSignal;
  /** Folder for temporary sort files (CSV sides). */
  tempDir?: string;
  /** The longest one statement may run on a PostgreSQL side (default: an hour): the comparison's own timeout. */
  statementTimeoutMs?: number;
  /** Rows per batch (default 5,000). */
  batchSize?: number;
}

/** Most distinct values a `stratify_by` column may have: each needs its own threshold in memory. */
export const MAX_STRATA = 10_000;

type Role = 'source' | 'target';

/** Runs one reconciliation; throws SourceError, DataError, OrderError or ReconcileCancelledError. */
export async function reconcile(config: ReconcileConfig, options: ReconcileOptions = {}): Promise<ReconcileResult> {
  const started = performance.now();
  // A CSV file is first read as it lies, in case it is in key order already (exports usually
  // are); a sample that needs a first pass over the source reads it twice, so it sorts at once.
  const onePass = config.sample === 'full' || !('rows' in config.sample || config.sample.stratify_by !== undefined);
  const csv = (['source', 'target'] as const).filter((role) => config[role].driver === 'csv');
  if (onePass && csv.length > 0) {
    try {
      return await run(config, options, started, true);
    } catch (err) {
      // Out of order: start again, sorting the CSV file(s) first.
      if (!(err instanceof OrderError) || !csv.includes(err.side)) throw err;
    }
  }
  return run(config, options, started, false);
}

async function run(config: ReconcileConfig, options: ReconcileOptions, started: number, csvAsItLies: boolean): Promise<ReconcileResult> {
  const baseDir = options.baseDir ?? process.cwd();
  const env = options.env ?? process.env;
  const batchSize = options.batchSize ?? 5000;
  const rowsRead = { source: 0, target: 0 };
  let phase: ReconcileProgress['phase'] = 'loading';
  const report = (): void => options.onProgress?.({ phase, rows_read: { ...rowsRead } });
  const opened: Side[] = [];
  try {
    if (options.signal?.aborted) throw new ReconcileCancelledError();
    const open = async (role: Role): Promise<Side> => {
      const side = await openSide(config, role, baseDir, env, options, csvAsItLies, (rows) => {
        rowsRead[role] = rows;
        report();
      });
      opened.push(side);
      return side;
    };
    const source = await open('source');
    const target = await open('target');
    const sides = { source, target };

    // Which column compares with which.
    const { keys, keyNames, compared, columns, targetName, sourceColumns, targetColumns, usedTarget } = await matchColumns(
      config,
      source,
      target,
    );
    const planFor = (role: Role): ReadPlan => ({
      keys: keys.map((k) => ({ column: role === 'source' ? k.column : targetName(k.column), type: k.type })),
      columns: role === 'source' ? compared : compared.map(targetName),
      batchSize,
    });

    // Rows with an empty key part: counted and shown, never compared.
    const nullKeys = { source: 0, target: 0 };
    const keyExamples: KeyExample[] = [];
    const onNullKey = (role: Role) => (row: unknown[]) => {
      nullKeys[role] += 1;
      if (keyExamples.length < config.examples) {
        const key = keyObject(row, keyNames);
        for (const n of Object.keys(key)) key[n] = jsonValue(key[n]);
        keyExamples.push({ kind: 'null_key', side: role, key: key as Record<string, JsonScalar> });
      }
    };
    const keyTypes = keys.map((k) => k.type);
    const prepared = (role: Role, plan: ReadPlan, keep?: (row: unknown[]) => boolean, nulls?: (row: unknown[]) => void) =>
      prepareRows(sides[role].read(plan), {
        role,
        label: sides[role].label,
        keyTypes,
        keyColumns: plan.keys.map((k) => k.column),
        keep,
        onRows: (rows) => {
          rowsRead[role] = rows;
          report();
        },
        signal: options.signal,
        onNullKey: nulls ?? (() => {}),
      });

    // The sample.
    let sampling: Sampling = { sampleInfo: null };
    if (config.sample !== 'full') {
      phase = 'sampling';
      sampling = await chooseSample(config.sample, { source, keys, keyNames, compared, sourceColumns, planFor, prepared });
    }
    const { keep, pick, pushDown, sampleInfo } = sampling;

    phase = 'comparing';
    rowsRead.source = 0;
    rowsRead.target = 0;
    const stream = (role: Role) => {
      const plan = planFor(role);
      // Hashed in SQL (the same function as `keep`, see sample.ts): only the sample arrives.
      if (pushDown && sides[role].samplesInSql) {
        plan.sample = pushDown;
        return prepared(role, plan, undefined, onNullKey(role));
      }
      return prepared(role, plan, keep, onNullKey(role));
    };
    const counts = await mergeRows(stream('source'), stream('target'), {
      keyNames,
      columns,
      labels: { source: source.label, target: target.label },
      examples: config.examples,
      pick,
    });
    report();

    const result: ReconcileResult = {
      matched: counts.matched,
      missing_in_target: counts.missing_in_target,
      extra_in_target: counts.extra_in_target,
      mismatched: counts.mismatched,
      duplicate_keys: counts.duplicate_keys,
      null_keys: nullKeys,
      columns: columns.map((c, j) => ({ source: c.source, target: c.target, mismatched: counts.columnMismatches[j]! })),
      examples: counts.examples,
      key_examples: [...keyExamples, ...counts.keyExamples].slice(0, config.examples),
      rows_read: { ...rowsRead },
      sampled: config.sample !== 'full',
      sample: sampleInfo,
      target_columns_not_compared: targetColumns.filter((c) => !usedTarget.has(c)),
      within_limits: true,
      limit_violations: [],
      seconds: 0,
    };
    result.limit_violations = limitViolations(result, config.limits);
    result.within_limits = result.limit_violations.length === 0;
    result.seconds = Number(((performance.now() - started) / 1000).toFixed(3));
    return result;
  } finally {
    await Promise.all(opened.map((s) => s.close()));
  }
}

/** The key and the columns compared, each source column with its target column and how it compares. */
async function matchColumns(config: ReconcileConfig, source: Side, target: Side) {
  const keys = keyColumns(config);
  const targetName = (column: string): string => config.columns[column]?.target ?? column;
  const sourceColumns = (await source.columns()).map((c) => c.name);
  const targetColumns = (await target.columns()).map((c) => c.name);
  const has = { source: new Set(sourceColumns), target: new Set(targetColumns) };
  for (const k of keys) {
    if (!has.source.has(k.column)) throw noColumn(source, k.column, 'key column', sourceColumns);
    if (!has.target.has(targetName(k.column)))
      throw noColumn(target, targetName(k.column), `key column (source \`${k.column}\`)`, targetColumns);
  }
  for (const column of [...Object.keys(config.columns), ...config.ignore]) {
    if (!has.source.has(column))
      throw noColumn(
        source,
        column,
        config.ignore.includes(column) ? 'column named in `ignore`' : 'column named under `columns`',
        sourceColumns,
      );
  }
  const keyNames = keys.map((k) => k.column);
  const skip = new Set([...keyNames, ...config.ignore]);
  const compared = sourceColumns.filter((c) => !skip.has(c));
  for (const c of compared) {
    if (!has.target.has(targetName(c))) {
      throw new SourceError(
        'target',
        `${target.label} has no column \`${targetName(c)}\` to compare with source column \`${c}\`; map it with \`columns.${c}.target\` or add \`${c}\` to \`ignore\``,
      );
    }
  }
  const columns: MergeColumn[] = compared.map((c) => ({ source: c, target: targetName(c), equal: compileComparer(config.columns[c]) }));
  // An ignored column is ignored on both sides, under its target name too.
  const usedTarget = new Set([...keyNames, ...compared, ...config.ignore].map(targetName));
  return { keys, keyNames, compared, columns, targetName, sourceColumns, targetColumns, usedTarget };
}

/** How a comparison samples: which rows it keeps, where the merge picks, what is pushed down into SQL. */
interface Sampling {
  keep?: (row: unknown[]) => boolean;
  pick?: (row: unknown[], role: Role) => boolean;
  pushDown?: ReadPlan['sample'];
  sampleInfo: ReconcileResult['sample'];
}

/** What choosing a sample reads: the source side, the key and the columns, and how to read prepared rows. */
interface SampleContext {
  source: Side;
  keys: ReturnType<typeof keyColumns>;
  keyNames: string[];
  compared: string[];
  sourceColumns: string[];
  planFor: (role: Role) => ReadPlan;
  prepared: (role: Role, plan: ReadPlan) => AsyncIterable<unknown[][]>;
}

/**
 * The keys of the sample: a share of the key hashes (percent), the N lowest hashes of the source (rows), or either per
 * stratum of a column, every stratum keeping its share and at least one key. The same keys in every rehearsal.
 */
async function chooseSample(sample: Exclude<ReconcileConfig['sample'], 'full'>, ctx: SampleContext): Promise<Sampling> {
  const { source, keys, keyNames, compared, sourceColumns, planFor, prepared } = ctx;
  let keep: Sampling['keep'];
  let pick: Sampling['pick'];
  let pushDown: Sampling['pushDown'];
  const params = hashParams(sample.seed);
  const hash = keyHasher(
    keys.map((k) => k.type),
    params,
  );
  const size = 'rows' in sample ? sample.rows : sample.percent;
  const sampleInfo: NonNullable<ReconcileResult['sample']> = { method: 'rows' in sample ? 'rows' : 'percent', size, seed: sample.seed };
  if (sample.stratify_by === undefined) {
    let threshold: number;
    if ('percent' in sample) threshold = percentThreshold(sample.percent);
    else {
      // The N keys of the source with the lowest hashes; the target is then cut at the same hash.
      const lowest = new SmallestN(sample.rows);
      for await (const batch of prepared('source', { ...planFor('source'), columns: [] })) for (const row of batch) lowest.add(hash(row));
      threshold = lowest.count < sample.rows ? PRIME : lowest.max() + 1;
    }
    keep = (row) => hash(row) < threshold;
    if (keys.length === 1 && keys[0]!.type === 'integer') pushDown = { params, threshold };
  } else {
    const stratify = sample.stratify_by;
    sampleInfo.stratify_by = stratify;
    const keyIndex = keyNames.indexOf(stratify);
    const index = keyIndex >= 0 ? keyIndex : keys.length + compared.indexOf(stratify);
    if (keyIndex < 0 && compared.indexOf(stratify) < 0)
      throw noColumn(source, stratify, 'column named in `sample.stratify_by`', sourceColumns);
    const stratumOf = (row: unknown[]): string => (row[index] === null || row[index] === undefined ? '\u0000' : String(row[index]));
    const perStratum = new Map<string, { rows: number; lowest: SmallestN }>();
    let total = 0;
    const plan = keyIndex >= 0 ? { ...planFor('source'), columns: [] } : { ...planFor('source'), columns: compared };
    for await (const batch of prepared('source', plan)) {
      for (const row of batch) {
        const s = stratumOf(row);
        let entry = perStratum.get(s);
        if (!entry) {
          if (perStratum.size >= MAX_STRATA) {
            throw new SourceError(
              'source',
              `${source.label}: \`sample.stratify_by\` column \`${stratify}\` has more than ${MAX_STRATA.toLocaleString('en-US')} distinct values; stratify by a coarser column`,
            );
          }
          entry = { rows: 0, lowest: new SmallestN('rows' in sample ? sample.rows : 1) };
          perStratum.set(s, entry);
        }
        entry.rows += 1;
        entry.lowest.add(hash(row));
        total += 1;
      }
    }
    // Every stratum keeps its share of the sample and at least one key.
    const thresholds = new Map<string, number>();
    const share = 'percent' in sample ? sample.percent / 100 : Math.min(1, sample.rows / Math.max(total, 1));
    const overall = 'percent' in sample ? percentThreshold(sample.percent) : Math.floor(share * PRIME);
    for (const [s, entry] of perStratum) {
      if ('percent' in sample) thresholds.set(s, Math.max(overall, entry.lowest.max() + 1));
      else {
        const k = Math.min(entry.lowest.count, Math.max(1, Math.round(share * entry.rows)));
        thresholds.set(s, entry.lowest.kth(k) + 1);
      }
    }
    sampleInfo.strata = perStratum.size;
    // The decision needs the row's stratum, so it is made in the merge, from the source row
    // when there is one: both sides then agree on every key.
    pick = (row) => hash(row) < (thresholds.get(stratumOf(row)) ?? overall);
  }
  return { keep, pick, pushDown, sampleInfo };
}

/** Whether the sample is chosen in SQL: a percentage or N rows, not stratified, of a single integer key. */
function samplesInSql(config: ReconcileConfig): boolean {
  const keys = keyColumns(config);
  return config.sample !== 'full' && config.sample.stratify_by === undefined && keys.length === 1 && keys[0]!.type === 'integer';
}

/** The side's name for the (first) key column. */
function sideKey(config: ReconcileConfig, role: Role): string {
  const column = keyColumns(config)[0]!.column;
  return role === 'source' ? column : (config.columns[column]?.target ?? column);
}

function noColumn(side: Side, column: string, what: string, available: readonly string[]): SourceError {
  const list = available
    .slice(0, 12)
    .map((c) => `\`${c}\``)
    .join(', ');
  return new SourceError(
    side.role,
    `${side.label} has no ${what} \`${column}\`; its columns are ${list}${available.length > 12 ? ', ...' : ''}`,
  );
}

async function openSide(
  config: ReconcileConfig,
  role: Role,
  baseDir: string,
  env: Record<string, string | undefined>,
  options: ReconcileOptions,
  csvAsItLies: boolean,
  onRows: (rows: number) => void,
): Promise<Side> {
  const spec: SourceSpec = config[role];
  switch (spec.driver) {
    case 'sqlite':
      // A sample hashed in SQL may read in a thread: the side starts it at once when it needs one.
      return openSqliteSide(path.resolve(baseDir, spec.path), spec, role, spec.path, undefined, {
        sampleKey: samplesInSql(config) ? sideKey(config, role) : undefined,
      });
    case 'postgres':
      return openPostgresSide(resolveEnvRefs(spec.url, env, role, 'url'), spec, role, options.statementTimeoutMs);
    case 'csv':
      if (csvAsItLies) return openCsvStreamSide(spec, path.resolve(baseDir, spec.path), spec.path, role, options.signal);
      return openCsvSide(spec, path.resolve(baseDir, spec.path), spec.path, role, {
        tempDir: options.tempDir,
        onRows,
        signal: options.signal,
      });
  }
}
