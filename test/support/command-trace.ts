/**
 * A workflow interceptor for replays: after each activation it hands to the `commandTrace` sink (registered with
 * `callDuringReplay`) the activation's jobs, the commands it produced in order, and on which microtask turn of the
 * activation each activity and timer was scheduled and each Update answered. Bundled with the workflow code only by
 * test/workflow-commands.test.ts; the worker never loads it.
 *
 * Why turns: the commands of one activation come out in the order its coroutines reach them, turn by turn, so a
 * refactor that adds or removes an `await` on a path can reorder them against another coroutine's in a history no
 * test recorded (issue 16: an activation's commands must not depend on such order). Same turns, same order.
 */
import { proxySinks, type Sinks, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

export interface CommandTraceSinks extends Sinks {
  commandTrace: { activation(jobs: string[], commands: string, turns: string[]): void };
}

const { commandTrace } = proxySinks<CommandTraceSinks>();

/** How many microtask turns of an activation are counted; what comes later (after conditions) is "late". */
const TURNS = 400;

export const interceptors: WorkflowInterceptorsFactory = () => {
  let jobs: string[] = [];
  let turns: string[] = [];
  let turn = 0;
  const at = (): string => (turn < TURNS ? String(turn) : 'late');
  return {
    inbound: [
      {
        handleUpdate(input, next) {
          // Observed, not chained: the handler's own promise goes back to the SDK (a `then` would delay the answer).
          const answer = next(input);
          const seen = (outcome: string) => () => turns.push(`update ${input.name} ${outcome}@${at()}`);
          answer.then(seen('answered'), seen('refused'));
          return answer;
        },
      },
    ],
    outbound: [
      {
        scheduleActivity(input, next) {
          turns.push(`${input.activityType}@${at()}`);
          return next(input);
        },
        scheduleLocalActivity(input, next) {
          turns.push(`local ${input.activityType}@${at()}`);
          return next(input);
        },
        startTimer(input, next) {
          turns.push(`timer@${at()}`);
          return next(input);
        },
      },
    ],
    internals: [
      {
        activate(input, next) {
          if (jobs.length === 0) {
            // A clock of its own: one link per microtask turn, beside the workflow's own promises.
            turn = 0;
            let tick = Promise.resolve();
            for (let i = 0; i < TURNS; i += 1)
              tick = tick.then(() => {
                turn += 1;
              });
          }
          for (const job of input.activation.jobs ?? []) {
            jobs.push(Object.keys(job).find((k) => (job as Record<string, unknown>)[k] != null) ?? '?');
          }
          return next(input);
        },
        concludeActivation(input, next) {
          const output = next(input);
          commandTrace.activation(jobs, JSON.stringify(output.commands), turns);
          jobs = [];
          turns = [];
          return output;
        },
      },
    ],
  };
};
