/**
 * A plan's tasks as a runbook: phases in the order the plan first names them (each task in its phase, in row
 * order), ids from the plan's IDs, predecessors resolved to them (a lag becomes a `wait` step between the two),
 * tasks as manual steps owned by their role unless the row names an action, gates approved by their sign-off roles,
 * milestones as zero-length waits, roles with the people the plan names. Then the runbook's own rules
 * (runbook/validate.ts), each problem put back on the row and column it came from.
 */
import { DEFAULT_MESSAGE, describeIssue, type IssueContext } from '../lib/yaml-document/schema-issues.js';
import type { DocumentProblem, ProblemPath } from '../lib/yaml-document/problems.js';
import { formatPath } from '../lib/yaml-document/problems.js';
import { durationText } from '../runbook/duration.js';
import { findCycles } from '../runbook/graph.js';
import { runbookSchema, type PhaseKind } from '../runbook/schema.js';
import { validateRunbook } from '../runbook/validate.js';
import { readPredecessors, relativeText, slug } from './cells.js';
import type { Field } from './columns.js';
import type { PlanMapping } from './mapping.js';
import type { CellProblem, PlanTask } from './plan-rows.js';

/** A runbook as it will be written: plain data, only the keys that say something. */
export type RunbookDocument = Record<string, unknown> & { phases: PhaseDocument[]; roles: Record<string, string[]> };
export interface PhaseDocument {
  id: string;
  kind: PhaseKind;
  title?: string;
  steps: Record<string, unknown>[];
}

/** Where each step of the built runbook came from: its task's row, or the row a lag step stands before. */
export interface StepSource {
  task: PlanTask;
  lag?: boolean;
}

/** What the plan gives besides its rows: the mapping file, the window, the runbook's name. */
export interface BuildOptions {
  mapping?: PlanMapping;
  name: string;
  window?: { start?: string; length: string };
  /** Roles and people already known (an existing runbook's, with --into): kept, and owners found in them. */
  roles?: Record<string, string[]>;
  lead?: string;
  /**
   * Leave the runbook's own rules to the caller: with --into, the plan's steps are merged into a runbook whose
   * actions, gates and phases are the ones that count, and the merged text is what gets checked.
   */
  skipRules?: boolean;
}

/** The result: the runbook (valid when `problems` is empty), where its steps came from, notes for the person. */
export interface BuiltPlan {
  runbook: RunbookDocument;
  sources: Map<string, StepSource>;
  problems: CellProblem[];
  /** Problems with no row: the runbook's own settings (`lead`, `window`). */
  general: string[];
  notes: string[];
  /** Warnings about a row (a step without a duration): located like problems. */
  rowNotes: CellProblem[];
}

const KIND_WORDS: [RegExp, PhaseKind][] = [
  [/freeze/, 'data_freeze'],
  [/go\W*no\W*go|decision/, 'go_no_go'],
  [/reconcil|validat|verif/, 'reconciliation'],
  [/migrat|data load|convers|transfer/, 'migration'],
  [/hypercare|stabili|post go|support/, 'hypercare'],
  [/switch|interface|go\W*live|cut\W*over|enable/, 'interface_switch_on'],
];

/** A phase's kind from its kind cell, the mapping file, or its name (`Data freeze` is a data_freeze). */
function phaseKindOf(name: string, cell: string | undefined, mapping: PlanMapping | undefined): string {
  if (cell !== undefined) {
    const word = cell.toLowerCase().replace(/[\s/-]+/g, '_');
    return word === 'go_no_go' || word === 'go_nogo' ? 'go_no_go' : word;
  }
  const mapped = mapping?.phase_kinds?.[name];
  if (mapped) return mapped;
  const lower = name.toLowerCase();
  return KIND_WORDS.find(([pattern]) => pattern.test(lower))?.[1] ?? 'preparation';
}

