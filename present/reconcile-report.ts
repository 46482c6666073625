/**
 * A step's recorded reconciliations as a report: which records a request picks (attempt, check,
 * round), and the differing rows as CSV a business owner opens in a spreadsheet, or as JSON.
 * Pure: `cutover reconcile-report` and the status page's download links both use it.
 */
import type { ReconcileRecord } from '../prisma/records.js';
import type { JsonScalar } from '../reconcile/result.js';

export type ReportFormat = 'csv' | 'json';

/** What to report of a step: by default its latest attempt, every check, and in CSV each check's latest round. */
export interface ReportSelection {
  attempt?: number;
  /** A check's name; '' is the step's action. */
  check?: string;
  round?: number;
}

/** The records a selection picks from a step's records; `format` decides whether earlier rounds come too. */
export function selectRecords(records: readonly ReconcileRecord[], selection: ReportSelection, format: ReportFormat): ReconcileRecord[] {
  if (records.length === 0) return [];
  const attempt = selection.attempt ?? Math.max(...records.map((r) => r.attempt));
  let picked = records.filter((r) => r.attempt === attempt && (selection.check === undefined || r.check === selection.check));
  if (selection.round !== undefined) picked = picked.filter((r) => r.round === selection.round);
  else if (format === 'csv') {
    // A spreadsheet of one moment: each check's latest round.
    const latest = new Map<string, number>();
    for (const r of picked) latest.set(r.check, Math.max(latest.get(r.check) ?? 0, r.round));
    picked = picked.filter((r) => r.round === latest.get(r.check));
  }
  return [...picked].sort((a, b) => a.check.localeCompare(b.check) || a.round - b.round);
}

/** The report as JSON: the run, the step, and each record with its whole result. */
export function reportJson(runId: string, stepId: string, records: readonly ReconcileRecord[]): string {
  return `${JSON.stringify({ run: runId, step: stepId, reconciliations: records }, null, 2)}\n`;
}

/** The report's columns besides the key's. */
const REPORT_COLUMNS: readonly string[] = ['check', 'attempt', 'round', 'kind', 'column', 'source_value', 'target_value', 'note'];

/** The CSV header and one line per differing value: the key, the column, both sides' values. */
export function reportCsv(records: readonly ReconcileRecord[]): string {
  const keyColumns = [
    ...new Set(records.flatMap((r) => [...r.result.examples, ...r.result.key_examples].flatMap((e) => Object.keys(e.key)))),
  ];
  // A key column named like one of the report's own (`kind`, `round`...) is told apart, so a tool that reads the
  // file by header names gets both.
  const keyHeaders = keyColumns.map((k) => inert(REPORT_COLUMNS.includes(k) ? `key:${k}` : k));
  const rows: string[][] = [['check', 'attempt', 'round', 'kind', ...keyHeaders, 'column', 'source_value', 'target_value', 'note']];
  for (const record of records) {
    // Names come from the runbook and from the systems compared (a column is whatever a table or CSV header says): a
    // spreadsheet must not run them either.
    const check = record.check === '' ? '(action)' : inert(record.check);
    const head = (kind: string, key: Record<string, JsonScalar>): string[] => [
      check,
      String(record.attempt),
      String(record.round),
      kind,
      ...keyColumns.map((k) => cell(key[k])),
    ];
    for (const e of record.result.examples) {
      if (e.kind === 'mismatched') {
        // Source and target names differ for a renamed column; both lists are in the same order.
        const sourceNames = Object.keys(e.source ?? {});
        e.columns.forEach((column, i) => {
          const sourceName = sourceNames[i] ?? column;
          const named = inert(sourceName === column ? column : `${sourceName} -> ${column}`);
          rows.push([...head(e.kind, e.key), named, cell(e.source?.[sourceName]), cell(e.target?.[column]), '']);
        });
      } else {
        const values = (e.kind === 'missing_in_target' ? e.source : e.target) ?? {};
        const note = e.kind === 'missing_in_target' ? 'row only in the source' : 'row only in the target';
        const columns = Object.keys(values);
        if (columns.length === 0) rows.push([...head(e.kind, e.key), '', '', '', note]);
        for (const column of columns) {
          const value = cell(values[column]);
          rows.push([
            ...head(e.kind, e.key),
            inert(column),
            e.kind === 'missing_in_target' ? value : '',
            e.kind === 'extra_in_target' ? value : '',
            note,
          ]);
        }
      }
    }
    for (const k of record.result.key_examples) {
      const note = k.kind === 'duplicate_key' ? `${k.rows ?? 2} rows with this key in the ${k.side}` : `empty key in the ${k.side}`;
      rows.push([...head(k.kind, k.key), '', '', '', note]);
    }
    const shown = record.result.examples.length;
    const differing = record.result.missing_in_target + record.result.extra_in_target + record.result.mismatched;
    if (differing > shown) {
      rows.push([
        check,
        String(record.attempt),
        String(record.round),
        'more',
        ...keyColumns.map(() => ''),
        '',
        '',
        '',
        `${differing - shown} more differing keys not kept; raise \`examples\` to keep more`,
      ]);
    }
  }
  return rows.map((row) => row.map(quote).join(',')).join('\r\n') + '\r\n';
}

/** Empty text as a cell: `""`, so it differs from NULL (an empty cell) in the file. */
const EMPTY_TEXT = '\u0000empty';

/** A value as a cell: NULL is an empty cell; text that a spreadsheet would run as a formula is kept as text. */
function cell(value: JsonScalar | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  if (value === '') return EMPTY_TEXT;
  return inert(value);
}

/**
 * Text a spreadsheet shows as text: one starting with `=`, `+`, `-`, `@`, a tab or a carriage return (what Excel,
 * LibreOffice and Google Sheets take for the start of a formula) gets a leading `'`, as OWASP's CSV injection advice
 * has it. Numbers are written by {@link cell} without it, so a negative number stays a number.
 */
function inert(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** RFC 4180: a field with a comma, a quote, a line break or edge spaces is quoted, its quotes doubled. */
function quote(field: string): string {
  if (field === EMPTY_TEXT) return '""';
  return /[",\r\n]|^\s|\s$/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}
