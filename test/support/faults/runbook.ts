/**
 * The generated 30-step runbook of the fault scenarios, the outcome it must end with, and the seeded random numbers.
 * Part of the fault scenarios (index.ts says what they are and why they import the way they do).
 */
import type { RunState } from '../../../run/state.js';

/** Deterministic pseudo-random numbers in [0, 1) from a seed (mulberry32), so a failure can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// The runbook

/** People and the roles they hold, the same in every runbook here. */
export const PEOPLE = { lead: 'alice', dba: 'bob', comms: 'carol', business: 'dana' } as const;
export type Role = keyof typeof PEOPLE;

export interface StepSpec {
  id: string;
  owner: Role;
  kind: 'work' | 'manual' | 'gate';
  dependsOn: string[];
  undo: boolean;
  phase: string;
}

/** A generated runbook and what the oracles need to know about it. */
export interface FaultRunbook {
  name: string;
  yaml: string;
  /** Step ids in runbook order. */
  order: string[];
  specs: Record<string, StepSpec>;
  /** For each step, every step it depends on, directly, through others or through the phase order. */
  dependsOn: Record<string, Set<string>>;
}

export interface RunbookOptions {
  name: string;
  /**
   * `shell`: each action sleeps a little (so a kill can land mid-command) and appends its
   * `CUTOVER_IDEMPOTENCY_KEY` to `ledger.txt`, and each undo appends its own key. `simulate`:
   * quick simulated actions and undos, nothing on disk.
   */
  actions: 'shell' | 'simulate';
  /** With people: two manual steps and a go/no-go gate. Without: those are ordinary steps. */
  people: boolean;
  /** The step whose action fails (default `final`, the last one). */
  failAt?: string;
  /** A step whose undo fails. */
  failUndoAt?: string;
  seed?: number;
}

/**
 * 30 steps in seven phases: preparation, a freeze, three parallel migration streams (6, 6 and 7
 * steps, one manual step in stream b), a reconciliation with a manual sign-off, a go/no-go gate,
 * two switch-ons in parallel, and hypercare whose last step fails under `backout: automatic`.
 */
export function faultRunbook(options: RunbookOptions): FaultRunbook {
  const random = seeded(options.seed ?? 1);
  const phases: Array<{ id: string; kind: string; steps: StepSpec[] }> = [];
  const phase = (id: string, kind: string, steps: Array<Omit<StepSpec, 'phase'>>) =>
    phases.push({ id, kind, steps: steps.map((s) => ({ ...s, phase: id })) });
  const work = (id: string, dependsOn: string[] = [], undo = true, owner: Role = 'dba') => ({
    id,
    owner,
    kind: 'work' as const,
    dependsOn,
    undo,
  });
  const manual = (id: string, owner: Role, dependsOn: string[] = []) =>
    options.people ? { id, owner, kind: 'manual' as const, dependsOn, undo: false } : work(id, dependsOn, false, owner);
  const stream = (letter: string, length: number, manualAt?: number) =>
    Array.from({ length }, (_, i) => {
      const id = `${letter}${i + 1}`;
      const deps = i === 0 ? [] : [`${letter}${i}`];
      return i + 1 === manualAt ? manual(id, 'dba', deps) : work(id, deps);
    });

  phase('prepare', 'preparation', [work('snapshot'), manual('announce', 'comms', ['snapshot'])]);
  phase('freeze', 'data_freeze', [work('stop-writes')]);
  phase('migrate', 'migration', [...stream('a', 6), ...stream('b', 6, 3), ...stream('c', 7)]);
  phase('reconcile', 'reconciliation', [
    work('count', [], false),
    work('sample', [], false),
    manual('sign-off', 'business', ['count', 'sample']),
  ]);
  // Without people the gate is an ordinary step, and a go/no-go phase must have a gate.
  phase('decide', options.people ? 'go_no_go' : 'reconciliation', [
    options.people ? { id: 'go', owner: 'lead', kind: 'gate', dependsOn: [], undo: false } : work('go', [], false, 'lead'),
  ]);
  phase('switch', 'interface_switch_on', [work('sync'), work('api')]);
  phase('hypercare', 'hypercare', [work('smoke'), work('final', ['smoke'])]);

  const failAt = options.failAt ?? 'final';
  const lines = [
    `name: ${options.name}`,
    'version: 1',
    'lead: lead',
    `roles: { lead: [${PEOPLE.lead}], dba: [${PEOPLE.dba}], comms: [${PEOPLE.comms}], business: [${PEOPLE.business}] }`,
    'backout: { policy: automatic }',
    'phases:',
  ];
  const action = (step: StepSpec, failing: boolean, purpose: 'do' | 'undo'): string => {
    if (options.actions === 'simulate')
      return `{ kind: simulate, duration: ${Math.round(10 + random() * 30)}ms${failing ? ', outcome: failure' : ''} }`;
    // The key is appended when the work is done: a key in the ledger means the change applied.
    const nap = purpose === 'do' ? `sleep 0.${1 + Math.floor(random() * 3)}; ` : '';
    return `{ kind: shell, command: '${nap}echo "$CUTOVER_IDEMPOTENCY_KEY" >> ledger.txt${failing ? '; exit 3' : ''}' }`;
  };
  for (const p of phases) {
    lines.push(`  - id: ${p.id}`, `    kind: ${p.kind}`, '    steps:');
    for (const s of p.steps) {
      const fields = [`id: ${s.id}`, `title: Step ${s.id}`, `owner: ${s.owner}`];
      if (s.kind !== 'gate') fields.push('expected: 1s');
      if (s.dependsOn.length > 0) fields.push(`depends_on: [${s.dependsOn.join(', ')}]`);
      if (s.kind === 'gate') fields.push('gate: { approvers: [lead, business], rule: all }');
      else if (s.kind === 'manual') fields.push('action: { kind: manual, instructions: "Do it by hand" }');
      else fields.push(`action: ${action(s, s.id === failAt, 'do')}`);
      if (s.undo) fields.push(`backout: ${action(s, s.id === options.failUndoAt, 'undo')}`);
      lines.push(`      - { ${fields.join(', ')} }`);
    }
  }

  const specs: Record<string, StepSpec> = {};
  for (const p of phases) for (const s of p.steps) specs[s.id] = s;
  const order = Object.keys(specs);
  // The oracle's own reading of the runbook: explicit dependencies, and every step of an earlier
  // phase (phases run in order), closed transitively.
  const phaseIndex = new Map(phases.flatMap((p, i) => p.steps.map((s) => [s.id, i] as const)));
  const dependsOn: Record<string, Set<string>> = {};
  const closure = (id: string): Set<string> => {
    if (dependsOn[id]) return dependsOn[id];
    const found = new Set<string>();
    for (const other of order) if (phaseIndex.get(other)! < phaseIndex.get(id)!) found.add(other);
    for (const dep of specs[id]!.dependsOn) {
      found.add(dep);
      for (const further of closure(dep)) found.add(further);
    }
    return (dependsOn[id] = found);
  };
  for (const id of order) closure(id);
  return { name: options.name, yaml: `${lines.join('\n')}\n`, order, specs, dependsOn };
}

