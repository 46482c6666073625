/**
 * The step graph as a simulation wants it: index arrays in an order where every step comes after its dependencies
 * (forward nights), with the reverse edges (back-out nights), and the planned critical path. Pure.
 */
import { effectiveDependencies, topologicalOrder } from '../runbook/graph.js';
import { earliestStart, type StartRules } from '../runbook/fixed-starts.js';
import type { Runbook } from '../runbook/schema.js';

/** The graph as index arrays, in an order where every step comes after its dependencies. */
export function compileGraph(runbook: Runbook) {
  const order = topologicalOrder(runbook);
  const index = new Map(order.map((id, i) => [id, i] as const));
  const deps = effectiveDependencies(runbook);
  const dependsOn = order.map((id) => Int32Array.from((deps[id] ?? []).map((d) => index.get(d)!)));
  const dependents: number[][] = order.map(() => []);
  dependsOn.forEach((list, i) => list.forEach((d) => dependents[d]!.push(i)));
  // Flat arrays for the simulation's inner loops: the dependencies of step i are depFlat[depStart[i]..depStart[i+1]).
  const flat = (lists: readonly ArrayLike<number>[]) => {
    const start = new Int32Array(lists.length + 1);
    lists.forEach((list, i) => (start[i + 1] = start[i]! + list.length));
    const values = new Int32Array(start[lists.length]!);
    lists.forEach((list, i) => values.set(Array.from(list), start[i]));
    return { start, values };
  };
  return {
    order,
    index,
    dependsOn,
    dependents: dependents.map((list) => Int32Array.from(list)),
    deps: flat(dependsOn),
    rdeps: flat(dependents),
  };
}

/** The compiled graph of a runbook. */
export type CompiledGraph = ReturnType<typeof compileGraph>;

/** The planned critical path's length, with the fixed starts and freezes that hold steps back. */
export function plannedLength(graph: CompiledGraph, planned: ReadonlyMap<string, number | null>, holds?: StartRules): number {
  const end = new Float64Array(graph.order.length);
  let longest = 0;
  graph.order.forEach((id, i) => {
    let start = 0;
    for (const d of graph.dependsOn[i]!) start = Math.max(start, end[d]!);
    if (holds) start = earliestStart(holds, id, start).startMs;
    end[i] = start + (planned.get(id) ?? 0);
    longest = Math.max(longest, end[i]);
  });
  return longest;
}
