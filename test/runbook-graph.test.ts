import { describe, it, expect } from 'vitest';
import {
  backoutDependents,
  effectiveDependencies,
  findCycle,
  findCycles,
  plannedSchedule,
  topologicalOrder,
  type GraphRunbook,
} from '../runbook/graph.js';

interface S {
  id: string;
  depends_on?: string[];
  expected?: string;
}
const phases = (...list: S[][]): GraphRunbook => ({ phases: list.map((steps) => ({ steps })) });

/**
 *   prep:    a ─┬─> b          (b depends on a; c is independent)
 *               c
 *   migrate: d, e -> d         (sinks of prep are b and c)
 *   decide:  g
 */
const sample = phases(
  [
    { id: 'a', expected: '10m' },
    { id: 'b', depends_on: ['a'], expected: '5m' },
    { id: 'c', expected: '30m' },
  ],
  [
    { id: 'd', expected: '1h' },
    { id: 'e', depends_on: ['d'], expected: '15m' },
  ],
  [{ id: 'g' }],
);

describe('effectiveDependencies', () => {
  it('adds the sinks of the previous phase to every step of the next one', () => {
    expect(effectiveDependencies(sample)).toEqual({
      a: [],
      b: ['a'],
      c: [],
      d: ['b', 'c'],
      e: ['d', 'b', 'c'],
      g: ['e'],
    });
  });

  it('keeps explicit dependencies first, without repeats, unknown ids or barrier duplicates', () => {
    const deps = effectiveDependencies(phases([{ id: 'a' }, { id: 'b' }], [{ id: 'c', depends_on: ['b', 'nope', 'b', 'a'] }]));
    expect(deps.c).toEqual(['b', 'a']);
  });

  it('stays linear for a 500-step chain, in one phase or in 500', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `s${i}`);
    const chain = ids.map((id, i) => ({ id, depends_on: i === 0 ? [] : [ids[i - 1]!] }));
    const onePhase = effectiveDependencies(phases(chain));
    const manyPhases = effectiveDependencies(phases(...ids.map((id) => [{ id }])));
    for (const deps of [onePhase, manyPhases]) {
      const edges = Object.values(deps).reduce((sum, list) => sum + list.length, 0);
      expect(edges).toBe(499);
      expect(deps.s499).toEqual(['s498']);
    }
  });
});

describe('findCycle and findCycles', () => {
  it('finds no cycle in an acyclic runbook', () => {
    expect(findCycle(sample)).toBeUndefined();
  });

  it('returns the steps of a cycle in dependency order', () => {
    const cyclic = phases([{ id: 'x' }, { id: 'a', depends_on: ['c'] }, { id: 'b', depends_on: ['a'] }, { id: 'c', depends_on: ['b'] }]);
    // a depends on c, c on b, b on a.
    expect(findCycle(cyclic)).toEqual(['a', 'c', 'b']);
  });

  it('reports a step that depends on itself', () => {
    expect(findCycle(phases([{ id: 'a', depends_on: ['a'] }]))).toEqual(['a']);
  });

  it('reports one shortest cycle per tangle, in key order', () => {
    expect(
      findCycles({
        a: ['b'],
        b: ['a', 'c'],
        c: ['a'],
        d: [],
        e: ['f'],
        f: ['e'],
      }),
    ).toEqual([
      ['a', 'b'],
      ['e', 'f'],
    ]);
  });
});

describe('topologicalOrder', () => {
  it('keeps the runbook order when it already respects the dependencies', () => {
    expect(topologicalOrder(sample)).toEqual(['a', 'b', 'c', 'd', 'e', 'g']);
  });

  it('moves a step after a later-written step it depends on', () => {
    const order = topologicalOrder(phases([{ id: 'a', depends_on: ['c'] }, { id: 'b' }, { id: 'c' }]));
    expect(order).toEqual(['c', 'a', 'b']);
  });

  it('handles a 500-step chain written backwards without overflowing the stack', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `s${i}`);
    // Written last-first: s0 depends on s1 ... so the order is fully reversed.
    const steps = ids.map((id, i) => ({ id, depends_on: i === 499 ? [] : [ids[i + 1]!] }));
    expect(topologicalOrder(phases(steps))).toEqual([...ids].reverse());
  });

  it('refuses a cyclic runbook and names the cycle', () => {
    expect(() =>
      topologicalOrder(
        phases([
          { id: 'a', depends_on: ['b'] },
          { id: 'b', depends_on: ['a'] },
        ]),
      ),
    ).toThrow('dependency cycle a -> b -> a');
  });
});

describe('plannedSchedule', () => {
  it('starts each step when its last dependency ends and finds the critical path', () => {
    const plan = plannedSchedule(sample);
    const m = 60_000;
    expect(plan.steps).toEqual({
      a: { startMs: 0, durationMs: 10 * m },
      b: { startMs: 10 * m, durationMs: 5 * m },
      c: { startMs: 0, durationMs: 30 * m },
      d: { startMs: 30 * m, durationMs: 60 * m },
      e: { startMs: 90 * m, durationMs: 15 * m },
      g: { startMs: 105 * m, durationMs: 0 },
    });
    expect(plan.criticalPathMs).toBe(105 * m);
    // c (30m) outlasts a+b (15m), and the closing gate stays on the path.
    expect(plan.criticalPath).toEqual(['c', 'd', 'e', 'g']);
  });

  it('plans an empty duration for steps without `expected`', () => {
    const plan = plannedSchedule(phases([{ id: 'a' }, { id: 'b', depends_on: ['a'], expected: '1h30m' }]));
    expect(plan.steps.a).toEqual({ startMs: 0, durationMs: 0 });
    expect(plan.criticalPathMs).toBe(90 * 60_000);
  });

  it('adds up a 500-step chain', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `s${i}`);
    const steps = ids.map((id, i) => ({ id, depends_on: i === 0 ? [] : [ids[i - 1]!], expected: '1s' }));
    const plan = plannedSchedule(phases(steps));
    expect(plan.steps.s499).toEqual({ startMs: 499_000, durationMs: 1000 });
    expect(plan.criticalPathMs).toBe(500_000);
    expect(plan.criticalPath).toHaveLength(500);
  });
});

describe('backoutDependents', () => {
  it('lists, for each step to undo, the steps of the set that depend on it, even through others', () => {
    // a -> b (prep), then the barrier: d and e depend on b and c; g on e.
    expect(backoutDependents(sample, ['a', 'c', 'e', 'g'])).toEqual({
      a: ['e', 'g'], // through b (not in the set) and d
      c: ['e', 'g'],
      e: ['g'],
      g: [],
    });
  });

  it('ignores steps outside the set and keeps runbook order', () => {
    const parallel = phases([{ id: 'a' }, { id: 'b' }, { id: 'c', depends_on: ['a'] }, { id: 'd', depends_on: ['a'] }]);
    expect(backoutDependents(parallel, ['d', 'a', 'b', 'c'])).toEqual({ d: [], a: ['c', 'd'], b: [], c: [] });
  });
});