/**
 * What a run of {@link faultRunbook} must end with, whatever happened to its workers, server
 * or store: every step done except `final`, which fails; the gate approved by both roles; the
 * back-out undoing every step that has an undo, `final` included; the manual steps done by
 * their owners. Compare with {@link outcomeOf}.
 */
export function expectedOutcome(runbook: FaultRunbook): Outcome {
  const steps: Record<string, string> = {};
  for (const id of runbook.order) {
    const s = runbook.specs[id]!;
    const forward = id === 'final' ? 'failed' : 'succeeded';
    steps[id] = s.kind === 'gate' ? forward : `${forward}/${s.undo ? 'undone' : 'not_needed'}`;
  }
  const decisions = runbook.order
    .filter((id) => runbook.specs[id]!.kind === 'manual')
    .map((id) => `complete_manual:${PEOPLE[runbook.specs[id]!.owner]}:${id}`);
  for (const id of runbook.order) {
    if (runbook.specs[id]!.kind === 'gate') decisions.push(`approve:${PEOPLE.lead}:${id}`, `approve:${PEOPLE.business}:${id}`);
  }
  return { status: 'backed_out', trigger: 'step_failed', steps, decisions: decisions.sort() };
}

/** A run's end, with what may legitimately differ after a fault taken out (see {@link outcomeOf}). */
export interface Outcome {
  status: string;
  trigger: string | undefined;
  /** step id -> `status` or `status/back-out status`. */
  steps: Record<string, string>;
  /** `kind:by:target`, sorted, without the lead's resolutions. */
  decisions: string[];
}

/**
 * The parts of a run's final state a person judges it by. Two things may differ after a fault
 * and are normalised: an undo the lead recorded done by hand (`resolved`) after a lost worker,
 * once the ledger showed that it applied, counts as undone like one that succeeded; and the
 * lead's `resolve` decisions themselves are left out (they are checked against the ledger by
 * {@link playPeople} instead).
 */
export function outcomeOf(state: RunState): Outcome {
  const steps: Record<string, string> = {};
  for (const id of state.order) {
    const s = state.steps[id]!;
    const undo = s.backout?.status;
    steps[id] = undo === undefined ? s.status : `${s.status}/${undo === 'succeeded' || undo === 'resolved' ? 'undone' : undo}`;
  }
  return {
    status: state.status,
    trigger: state.backout.trigger,
    steps,
    decisions: state.decisions
      .filter((d) => d.kind !== 'resolve')
      .map((d) => `${d.kind}:${d.by}:${d.target ?? ''}`)
      .sort(),
  };
}
