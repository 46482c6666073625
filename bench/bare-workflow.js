// The baseline for the engine benchmark: a bare Temporal workflow that runs N no-op
// activities one after another, with no state, no recording, nothing else.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities({ startToCloseTimeout: '1m' });

export async function bareNoop(count) {
  for (let i = 0; i < count; i += 1) await noop(i);
  return count;
}
