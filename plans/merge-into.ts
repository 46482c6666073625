/**
 * `cutover import PLAN --into RUNBOOK.yaml`: a changed plan re-imported into the runbook it became. By ID, each step's
 * title, owner, dependencies, duration, fixed start, stream and milestone follow the plan; its action, checks,
 * back-out, gate and everything else written in the YAML stay, comments included (the YAML document is edited in
 * place, not written anew). Steps new in the plan are added to their phase (a phase new in the plan at the end);
 * steps the plan no longer has are kept, after the plan's, and named, so nobody loses a written action by accident.
 */
import { isMap, isScalar, isSeq, parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { formatProblem } from '../lib/yaml-document/problems.js';
import { parseRunbook } from '../runbook/parse.js';
import type { BuildOptions, BuiltPlan } from './build-runbook.js';

/** The existing runbook's settings the import builds on, or why it cannot. */
export function readBase(
  text: string,
  file: string,
): { ok: true; options: Pick<BuildOptions, 'name' | 'window' | 'roles' | 'lead'> } | { ok: false; problems: string[] } {
  const parsed = parseRunbook(text, file);
  if (!parsed.ok) return { ok: false, problems: parsed.problems.map(formatProblem) };
  const { runbook } = parsed;
  return {
    ok: true,
    options: {
      name: runbook.name,
      ...(runbook.window ? { window: { ...runbook.window } } : {}),
      roles: Object.fromEntries(Object.entries(runbook.roles).map(([r, p]) => [r, [...p]])),
      lead: runbook.lead,
    },
  };
}

/** The keys the plan decides for a step that is already in the runbook. */
const PLAN_KEYS = ['title', 'owner', 'depends_on', 'expected', 'not_before', 'stream', 'milestone'] as const;

/** The runbook text with the plan merged in, and what changed. */
export function mergeInto(text: string, built: BuiltPlan): { text: string; updated: number; added: number; kept: string[] } {
  const doc = parseDocument(text);
  const phases = doc.get('phases', true) as YAMLSeq<YAMLMap>;
  const stepsOf = (phase: YAMLMap) => phase.get('steps', true) as unknown as YAMLSeq<YAMLMap>;
  const idOf = (node: YAMLMap) => String((node.get('id', true) as { value?: unknown } | undefined)?.value ?? node.get('id'));
  // Where every step of the runbook is now.
  const existing = new Map<string, YAMLMap>();
  const phaseById = new Map<string, YAMLMap>();
  for (const phase of phases.items) {
    phaseById.set(idOf(phase), phase);
    for (const step of stepsOf(phase).items) existing.set(idOf(step), step);
  }
  const planIds = new Set(built.runbook.phases.flatMap((p) => p.steps.map((s) => s.id as string)));
  let updated = 0;
  let added = 0;
  const placed = new Map<YAMLMap, YAMLMap[]>();
  for (const planPhase of built.runbook.phases) {
    let phase = phaseById.get(planPhase.id);
    if (!phase) {
      phase = doc.createNode({
        id: planPhase.id,
        kind: planPhase.kind,
        ...(planPhase.title ? { title: planPhase.title } : {}),
        steps: [],
      });
      phases.add(phase);
      phaseById.set(planPhase.id, phase);
    }
    const list = placed.get(phase) ?? [];
    placed.set(phase, list);
    for (const planStep of planPhase.steps) {
      const node = existing.get(planStep.id as string);
      if (node) {
        for (const key of PLAN_KEYS) {
          const value = planStep[key];
          if (value === undefined) {
            if (node.has(key)) node.delete(key);
          } else if (!sameValue(node.get(key, true), value)) {
            node.set(key, doc.createNode(value, { flow: Array.isArray(value) }));
          }
        }
        updated += 1;
        list.push(node);
      } else {
        const created = doc.createNode(planStep) as YAMLMap;
        for (const pair of created.items) if (isMap(pair.value) || isSeq(pair.value)) pair.value.flow = true;
        added += 1;
        list.push(created);
      }
    }
  }
  // Each phase: the plan's steps in the plan's order, then the ones the plan does not have, as they were.
  const kept: string[] = [];
  for (const phase of phases.items) {
    const fromPlan = placed.get(phase) ?? [];
    const others = stepsOf(phase).items.filter((step) => !planIds.has(idOf(step)));
    kept.push(...others.map(idOf));
    stepsOf(phase).items = [...fromPlan, ...others];
  }
  // Phases the plan moved every step out of, and that keep none, go.
  phases.items = phases.items.filter((phase) => stepsOf(phase).items.length > 0);
  addRoles(doc, built.runbook.roles);
  return { text: doc.toString({ lineWidth: 0 }), updated, added, kept };
}

/** Roles the plan names that the runbook lacks, and people it lists that a role lacks, are added. */
function addRoles(doc: Document, roles: Record<string, string[]>): void {
  const node = doc.get('roles', true);
  if (!isMap(node)) return;
  for (const [role, people] of Object.entries(roles)) {
    const current = node.get(role, true);
    if (!isSeq(current)) {
      node.set(role, doc.createNode(people, { flow: true }));
      continue;
    }
    const listed = new Set(current.items.map((item) => String(isScalar(item) ? item.value : item)));
    for (const person of people) if (!listed.has(person)) current.add(person);
  }
}

function sameValue(node: unknown, value: unknown): boolean {
  const current: unknown = isScalar(node) ? node.value : isSeq(node) || isMap(node) ? (node.toJSON() as unknown) : node;
  return JSON.stringify(current) === JSON.stringify(value);
}