/** Builds the runbook from the plan's tasks. */
export function buildRunbook(tasks: readonly PlanTask[], options: BuildOptions): BuiltPlan {
  const problems: CellProblem[] = [];
  const notes: string[] = [];
  const sources = new Map<string, StepSource>();
  const problem = (task: PlanTask, field: Field | undefined, message: string) =>
    problems.push({ row: task.row, ...(field ? { field } : {}), message });

  // Ids: the plan's own, as runbook ids.
  const byRef = new Map<string, PlanTask>();
  const idOf = new Map<PlanTask, string>();
  const taken = new Map<string, PlanTask>();
  // A row without a title or owner was reported where it was read: others may still name it, but it makes no step.
  const unbuilt = new Set(tasks.filter((t) => t.title === undefined || t.owner === undefined));
  for (const task of tasks) {
    if (task.ref === '') continue;
    const id = slug(task.ref) || `row-${task.row}`;
    const earlier = taken.get(id);
    if (earlier) {
      problem(
        task,
        'id',
        earlier.ref === task.ref
          ? `ID ${task.ref} is used again (row ${earlier.row} has it)`
          : `ID ${task.ref} is ID ${earlier.ref} of row ${earlier.row} once made an id (${id}); give one another ID`,
      );
      continue;
    }
    taken.set(id, task);
    byRef.set(task.ref, task);
    byRef.set(task.ref.toLowerCase(), task);
    idOf.set(task, id);
  }
  const find = (ref: string) => byRef.get(ref) ?? byRef.get(ref.toLowerCase()) ?? taken.get(slug(ref));

  // Predecessors: resolved, with lags as wait steps in front of the task.
  const deps = new Map<PlanTask, { ids: string[]; lags: { pred: PlanTask; ms: number }[] }>();
  for (const task of tasks) {
    if (!idOf.has(task)) continue;
    const read = readPredecessors(task.predecessors, (ref) => find(ref) !== undefined);
    if (!read.ok) {
      problem(task, 'predecessors', read.problem);
      continue;
    }
    const entry = { ids: [] as string[], lags: [] as { pred: PlanTask; ms: number }[] };
    for (const p of read.value) {
      const pred = find(p.ref);
      if (!pred) problem(task, 'predecessors', `no task ${p.ref}`);
      else if (pred === task) problem(task, 'predecessors', `task ${task.ref} cannot wait for itself`);
      else if (p.lagMs > 0) entry.lags.push({ pred, ms: p.lagMs });
      else if (!entry.ids.includes(idOf.get(pred)!)) entry.ids.push(idOf.get(pred)!);
    }
    deps.set(task, entry);
  }
  const graph: Record<string, string[]> = {};
  for (const [task, { ids, lags }] of deps) graph[idOf.get(task)!] = [...ids, ...lags.map((l) => idOf.get(l.pred)!)];
  const cycles = findCycles(graph);
  for (const cycle of cycles) {
    const first = taken.get(cycle[0]!)!;
    const refs = [...cycle, cycle[0]!].map((id) => taken.get(id)!.ref);
    problem(first, 'predecessors', `tasks ${refs.join(' -> ')} wait for each other, so none can start; remove one of these predecessors`);
  }

  // The window: given, or read off the plan's planned times, or its earliest fixed time.
  const window = options.window ?? inferWindow(tasks, notes);
  const windowStart = window?.start;

  // Roles and the lead.
  const roles: Record<string, string[]> = Object.fromEntries(Object.entries(options.roles ?? {}).map(([r, p]) => [r, [...p]]));
  const role = (name: string) => {
    const id = slug(name) || 'team';
    roles[id] ??= [];
    return id;
  };

  const phases: PhaseDocument[] = [];
  const phaseOf = new Map<string, PhaseDocument>();
  const phaseRows = new Map<PhaseDocument, PlanTask>();
  for (const task of tasks) {
    const id = idOf.get(task);
    if (id === undefined || unbuilt.has(task)) continue;
    const phaseId = slug(task.phase) || 'plan';
    let phase = phaseOf.get(phaseId);
    if (!phase) {
      const kind = phaseKindOf(task.phase, task.phaseKind, options.mapping) as PhaseKind;
      const title = task.phaseTitle ?? (task.phase !== phaseId ? task.phase : undefined);
      phase = { id: phaseId, kind, ...(title !== undefined ? { title } : {}), steps: [] };
      phaseOf.set(phaseId, phase);
      phaseRows.set(phase, task);
      phases.push(phase);
    }
    const owner = task.owner !== undefined ? role(task.owner) : 'unknown';
    for (const person of task.people) if (!roles[owner]!.includes(person)) roles[owner]!.push(person);
    const entry = deps.get(task) ?? { ids: [], lags: [] };
    const dependsOn = entry.ids.filter((dep) => !unbuilt.has(taken.get(dep)!));
    for (const lag of entry.lags.filter((l) => !unbuilt.has(l.pred))) {
      const lagId = `${id}-after-${idOf.get(lag.pred)!}`;
      phase.steps.push({
        id: lagId,
        title: `${durationText(lag.ms)} after ${lag.pred.title ?? lag.pred.ref}`,
        owner,
        depends_on: [idOf.get(lag.pred)!],
        expected: durationText(lag.ms),
        action: { kind: 'wait', duration: durationText(lag.ms) },
      });
      sources.set(lagId, { task, lag: true });
      dependsOn.push(lagId);
    }
    const step: Record<string, unknown> = { id, title: task.title ?? id, owner };
    if (dependsOn.length > 0) step.depends_on = dependsOn;
    if (task.durationMs !== undefined) step.expected = durationText(task.durationMs);
    else if (task.type === 'milestone' || task.type === 'retirement') step.expected = '0s';
    const fixed = fixedStartText(task, windowStart);
    if (fixed.problem) problem(task, 'fixed_start', fixed.problem);
    else if (fixed.text !== undefined) step.not_before = fixed.text;
    if (task.stream !== undefined) step.stream = task.stream;
    if (task.type === 'milestone') step.milestone = true;
    if (task.type === 'retirement') step.milestone = 'retirement';
    if (task.type === 'gate') {
      const approvers = task.signoff.length > 0 ? task.signoff.map(role) : [owner];
      step.gate = { approvers };
    } else {
      step.action =
        task.action ??
        (task.type === 'milestone' || task.type === 'retirement' ? { kind: 'wait', duration: '0s' } : manual(task.instructions));
      if (task.backout !== undefined) step.backout = task.backout;
    }
    if (task.notes !== undefined) step.notes = task.notes;
    phase.steps.push(step);
    sources.set(id, { task });
  }

  const lead = options.lead ?? options.mapping?.runbook?.lead ?? guessLead(roles, phases);
  const leadRole = role(lead);
  const placeholders = Object.entries(roles)
    .filter(([, people]) => people.length === 0)
    .map(([r]) => r);
  for (const r of placeholders) roles[r] = [r];
  if (placeholders.length > 0) {
    notes.push(
      `the plan names nobody for ${placeholders.join(', ')}: each role lists a placeholder person of its own name; put the people who hold it under \`roles\``,
    );
  }
  const settings = options.mapping?.runbook;
  const runbook: RunbookDocument = {
    name: settings?.name ?? options.name,
    version: settings?.version ?? '1',
    ...(settings?.description ? { description: settings.description } : {}),
    lead: leadRole,
    roles,
    ...(window ? { window } : {}),
    phases,
  };
  const general: string[] = [];
  const rowNotes: CellProblem[] = [];
  if (!options.skipRules) checkRunbook(runbook, sources, phaseRows, problems, general, notes, rowNotes, cycles.length > 0);
  return { runbook, sources, problems, general, notes, rowNotes };
}

