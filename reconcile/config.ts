/**
 * The reconciliation config: one zod schema is the source of the TypeScript types and of the
 * validation of `cutover reconcile CONFIG` files, and the body of a runbook's `reconcile` action
 * or check (whose sides name runbook `connections` instead). The runbook schema embeds it, so it
 * imports nothing from Node.
 */
import { z } from 'zod';

const name = z.string().min(1);

/** Where a side's rows come from: a table or a query (exactly one; checked in `parse-config.ts`). */
const relation = {
  table: name.optional().describe('A table (or `schema.table` in PostgreSQL); every column is read.'),
  query: name.optional().describe('One SELECT statement; its result columns are the side.'),
};

export const sqliteSource = z
  .object({
    driver: z.literal('sqlite'),
    path: name.describe('Database file, relative to the config file; opened read-only.'),
    ...relation,
  })
  .strict();

export const postgresSource = z
  .object({
    driver: z.literal('postgres'),
    url: name.describe('postgresql://USER:PASSWORD@HOST:PORT/DATABASE; `${env:NAME}` takes it (or part of it) from the environment.'),
    ...relation,
  })
  .strict();

export const csvSource = z
  .object({
    driver: z.literal('csv'),
    path: name.describe('CSV file, relative to the file that names it (the config file, or the runbook).'),
    delimiter: z.string().length(1, { message: 'expected one character, such as `,` `;` or `|`' }).default(','),
    quote: z.string().length(1, { message: 'expected one character, such as `"` or `\'`' }).default('"'),
    encoding: name.default('utf-8').describe('Text encoding of the file: utf-8, utf-16le, latin1, windows-1252, ...'),
    header: z.boolean().default(true).describe('The first row names the columns.'),
    columns: z.array(name).min(1).optional().describe('Column names, when the file has no header row.'),
  })
  .strict();

/** One side of the comparison. */
export const sourceSpec = z.discriminatedUnion('driver', [sqliteSource, postgresSource, csvSource]);

/** How key values are compared and ordered: integers numerically, text bytewise (UTF-8). */
export const keyType = z.enum(['integer', 'text']);

const keyColumn = z.union([
  name,
  z
    .object({
      column: name.describe('Source column; the target column is the same name, or `columns.NAME.target`.'),
      type: keyType.default('text'),
    })
    .strict(),
]);

const tolerance = z
  .object({
    abs: z.number().min(0).default(0).describe('Absolute difference allowed.'),
    rel: z.number().min(0).default(0).describe('Relative difference allowed, of the target value: |a-b| <= abs + rel*|b|.'),
  })
  .strict();

export const datetimePrecision = z.enum(['day', 'minute', 'second', 'millisecond']);

const datetime = z
  .object({
    zone: name.default('UTC').describe('Values without an offset are read in this zone (IANA name or +HH:MM); days are cut in it.'),
    source_zone: name.optional().describe('Zone of offset-less source values, when it differs from `zone`.'),
    target_zone: name.optional().describe('Zone of offset-less target values, when it differs from `zone`.'),
    precision: datetimePrecision.default('second').describe('Compare to this precision (cut, not rounded).'),
  })
  .strict();

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** How one column is read and compared. */
export const columnSpec = z
  .object({
    target: name.optional().describe('The column of this name on the target (a renamed column).'),
    type: z.enum(['text', 'number']).optional().describe('number: compare as numbers ("5.00" equals 5); text: as text.'),
    trim: z.boolean().default(false).describe('Ignore spaces at either end.'),
    case: z.enum(['lower', 'upper']).optional().describe('Ignore letter case.'),
    null_equals_empty: z.boolean().default(false).describe('An empty value equals a missing (NULL) one.'),
    map: z.record(z.string(), scalar).optional().describe('Source value -> the value the target holds for it (old code -> new code).'),
    precision: z.number().int().min(0).max(15).optional().describe('Round numbers to this many decimals before comparing.'),
    tolerance: tolerance.optional(),
    datetime: datetime.optional().describe('Compare as instants: values are dates/times in any ISO-like form.'),
  })
  .strict();

