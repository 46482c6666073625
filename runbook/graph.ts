/**
 * The step graph of a runbook: which steps wait for which, in what order they can run, when
 * each is planned to start, and in what order back-out undoes them.
 *
 * Pure and deterministic: the Temporal workflow bundle imports this module, so it uses no Node
 * built-ins, no zod at run time, no clocks and no randomness. Iteration follows runbook order
 * (phases, then steps) everywhere, so the same runbook always gives the same answers.
 *
 * Functions assume step ids are unique (validation reports duplicates; here the first step with
 * an id wins) and silently ignore `depends_on` entries that name no step, so a half-valid
 * runbook never makes them throw — except {@link topologicalOrder} and {@link plannedSchedule},
 * which have no answer for a cyclic graph.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- named by the {@link Runbook} in GraphRunbook's TSDoc
import type { Runbook } from './schema.js';
import { parseDuration } from './duration.js';
import { earliestStart, holdsAny, startRules, type FixedStartRunbook } from './fixed-starts.js';

/**
 * The part of a runbook the graph needs. A full {@link Runbook} fits; tests can pass less.
 */
export interface GraphRunbook extends FixedStartRunbook {
  readonly phases: readonly {
    readonly kind?: string;
    readonly steps: readonly {
      readonly id: string;
      readonly depends_on?: readonly string[];
      readonly expected?: string;
      readonly not_before?: string;
    }[];
  }[];
}

/** Dependencies by step id: the steps that must finish before the key step may start. */
export type DependencyMap = Record<string, string[]>;

/** When a step is planned to run, in milliseconds from the start of the run. */
export interface PlannedStep {
  startMs: number;
  durationMs: number;
}

/** The plan of a run from the `expected` durations: earliest starts and the critical path. */
export interface PlannedSchedule {
  /** Earliest start and planned duration of every step. */
  steps: Record<string, PlannedStep>;
  /** When the last step is planned to end: the shortest the run can take. */
  criticalPathMs: number;
  /** The chain of steps that sets {@link criticalPathMs}, first step first. */
  criticalPath: string[];
}

/** Step ids in runbook order (phases, then steps), first occurrence of each id. */
function runbookStepIds(runbook: GraphRunbook): string[] {
  const seen = new Set<string>();
  const ids: string[] = [];
  for (const phase of runbook.phases) {
    for (const step of phase.steps) {
      if (!seen.has(step.id)) {
        seen.add(step.id);
        ids.push(step.id);
      }
    }
  }
  return ids;
}

/**
 * Explicit `depends_on` plus the phase barrier, for every step.
 *
 * Phases run in order, so each step of phase N implicitly depends on the *sinks* of phase N-1:
 * its steps that no other step of phase N-1 depends on. Every other step of phase N-1 finishes
 * before some sink does, so the sinks are enough to order the phases, and the lists stay small
 * (a chain of 500 steps, in one phase or in 500, gives 500 lists of one entry).
 *
 * Each list holds the explicit dependencies first, as written and without repeats or unknown
 * ids, then the barrier steps not already listed, in runbook order.
 */
export function effectiveDependencies(runbook: GraphRunbook): DependencyMap {
  const known = new Set(runbookStepIds(runbook));
  const result: DependencyMap = {};
  let previousSinks: string[] = [];
  for (const phase of runbook.phases) {
    const inPhase = new Set<string>();
    for (const step of phase.steps) inPhase.add(step.id);
    const dependedOnInPhase = new Set<string>();
    for (const step of phase.steps) {
      if (step.id in result) continue; // duplicate id: the first step wins
      const deps: string[] = [];
      const listed = new Set<string>();
      for (const dep of step.depends_on ?? []) {
        if (!known.has(dep) || listed.has(dep)) continue;
        listed.add(dep);
        deps.push(dep);
        if (inPhase.has(dep) && dep !== step.id) dependedOnInPhase.add(dep);
      }
      for (const sink of previousSinks) {
        if (!listed.has(sink)) {
          listed.add(sink);
          deps.push(sink);
        }
      }
      result[step.id] = deps;
    }
    previousSinks = [];
    const seen = new Set<string>();
    for (const step of phase.steps) {
      if (!dependedOnInPhase.has(step.id) && !seen.has(step.id)) previousSinks.push(step.id);
      seen.add(step.id);
    }
  }
  return result;
}