function manual(instructions: string | undefined): Record<string, unknown> {
  return instructions !== undefined ? { kind: 'manual', instructions } : { kind: 'manual' };
}

/** The lead: a role with "lead" in its name, else the owner of the first gate, else the first role. */
function guessLead(roles: Record<string, string[]>, phases: readonly PhaseDocument[]): string {
  const named = Object.keys(roles).find((r) => /lead/.test(r));
  if (named) return named;
  const gate = phases.flatMap((p) => p.steps).find((s) => s.gate !== undefined);
  return (gate?.owner as string | undefined) ?? Object.keys(roles)[0] ?? 'cutover-lead';
}

/** A task's fixed start as the runbook writes it; a time of day needs the window's start date. */
function fixedStartText(task: PlanTask, windowStart: string | undefined): { text?: string; problem?: string } {
  const fixed = task.fixedStart;
  if (fixed === undefined) return {};
  if ('relativeMs' in fixed) return { text: relativeText(fixed.relativeMs) };
  if ('at' in fixed) return { text: fixed.at };
  if (windowStart === undefined) {
    return {
      problem:
        "a time of day needs the window's start date: give `runbook.window.start` in the mapping file (--columns), import --into a runbook with one, or write +2h (after the window starts) or a date and time",
    };
  }
  const start = Date.parse(windowStart);
  const day = start - (start % 86_400_000);
  let at = day + fixed.timeOfDayMs;
  if (at < start) at += 86_400_000;
  return { text: new Date(at).toISOString().replace('.000Z', 'Z') };
}

