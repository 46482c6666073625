/**
 * The columns a plan has, found by their headers: the spellings real plans use (`Task #`, `Workstream`,
 * `Predecessors`, `Not before`...) and any a mapping file adds. The header row is the row, among the first ones,
 * that names the most known columns (title rows and empty rows above it are left out).
 */
import type { CellValue, SheetRow } from './sheet.js';

/** What a column of a plan can mean. */
export const FIELDS = [
  'id',
  'phase',
  'phase_kind',
  'phase_title',
  'stream',
  'title',
  'owner',
  'people',
  'predecessors',
  'duration',
  'fixed_start',
  'type',
  'action',
  'backout',
  'instructions',
  'notes',
  'signoff',
  'planned_start',
  'planned_end',
] as const;
export type Field = (typeof FIELDS)[number];

/** Header spellings by field, normalized (see {@link normalizeHeader}). */
const SPELLINGS: Record<Field, string[]> = {
  id: [
    'id',
    'no',
    'nr',
    'number',
    'task id',
    'task no',
    'task nr',
    'task number',
    'step id',
    'ref',
    'reference',
    'item no',
    'activity id',
    'wbs',
    'line',
  ],
  phase: ['phase', 'stage', 'phase name', 'section'],
  phase_kind: ['phase kind', 'phase type'],
  phase_title: ['phase title'],
  stream: ['stream', 'workstream', 'work stream', 'track', 'swimlane', 'swim lane', 'area'],
  title: [
    'task',
    'task name',
    'title',
    'activity',
    'activity name',
    'activity description',
    'description',
    'step',
    'step name',
    'name',
    'summary',
  ],
  owner: [
    'owner',
    'owner role',
    'role',
    'team',
    'responsible team',
    'resp team',
    'resp',
    'owning team',
    'owner team',
    'accountable',
    'group',
    'department',
  ],
  people: ['who', 'person', 'people', 'responsible', 'assignee', 'assigned to', 'resource', 'resources', 'resource names', 'performed by'],
  predecessors: ['predecessors', 'predecessor', 'pred', 'preds', 'depends on', 'dependencies', 'dependency', 'after', 'prerequisites'],
  duration: ['duration', 'dur', 'expected', 'estimate', 'estimated duration', 'planned duration', 'effort'],
  fixed_start: [
    'fixed start',
    'not before',
    'start not before',
    'fixed time',
    'fixed start time',
    'start no earlier than',
    'snet',
    'must start on',
    'constraint date',
  ],
  type: ['type', 'task type', 'kind', 'category'],
  action: ['action', 'command', 'automation', 'script'],
  backout: ['back out', 'backout', 'back out plan', 'back out notes', 'backout notes', 'rollback', 'roll back', 'fallback', 'revert'],
  instructions: ['instructions', 'procedure', 'how', 'details'],
  notes: ['notes', 'note', 'comments', 'comment', 'remarks'],
  signoff: ['sign off', 'signoff', 'sign off by', 'approvers', 'approver', 'approval', 'approved by'],
  planned_start: ['planned start'],
  planned_end: ['planned end'],
};

/** `Task #` → `task no`, `Back-out` → `back out`: lower case, `#` read as "no", other punctuation as spaces. */
export function normalizeHeader(text: string): string {
  return text
    .toLowerCase()
    .replace(/#/g, ' no ')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** Where each field's column is: its index in the row and its header as written. */
export type ColumnMap = Map<Field, { index: number; header: string }>;

/** The header row found: its row number and the fields' columns, and the headers nothing reads. */
export interface HeaderRow {
  number: number;
  columns: ColumnMap;
  unread: string[];
}

/** How far down a plan its header row may be (title rows, a logo, notes above the table). */
const HEADER_SEARCH_ROWS = 30;

/**
 * Finds the header row and the fields' columns. `extra` adds a mapping file's headers (field → headers as written in
 * the plan), which win over the known spellings. Undefined when no row names a title column and one more.
 */
export function findHeaderRow(rows: readonly SheetRow[], extra: Partial<Record<Field, string[]>> = {}): HeaderRow | undefined {
  const lookup = new Map<string, Field>();
  for (const field of FIELDS) for (const spelling of SPELLINGS[field]) lookup.set(spelling, field);
  // A mapping file's names win: they may reuse a known spelling for another field.
  for (const [field, headers] of Object.entries(extra) as [Field, string[]][])
    for (const h of headers) lookup.set(normalizeHeader(h), field);
  let best: HeaderRow | undefined;
  for (const row of rows.slice(0, HEADER_SEARCH_ROWS)) {
    const columns: ColumnMap = new Map();
    const unread: string[] = [];
    row.cells.forEach((cell, index) => {
      const header = headerText(cell);
      if (header === undefined) return;
      const field = lookup.get(normalizeHeader(header));
      if (field !== undefined && !columns.has(field)) columns.set(field, { index, header });
      else unread.push(header);
    });
    if (!columns.has('title') || columns.size < 2) continue;
    if (!best || columns.size > best.columns.size) best = { number: row.number, columns, unread };
  }
  return best;
}

function headerText(cell: CellValue): string | undefined {
  if (cell === null || cell instanceof Date) return undefined;
  const text = String(cell).trim();
  return text === '' ? undefined : text;
}

/** The spellings of a field, as a message lists them. */
export function spellingsOf(field: Field): string[] {
  return SPELLINGS[field];
}
