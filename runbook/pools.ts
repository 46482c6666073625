/**
 * Worker pools: a step with `runs_on: db-host` runs (action, checks, back-out) only on workers started with
 * `cutover worker --pool db-host`, on the machine that holds that system. Each pool is a task queue of its own next
 * to the run's queue; this module is the one place that names it.
 */
import type { Runbook } from './schema.js';

/** The task queue that serves `pool` for runs on `taskQueue`. */
export function poolTaskQueue(taskQueue: string, pool: string): string {
  return `${taskQueue}@${pool}`;
}

/** The pools a runbook's steps name, sorted, each once. */
export function runbookPools(runbook: Pick<Runbook, 'phases'>): string[] {
  const pools = new Set<string>();
  for (const phase of runbook.phases) for (const step of phase.steps) if (step.runs_on) pools.add(step.runs_on);
  return [...pools].sort();
}