/** The window a plan implies: from its planned starts and ends (an exported plan has them), else none. */
function inferWindow(tasks: readonly PlanTask[], notes: string[]): { start: string; length: string } | undefined {
  const starts = tasks.flatMap((t) => (t.plannedStart ? [t.plannedStart.getTime()] : []));
  const fixed = tasks.flatMap((t) => (t.fixedStart && 'at' in t.fixedStart ? [Date.parse(t.fixedStart.at)] : []));
  if (starts.length === 0 && fixed.length === 0) return undefined;
  const start = Math.min(...(starts.length > 0 ? starts : fixed));
  const ends = tasks.flatMap((t) => (t.plannedEnd ? [t.plannedEnd.getTime()] : []));
  const end = Math.max(start + 3_600_000, ...ends);
  const hours = Math.ceil((end - start) / 3_600_000);
  const window = { start: new Date(start).toISOString().replace('.000Z', 'Z'), length: `${hours}h` };
  notes.push(
    `the window is taken as ${window.start} for ${window.length}, from the plan's ${starts.length > 0 ? 'planned times' : 'earliest fixed start'}; set it with \`runbook.window\` in a mapping file (--columns) if it is another`,
  );
  return window;
}

/** The runbook's field each column fills, for putting its problems back on the plan. */
const COLUMN_OF: Record<string, Field> = {
  id: 'id',
  title: 'title',
  owner: 'owner',
  depends_on: 'predecessors',
  expected: 'duration',
  not_before: 'fixed_start',
  action: 'action',
  backout: 'backout',
  gate: 'signoff',
  milestone: 'type',
  stream: 'stream',
  notes: 'notes',
};

/** The runbook's shape and rules, each problem on the row (and column) of the step it is about. */
function checkRunbook(
  runbook: RunbookDocument,
  sources: ReadonlyMap<string, StepSource>,
  phaseRows: ReadonlyMap<PhaseDocument, PlanTask>,
  problems: CellProblem[],
  general: string[],
  notes: string[],
  rowNotes: CellProblem[],
  cyclesReported: boolean,
): void {
  const place = (path: ProblemPath, message: string, into: 'problem' | 'note') => {
    const [top, pi, stepsKey, si, field] = path;
    const phase = top === 'phases' && typeof pi === 'number' ? runbook.phases[pi] : undefined;
    if (phase && stepsKey === 'steps' && typeof si === 'number') {
      const source = sources.get(phase.steps[si]?.id as string);
      if (source) {
        const column = source.lag ? 'predecessors' : COLUMN_OF[String(field)];
        if (into === 'problem') problems.push({ row: source.task.row, ...(column ? { field: column } : {}), message });
        else rowNotes.push({ row: source.task.row, ...(column ? { field: column } : {}), message });
        return;
      }
    }
    if (phase) {
      const first = phaseRows.get(phase);
      if (first && into === 'problem')
        return void problems.push({ row: first.row, field: stepsKey === 'kind' ? 'phase_kind' : 'phase', message });
    }
    (into === 'problem' ? general : notes).push(`${formatPath(path) || 'the runbook'}: ${message}`);
  };
  const parsed = runbookSchema.safeParse(runbook, { error: () => DEFAULT_MESSAGE });
  if (!parsed.success) {
    const context: IssueContext = { root: runbookSchema, expected: 'a runbook' };
    for (const issue of parsed.error.issues)
      for (const f of describeIssue(issue, [], runbook, context)) place(f.path as ProblemPath, f.message, 'problem');
    return;
  }
  const validation = validateRunbook(parsed.data);
  const skip = (p: DocumentProblem) => cyclesReported && p.message.startsWith('dependency cycle');
  for (const p of validation.errors) if (!skip(p)) place(p.path, p.message, 'problem');
  for (const p of validation.warnings) place(p.path, p.message, 'note');
}
