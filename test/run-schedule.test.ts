/** The pure scheduling of a run: which steps may start, forward and in back-out. */
import { describe, expect, it } from 'vitest';
import { BackoutPlan, ForwardPlan, type PlanGraph } from '../run/schedule.js';

const graphOf = (deps: Record<string, string[]>): PlanGraph => ({ order: Object.keys(deps), dependsOn: (id) => deps[id] ?? [] });

describe('ForwardPlan', () => {
  it('releases a step when its last dependency is done, in graph order', () => {
    const plan = new ForwardPlan(graphOf({ a: [], b: [], c: ['a', 'b'], d: ['a'] }), () => false);
    expect(['a', 'b', 'c', 'd'].filter((id) => plan.isReady(id))).toEqual(['a', 'b']);
    expect(plan.markDone('a')).toEqual(['d']);
    expect(plan.markDone('b')).toEqual(['c']);
  });

  it('starts part-way when some steps are already done (a run continued from a checkpoint)', () => {
    const plan = new ForwardPlan(graphOf({ a: [], b: ['a'], c: ['b'] }), (id) => id === 'a');
    expect(plan.isReady('b')).toBe(true);
    expect(plan.isReady('c')).toBe(false);
  });
});

describe('BackoutPlan', () => {
  it('undoes dependents first, passing through steps with nothing to undo', () => {
    // a <- b <- c <- d; b has nothing to undo: a waits for c, c waits for d.
    const plan = new BackoutPlan(graphOf({ a: [], b: ['a'], c: ['b'], d: ['c'] }), ['a', 'c', 'd']);
    expect(plan.takeReady()).toEqual(['d']);
    expect(plan.takeReady()).toEqual([]);
    plan.markUndone('d');
    expect(plan.takeReady()).toEqual(['c']);
    plan.markUndone('c');
    expect(plan.takeReady()).toEqual(['a']);
  });

  it('runs independent undos together and waits for every dependent of a shared step', () => {
    const plan = new BackoutPlan(graphOf({ base: [], x: ['base'], y: ['base'] }), ['base', 'x', 'y']);
    expect(plan.takeReady()).toEqual(['x', 'y']);
    plan.markUndone('x');
    expect(plan.hasReady()).toBe(false);
    plan.markUndone('y');
    expect(plan.takeReady()).toEqual(['base']);
  });

  it('picks up where a checkpoint left it: undone steps count as cleared', () => {
    const plan = new BackoutPlan(graphOf({ a: [], b: ['a'], c: ['b'] }), ['a', 'b', 'c'], (id) => id === 'c');
    expect(plan.takeReady()).toEqual(['b']);
  });

  it('handles a 100,000-step chain without recursion or a transitive closure', () => {
    const deps: Record<string, string[]> = {};
    for (let i = 0; i < 100_000; i += 1) deps[`s${i}`] = i === 0 ? [] : [`s${i - 1}`];
    const ids = Object.keys(deps);
    const plan = new BackoutPlan(
      graphOf(deps),
      ids.filter((_, i) => i % 2 === 0),
    );
    const order: string[] = [];
    for (let ready = plan.takeReady(); ready.length > 0; ready = plan.takeReady()) {
      for (const id of ready) {
        order.push(id);
        plan.markUndone(id);
      }
    }
    expect(order).toHaveLength(50_000);
    expect(order[0]).toBe('s99998');
    expect(order.at(-1)).toBe('s0');
  });
});
