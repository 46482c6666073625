/**
 * One activation, one order of commands, whatever the order of its jobs (issue 16).
 *
 * When a person's Update and another job (an activity's result, a timer) reach the run in one workflow task, the SDK
 * handles the Update at once: it is validated, accepted and its handler started before the other job's consequences
 * run. Which of the two comes first is not the workflow's to choose, and it is not the same live and in replay: a
 * worker killed mid-step left a run whose live task took the activity's timeout first and the Update after, while
 * every replay hands the Update over first, so the run could never move again (test/faults-histories/). The commands
 * of such an activation followed the order, and the microtask turns, of its jobs.
 *
 * Here the order is decided once: an Update that shares its activation with other jobs is held back, the other jobs
 * are handled, and the Update is delivered once what they set off has settled (no microtask left, no condition
 * ready): as if it had come in the next activation, which is what a live task that handles them apart does. Its
 * validator then also sees the run as the other jobs left it. An activation of Updates alone is not touched.
 *
 * Executions of `cutoverRun` started before {@link PATCHES.settledUpdates} keep the SDK's order, with one exception
 * that only ever fixes a replay: an accepted Update whose own validator refuses it at the front of its activation
 * cannot have been accepted there, so live it came after the rest, and it is delivered there. Every other Update
 * keeps its place, so nothing that replays today changes.
 *
 * The frozen first workflow type (`runRunbook`) has no patch to tell its executions apart, and is `settled` for
 * all of them: its stuck history replays (the Update there was valid at either place, so only this fixes it). The
 * cost: a `runRunbook` execution whose history has a task that handled an Update first while another job of the same
 * task also produced commands no longer replays. No recorded history of that type has such a task; the type is
 * retired and `cutover doctor` names its open executions.
 *
 * The SDK offers no public hook for this: the jobs are taken from the activation through an internals interceptor
 * that the workflow installs on itself (no worker or bundle option is needed, so no deployment can forget it), and
 * the held Update is handed to the SDK's own `doUpdate` from a blocked condition that the SDK evaluates first. This
 * touches the SDK's internals (pinned at 1.24.0); test/workflow-activation-order.test.ts fails if they move.
 *
 * Deterministic: decided only from the activation's jobs and the workflow's own state.
 */
import type { ActivateInput, ConcludeActivationInput, ConcludeActivationOutput, WorkflowInternalsInterceptor } from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/workflow';
import { getActivator } from '@temporalio/workflow/lib/global-attributes.js';
import { FAILURE_TYPE } from '../run/failures.js';

/** How Updates that share an activation with other jobs are delivered. */
export type UpdateDelivery =
  /** Always after the other jobs have settled, live and in replay (executions from {@link PATCHES.settledUpdates}). */
  | 'settled'
  /** Where the SDK puts them, unless the history shows they cannot have been accepted there (older executions). */
  | 'as-recorded';

type Activator = ReturnType<typeof getActivator>;
type Job = NonNullable<ActivateInput['activation']['jobs']>[number];
type UpdateJob = NonNullable<Job['doUpdate']>;

/** Installs the delivery rule on the running execution; called once, first thing in the workflow function. */
export function orderActivations(delivery: UpdateDelivery): void {
  const activator = getActivator();
  const held: UpdateJob[] = [];
  const heldBack = (job: Job): boolean =>
    job.doUpdate != null && (delivery === 'settled' || (job.doUpdate.runValidator === false && refusedHere(activator, job.doUpdate)));
  const interceptor: WorkflowInternalsInterceptor = {
    activate(input: ActivateInput, next) {
      const jobs = input.activation.jobs ?? [];
      const late = jobs.filter(heldBack);
      if (late.length === 0 || late.length === jobs.length) return next(input);
      next({ ...input, activation: { ...input.activation, jobs: jobs.filter((job) => !late.includes(job)) } });
      held.push(...late.map((job) => job.doUpdate!));
      deliverWhenSettled(activator, held);
    },
    concludeActivation(input: ConcludeActivationInput, next): ConcludeActivationOutput {
      // Cannot happen (see deliverWhenSettled); if it did, failing the task is better than an Update left unanswered.
      if (held.length > 0) {
        throw ApplicationFailure.create({ type: FAILURE_TYPE.invalidInput, message: 'an Update was held back past its activation' });
      }
      return next(input);
    },
  };
  activator.interceptors.internals.push(interceptor);
}

/**
 * Hands `held` to the SDK once the activation has settled: at the first evaluation of the run's conditions that
 * follows a microtask flush, with no other condition ready. The condition doing it is made the first the SDK
 * evaluates, so nothing has been unblocked before it in that pass; and the SDK evaluates the conditions again
 * whenever one was unblocked, so it is always reached.
 */
function deliverWhenSettled(activator: Activator, held: UpdateJob[]): void {
  const conditions = activator.blockedConditions;
  const seq = activator.nextSeqs.condition++;
  // True once the microtasks queued since the last look have run: the SDK evaluates conditions after each flush.
  let flushed = false;
  const look = (): void => {
    flushed = false;
    void Promise.resolve().then(() => {
      flushed = true;
    });
  };
  look();
  const settled = (): boolean => {
    const afterFlush = flushed;
    look();
    if (!afterFlush) return false;
    for (const [key, condition] of conditions) if (key !== seq && condition.fn()) return false;
    for (const job of held.splice(0)) activator.doUpdate(job);
    return true;
  };
  const others = [...conditions];
  conditions.clear();
  conditions.set(seq, { fn: settled, resolve: () => undefined });
  for (const [key, condition] of others) conditions.set(key, condition);
}

/** Whether the Update's own validator refuses it now (an Update without one is never refused). */
function refusedHere(activator: Activator, job: UpdateJob): boolean {
  const validator = activator.updateHandlers.get(job.name ?? '')?.validator;
  if (!validator) return false;
  try {
    const args = (job.input ?? []).map((payload) => activator.payloadConverter.fromPayload(payload));
    (validator as (...args: unknown[]) => void)(...args);
    return false;
  } catch {
    return true;
  }
}