/**
 * Every dependency cycle of a graph, one per strongly connected component that has one, in the
 * order of the map's keys. Each cycle lists step ids without repeating the first: each step
 * depends on the next, and the last depends on the first. The cycle starts at the component's
 * first step in key order and is a shortest one through it, so messages name few steps.
 */
export function findCycles(dependencies: Readonly<Record<string, readonly string[]>>): string[][] {
  const ids = Object.keys(dependencies);
  const depsOf = (id: string): readonly string[] => (dependencies[id] ?? []).filter((dep) => dep in dependencies);

  // Tarjan's algorithm, iterative so a long chain cannot overflow the stack.
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const componentOf = new Map<string, number>();
  const components: string[][] = [];
  let counter = 0;
  for (const root of ids) {
    if (index.has(root)) continue;
    const frames: { id: string; next: number }[] = [{ id: root, next: 0 }];
    index.set(root, counter);
    lowLink.set(root, counter);
    counter += 1;
    stack.push(root);
    onStack.add(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const deps = depsOf(frame.id);
      if (frame.next < deps.length) {
        const dep = deps[frame.next]!;
        frame.next += 1;
        if (!index.has(dep)) {
          index.set(dep, counter);
          lowLink.set(dep, counter);
          counter += 1;
          stack.push(dep);
          onStack.add(dep);
          frames.push({ id: dep, next: 0 });
        } else if (onStack.has(dep)) {
          lowLink.set(frame.id, Math.min(lowLink.get(frame.id)!, index.get(dep)!));
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) lowLink.set(parent.id, Math.min(lowLink.get(parent.id)!, lowLink.get(frame.id)!));
      if (lowLink.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let member: string | undefined;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          componentOf.set(member, components.length);
          component.push(member);
        } while (member !== frame.id);
        components.push(component);
      }
    }
  }

  const reported = new Set<number>();
  const cycles: string[][] = [];
  for (const start of ids) {
    const component = componentOf.get(start)!;
    if (reported.has(component)) continue;
    const members = components[component]!;
    const selfLoop = depsOf(start).includes(start);
    if (members.length === 1 && !selfLoop) continue;
    reported.add(component);
    if (selfLoop) {
      cycles.push([start]);
      continue;
    }
    // Shortest way back to `start` inside the component, breadth first, deps in written order.
    const cameFrom = new Map<string, string>();
    const queue: string[] = [start];
    let found = false;
    for (let head = 0; head < queue.length && !found; head += 1) {
      const current = queue[head]!;
      for (const dep of depsOf(current)) {
        if (componentOf.get(dep) !== component) continue;
        if (dep === start) {
          cameFrom.set(start, current);
          found = true;
          break;
        }
        if (!cameFrom.has(dep)) {
          cameFrom.set(dep, current);
          queue.push(dep);
        }
      }
    }
    const reversed: string[] = [];
    for (let at = cameFrom.get(start)!; at !== start; at = cameFrom.get(at)!) reversed.push(at);
    cycles.push([start, ...reversed.reverse()]);
  }
  return cycles;
}

/**
 * A dependency cycle of the runbook (through effective dependencies), or undefined when there
 * is none. The ids come in order: each step depends on the next, the last on the first.
 */
export function findCycle(runbook: GraphRunbook): string[] | undefined {
  return findCycles(effectiveDependencies(runbook))[0];
}

/** The message of the error thrown for a cyclic graph. */
function cycleError(cycle: readonly string[]): Error {
  return new Error(`dependency cycle ${[...cycle, cycle[0]].join(' -> ')}`);
}

/**
 * Step ids so that every step comes after all its effective dependencies. Where the runbook
 * order already allows that, it is the runbook order; otherwise the steps a step waits for are
 * pulled forward to just before it.
 *
 * @throws Error when the dependencies form a cycle; validate the runbook first.
 */
export function topologicalOrder(runbook: GraphRunbook): string[] {
  return orderOf(effectiveDependencies(runbook), runbookStepIds(runbook));
}

function orderOf(dependencies: DependencyMap, ids: readonly string[]): string[] {
  const done = new Set<string>();
  const active = new Set<string>();
  const order: string[] = [];
  for (const root of ids) {
    if (done.has(root)) continue;
    // Depth first, post-order, iterative so a long chain cannot overflow the stack.
    const frames: { id: string; next: number }[] = [{ id: root, next: 0 }];
    active.add(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const deps = dependencies[frame.id] ?? [];
      if (frame.next < deps.length) {
        const dep = deps[frame.next]!;
        frame.next += 1;
        if (done.has(dep) || !(dep in dependencies)) continue;
        if (active.has(dep)) {
          const cycle = findCycles(dependencies)[0];
          throw cycleError(cycle ?? [dep]);
        }
        active.add(dep);
        frames.push({ id: dep, next: 0 });
        continue;
      }
      frames.pop();
      active.delete(frame.id);
      done.add(frame.id);
      order.push(frame.id);
    }
  }
  return order;
}