const count = z.number().int().min(0);

export const limitsSpec = z
  .object({
    max_missing: count.default(0).describe('Keys in the source but not in the target.'),
    max_extra: count.default(0).describe('Keys in the target but not in the source.'),
    max_mismatched: count.default(0).describe('Rows whose key matches but a value differs.'),
    max_mismatch_rate: z.number().min(0).max(1).optional().describe('mismatched / (matched + mismatched).'),
    max_duplicate_keys: count.default(0).describe('Keys that appear more than once on either side.'),
    max_null_keys: count.default(0).describe('Rows with an empty key on either side.'),
  })
  .strict();

const seed = z.union([z.number().int(), z.string()]).default(0).describe('Another seed picks other keys; the same seed the same keys.');
const stratify = name.optional().describe('Source column: every value of it is represented in the sample.');

export const sampleSpec = z.union([
  z.literal('full'),
  z.object({ rows: z.number().int().min(1), seed, stratify_by: stratify }).strict(),
  z.object({ percent: z.number().gt(0).max(100), seed, stratify_by: stratify }).strict(),
]);

/**
 * How rows pair up and values compare, whatever the sides are: the body of a config file, and of a
 * runbook's `reconcile` action or check.
 */
export const comparisonFields = {
  key: z
    .union([name, z.array(keyColumn).min(1)])
    .describe('The column(s) that identify a row on both sides: `id`, or a list of names or {column, type}.'),
  columns: z.record(name, columnSpec).default({}).describe('Per source column: renaming and how it compares.'),
  ignore: z.array(name).default([]).describe('Source columns left out of the comparison.'),
  limits: limitsSpec.default({
    max_missing: 0,
    max_extra: 0,
    max_mismatched: 0,
    max_duplicate_keys: 0,
    max_null_keys: 0,
  }),
  sample: sampleSpec.default('full'),
  examples: count.max(10_000).default(20).describe('How many differing rows to show with both sides’ values.'),
};

/** A reconciliation: two sides, how rows pair up (key) and how values compare. */
export const reconcileConfig = z
  .object({
    source: sourceSpec.describe('The old system.'),
    target: sourceSpec.describe('The new system.'),
    ...comparisonFields,
  })
  .strict();

/**
 * A side of a runbook's reconciliation: a runbook `connection` (a database, or a CSV file), and for a
 * database the table or query to read.
 */
export const connectionSide = z
  .object({
    connection: name.describe('A name from the runbook `connections`: sqlite, postgres or csv.'),
    ...relation,
  })
  .strict();

export type ReconcileConfig = z.output<typeof reconcileConfig>;
export type SourceSpec = z.output<typeof sourceSpec>;
export type ConnectionSide = z.output<typeof connectionSide>;
/** The comparison part of a reconciliation, without its sides. */
export type Comparison = Omit<ReconcileConfig, 'source' | 'target'>;
export type SqliteSource = z.output<typeof sqliteSource>;
export type PostgresSource = z.output<typeof postgresSource>;
export type CsvSource = z.output<typeof csvSource>;
export type KeyType = z.output<typeof keyType>;
export type ColumnSpec = z.output<typeof columnSpec>;
export type LimitsSpec = z.output<typeof limitsSpec>;
export type SampleSpec = z.output<typeof sampleSpec>;
export type DatetimePrecision = z.output<typeof datetimePrecision>;

/** A key column with its type, as the engine uses it. */
export interface KeyColumn {
  column: string;
  type: KeyType;
}

/** The key columns of a config, in order, each with its type. */
export function keyColumns(config: Pick<ReconcileConfig, 'key'>): KeyColumn[] {
  const list = typeof config.key === 'string' ? [config.key] : config.key;
  return list.map((k) => (typeof k === 'string' ? { column: k, type: 'text' as const } : k));
}
