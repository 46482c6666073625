// The baseline for the engine benchmark: a bare Temporal workflow that runs N no-op
// activities one after another, with no state, no recording, nothing else.
import { condition, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';

const { noop } = proxyActivities({ startToCloseTimeout: '1m' });

export async function bareNoop(count) {
  for (let i = 0; i < count; i += 1) await noop(i);
  return count;
}

// The baseline for the approval benchmark: a bare workflow whose Update records a vote and
// answers, with no checks, no signature, no state beyond a count.
export const bareVote = defineUpdate('bareVote');

export async function bareGate(count) {
  let votes = 0;
  setHandler(bareVote, () => {
    votes += 1;
    return votes;
  });
  await condition(() => votes >= count);
  return votes;
}
