/**
 * Which steps may start now, forward and in back-out: the pure scheduling of a run, kept out of
 * the workflow so it is tested without Temporal and the workflow reads as the story of a run.
 *
 * Both plans are counters over the dependency graph (Kahn's algorithm), so a run costs time and
 * memory linear in its steps and dependencies, however large the runbook. Ready steps come out in
 * a deterministic order (the order of the graph's lists), which the workflow relies on: the
 * order in which it starts activities is part of its history.
 */

/** The graph a plan needs: steps in runbook order and, for each, the steps it waits for. */
export interface PlanGraph {
  readonly order: readonly string[];
  dependsOn(id: string): readonly string[];
}

/** Forward: a step is ready when every step it depends on is done. */
export class ForwardPlan {
  readonly #remaining = new Map<string, number>();
  readonly #dependents = new Map<string, string[]>();

  /**
   * @param isDone steps already done (a run continued from a checkpoint starts part-way).
   */
  constructor(graph: PlanGraph, isDone: (id: string) => boolean) {
    for (const id of graph.order) {
      const deps = graph.dependsOn(id);
      this.#remaining.set(id, deps.filter((dep) => !isDone(dep)).length);
      for (const dep of deps) {
        const list = this.#dependents.get(dep);
        if (list) list.push(id);
        else this.#dependents.set(dep, [id]);
      }
    }
  }

  /** Whether every dependency of `id` is done. */
  isReady(id: string): boolean {
    return this.#remaining.get(id) === 0;
  }

  /** Records that `id` is done; returns the steps that became ready, in graph order. */
  markDone(id: string): string[] {
    const ready: string[] = [];
    for (const next of this.#dependents.get(id) ?? []) {
      const left = this.#remaining.get(next)! - 1;
      this.#remaining.set(next, left);
      if (left === 0) ready.push(next);
    }
    return ready;
  }
}

/**
 * Back-out, in reverse dependency order: the undo of a step may start once every step that
 * depends on it, directly or through steps with nothing to undo, has been undone.
 *
 * A step with nothing to undo (it never ran, or has no back-out) is cleared as soon as its own
 * dependents are, so it never holds anything up; that is what makes the order transitive
 * without computing the transitive closure (which is quadratic).
 */
export class BackoutPlan {
  readonly #pending = new Map<string, number>();
  readonly #dependsOn: (id: string) => readonly string[];
  readonly #toUndo: ReadonlySet<string>;
  readonly #position = new Map<string, number>();
  readonly #ready: string[] = [];

  /**
   * @param toUndo steps whose undo must run.
   * @param undone steps of `toUndo` already undone (a run continued from a checkpoint).
   */
  constructor(graph: PlanGraph, toUndo: Iterable<string>, undone: (id: string) => boolean = () => false) {
    this.#dependsOn = (id) => graph.dependsOn(id);
    this.#toUndo = new Set(toUndo);
    graph.order.forEach((id, i) => {
      this.#position.set(id, i);
      if (!this.#pending.has(id)) this.#pending.set(id, 0);
      for (const dep of graph.dependsOn(id)) this.#pending.set(dep, (this.#pending.get(dep) ?? 0) + 1);
    });
    for (const id of graph.order) {
      if (this.#pending.get(id) === 0) this.#clearOrQueue(id, undone);
    }
  }

  /** Undos that may start now and were not handed out before, in runbook order. */
  takeReady(): string[] {
    return this.#ready.splice(0).sort((a, b) => this.#position.get(a)! - this.#position.get(b)!);
  }

  /** Whether some undo is ready and not yet handed out. */
  hasReady(): boolean {
    return this.#ready.length > 0;
  }

  /** Records that the undo of `id` finished (done, or resolved by hand). */
  markUndone(id: string): void {
    this.#clear(id, () => false);
  }

  /** A step whose dependents are all cleared: undo it, or clear it at once. */
  #clearOrQueue(id: string, undone: (id: string) => boolean): void {
    if (this.#toUndo.has(id) && !undone(id)) {
      this.#ready.push(id);
    } else {
      this.#clear(id, undone);
    }
  }

  /** Clears `id` and, iteratively, every step that was waiting only for it. */
  #clear(first: string, undone: (id: string) => boolean): void {
    const stack = [first];
    while (stack.length > 0) {
      const id = stack.pop()!;
      for (const dep of this.#dependsOn(id)) {
        const left = this.#pending.get(dep)! - 1;
        this.#pending.set(dep, left);
        if (left !== 0) continue;
        if (this.#toUndo.has(dep) && !undone(dep)) this.#ready.push(dep);
        else stack.push(dep);
      }
    }
  }
}
