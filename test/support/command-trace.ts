/**
 * A workflow interceptor for replays: after each activation it hands the activation's jobs and the commands it
 * produced, in order, to the `commandTrace` sink (registered with `callDuringReplay`). Bundled with the workflow code
 * only by test/workflow-commands.test.ts; the worker never loads it.
 */
import { proxySinks, type Sinks, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

export interface CommandTraceSinks extends Sinks {
  commandTrace: { activation(jobs: string[], commands: string): void };
}

const { commandTrace } = proxySinks<CommandTraceSinks>();

export const interceptors: WorkflowInterceptorsFactory = () => {
  let jobs: string[] = [];
  return {
    internals: [
      {
        activate(input, next) {
          for (const job of input.activation.jobs ?? []) {
            jobs.push(Object.keys(job).find((k) => (job as Record<string, unknown>)[k] != null) ?? '?');
          }
          return next(input);
        },
        concludeActivation(input, next) {
          const output = next(input);
          commandTrace.activation(jobs, JSON.stringify(output.commands));
          jobs = [];
          return output;
        },
      },
    ],
  };
};
