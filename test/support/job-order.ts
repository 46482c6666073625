/**
 * Workflow interceptors for replays (test/workflow-activation-order.test.ts): they hand the workflow an activation's
 * Updates before its other jobs, or after them, as Temporal's live and replayed tasks may. Bundled only by that test.
 */
import type { ActivateInput, WorkflowInterceptorsFactory } from '@temporalio/workflow';

type Job = NonNullable<ActivateInput['activation']['jobs']>[number];

/** Interceptors that put an activation's Updates `where` its other jobs are, keeping each group's own order. */
export function updatesPut(where: 'first' | 'last'): WorkflowInterceptorsFactory {
  return () => ({
    internals: [
      {
        activate(input, next) {
          const jobs: Job[] = input.activation.jobs ?? [];
          const updates = jobs.filter((job) => job.doUpdate != null);
          const others = jobs.filter((job) => job.doUpdate == null);
          return next({
            ...input,
            activation: { ...input.activation, jobs: where === 'first' ? [...updates, ...others] : [...others, ...updates] },
          });
        },
      },
    ],
  });
}
