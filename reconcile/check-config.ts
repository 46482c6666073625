/**
 * The rules of a reconciliation that the schema cannot say alone: key columns, column settings,
 * the sample, a side's table or query, a CSV file's settings. Each problem is located by its path,
 * so a config file and a runbook's `reconcile` step report them the same way. Pure.
 */
import type { DocumentProblem } from '../lib/yaml-document/problems.js';
import { keyColumns, type Comparison, type CsvSource, type ReconcileConfig } from './config.js';
import { zoneOffsetMinutes } from './datetime.js';

/** Rules the schema cannot say alone; each problem is located by its path. */
export function checkConfig(config: ReconcileConfig): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  for (const side of ['source', 'target'] as const) {
    problems.push(...(config[side].driver === 'csv' ? checkCsvSpec(config[side], [side]) : checkRelation(config[side], side, [side])));
  }
  return [...problems, ...checkComparison(config)];
}

/**
 * Rules of the comparison the schema cannot say alone (key columns, column settings, the sample),
 * with paths from the comparison's own root: a runbook prefixes them with the action's path.
 */
export function checkComparison(config: Comparison): DocumentProblem[] {
  const problems: DocumentProblem[] = [];

  const keys = keyColumns(config);
  const keyPath = (i: number): (string | number)[] => (typeof config.key === 'string' ? ['key'] : ['key', i]);
  const seen = new Set<string>();
  keys.forEach((k, i) => {
    if (seen.has(k.column)) problems.push({ path: keyPath(i), message: `key column \`${k.column}\` is listed twice; list it once` });
    seen.add(k.column);
    if (config.ignore.includes(k.column)) {
      problems.push({
        path: ['ignore', config.ignore.indexOf(k.column)],
        message: `\`${k.column}\` is a key column, so it cannot be ignored; remove it from \`ignore\``,
      });
    }
    const spec = config.columns[k.column];
    if (spec && hasValueRules(spec)) {
      problems.push({
        path: ['columns', k.column],
        target: 'key',
        message: `\`${k.column}\` is a key column: only \`target\` applies to it (keys compare by their declared type); remove the other settings`,
      });
    }
  });

  const targets = new Map<string, string>();
  for (const [column, spec] of Object.entries(config.columns)) {
    const at = (field?: string): (string | number)[] => (field ? ['columns', column, field] : ['columns', column]);
    const i = config.ignore.indexOf(column);
    if (i >= 0) {
      problems.push({ path: ['ignore', i], message: `\`${column}\` has settings under \`columns\` and is ignored; keep one of the two` });
    }
    const target = spec.target ?? column;
    const other = targets.get(target);
    if (other !== undefined) {
      problems.push({
        path: at(spec.target ? 'target' : undefined),
        message: `\`${column}\` and \`${other}\` both compare with target column \`${target}\`; give each its own target column`,
      });
    }
    targets.set(target, column);
    const numeric = spec.type === 'number' || spec.precision !== undefined || spec.tolerance !== undefined;
    if (spec.datetime && numeric) {
      const field = spec.type === 'number' ? 'type' : spec.precision !== undefined ? 'precision' : 'tolerance';
      problems.push({
        path: at(field),
        message: `\`${column}\` compares as date/time (\`datetime\`), so \`${field}\` does not apply; remove one of them`,
      });
    }
    if (spec.type === 'text' && (spec.precision !== undefined || spec.tolerance !== undefined)) {
      problems.push({
        path: at('type'),
        message: `\`${column}\` is compared as text, so precision and tolerance do not apply; use \`type: number\``,
      });
    }
    if (spec.datetime) {
      for (const field of ['zone', 'source_zone', 'target_zone'] as const) {
        const zone = spec.datetime[field];
        if (zone !== undefined && zoneOffsetMinutes(zone, 0) === undefined) {
          problems.push({
            path: ['columns', column, 'datetime', field],
            message: `unknown time zone \`${zone}\`; use an IANA name such as Europe/Berlin, UTC, or an offset such as +02:00`,
          });
        }
      }
    }
  }

  if (config.sample !== 'full' && config.sample.stratify_by !== undefined) {
    const column = config.sample.stratify_by;
    if (config.ignore.includes(column)) {
      problems.push({
        path: ['sample', 'stratify_by'],
        message: `\`${column}\` is ignored, so it cannot stratify the sample; pick a compared column`,
      });
    }
  }
  return problems;
}

function hasValueRules(spec: ReconcileConfig['columns'][string]): boolean {
  return (
    spec.type !== undefined ||
    spec.trim ||
    spec.case !== undefined ||
    spec.null_equals_empty ||
    spec.map !== undefined ||
    spec.precision !== undefined ||
    spec.tolerance !== undefined ||
    spec.datetime !== undefined
  );
}

/** A CSV file's settings, at `path` (a config's side, or a runbook connection). */
export function checkCsvSpec(spec: Omit<CsvSource, 'driver' | 'path'>, path: (string | number)[]): DocumentProblem[] {
  if (!spec.header && !spec.columns) {
    return [
      {
        path: [...path, 'header'],
        message: `a CSV file without a header row needs \`columns\` naming its columns in order; add \`columns: [...]\``,
      },
    ];
  }
  if (!knownEncoding(spec.encoding)) {
    return [
      {
        path: [...path, 'encoding'],
        message: `unknown encoding \`${spec.encoding}\`; use utf-8, utf-16le, latin1, windows-1252 or another WHATWG encoding name`,
      },
    ];
  }
  if (spec.header && spec.columns) {
    return [
      {
        path: [...path, 'columns'],
        message: 'the header row names the columns; remove `columns`, or say `header: false` if the file has none',
      },
    ];
  }
  return [];
}

/** A database side names exactly one of `table` and `query`. */
export function checkRelation(
  spec: { table?: string; query?: string },
  side: 'source' | 'target',
  path: (string | number)[],
): DocumentProblem[] {
  if (spec.table === undefined && spec.query === undefined) {
    return [{ path, message: `the ${side} needs \`table\` or \`query\`; add one of them` }];
  }
  if (spec.table !== undefined && spec.query !== undefined) {
    return [{ path: [...path, 'query'], target: 'key', message: `the ${side} has both \`table\` and \`query\`; keep one of them` }];
  }
  return [];
}

function knownEncoding(encoding: string): boolean {
  try {
    new TextDecoder(encoding);
    return true;
  } catch {
    return false;
  }
}