/**
 * The planned timing of a run: each step starts as soon as all its effective dependencies have
 * ended (and not before its `not_before`, nor inside an interface freeze: fixed-starts.ts), and lasts its `expected`
 * duration (0 when it has none, as gates usually do).
 *
 * @throws Error when the dependencies form a cycle; validate the runbook first.
 */
export function plannedSchedule(runbook: GraphRunbook): PlannedSchedule {
  const dependencies = effectiveDependencies(runbook);
  const ids = runbookStepIds(runbook);
  const expectedOf = new Map<string, string | undefined>();
  for (const phase of runbook.phases) {
    for (const step of phase.steps) {
      if (!expectedOf.has(step.id)) expectedOf.set(step.id, step.expected);
    }
  }

  const rules = startRules(runbook);
  const held = holdsAny(rules);
  const steps: Record<string, PlannedStep> = {};
  /** The dependency that ends last: it decides the start, and so the critical path. */
  const bindingDep = new Map<string, string>();
  for (const id of orderOf(dependencies, ids)) {
    let startMs = 0;
    let binding: string | undefined;
    for (const dep of dependencies[id] ?? []) {
      const planned = steps[dep];
      if (!planned) continue;
      const endMs = planned.startMs + planned.durationMs;
      if (binding === undefined || endMs > startMs) {
        startMs = endMs;
        binding = dep;
      }
    }
    if (binding !== undefined) bindingDep.set(id, binding);
    // A fixed start that holds the step back is what sets its start: the path starts again there.
    if (held) {
      const earliest = earliestStart(rules, id, startMs).startMs;
      if (earliest > startMs) {
        startMs = earliest;
        bindingDep.delete(id);
      }
    }
    const expected = expectedOf.get(id);
    steps[id] = { startMs, durationMs: (expected && parseDuration(expected)) || 0 };
  }

  let criticalPathMs = 0;
  let last: string | undefined;
  for (const id of ids) {
    const planned = steps[id]!;
    const endMs = planned.startMs + planned.durationMs;
    // `>=`: on a tie the later step wins, so a closing gate of no duration stays on the path.
    if (last === undefined || endMs >= criticalPathMs) {
      criticalPathMs = endMs;
      last = id;
    }
  }
  const criticalPath: string[] = [];
  for (let at = last; at !== undefined; at = bindingDep.get(at)) criticalPath.push(at);
  criticalPath.reverse();
  return { steps, criticalPathMs, criticalPath };
}

/**
 * For back-out in reverse dependency order: for each step of `stepIds`, the steps of that same
 * set that depend on it, directly or transitively through effective dependencies (also through
 * steps outside the set). Their undo must finish before this step's undo may start.
 *
 * Every id of `stepIds` is a key (with an empty list when nothing in the set depends on it);
 * lists are in runbook order.
 */
export function backoutDependents(runbook: GraphRunbook, stepIds: readonly string[]): Record<string, string[]> {
  const dependencies = effectiveDependencies(runbook);
  const ids = runbookStepIds(runbook);
  const position = new Map(ids.map((id, i) => [id, i] as const));
  const dependents = new Map<string, string[]>();
  for (const id of ids) {
    for (const dep of dependencies[id] ?? []) {
      const list = dependents.get(dep);
      if (list) list.push(id);
      else dependents.set(dep, [id]);
    }
  }
  const inSet = new Set(stepIds);
  const result: Record<string, string[]> = {};
  for (const id of stepIds) {
    if (id in result) continue;
    const found: string[] = [];
    const seen = new Set<string>([id]);
    const queue = [id];
    for (let head = 0; head < queue.length; head += 1) {
      for (const next of dependents.get(queue[head]!) ?? []) {
        if (seen.has(next)) continue;
        seen.add(next);
        queue.push(next);
        if (inSet.has(next)) found.push(next);
      }
    }
    found.sort((a, b) => position.get(a)! - position.get(b)!);
    result[id] = found;
  }
  return result;
}
