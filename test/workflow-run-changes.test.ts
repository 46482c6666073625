/**
 * The run's summary as a delta since a revision (issue 16): a watcher that read a large run once reads, after one of
 * its steps changed, the steps that changed and nothing else (one query, not the summary and every page), and what it
 * then holds is what a whole read gives. The console and the live page follow runs this way.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunState } from '../common/read-run-state.js';
import { RunFollower } from '../common/run-follower.js';
import { temporalRunSource } from '../cli/console/temporal-run-source.js';
import { RunPoller } from '../cli/console/run-poller.js';
import { completeManualStepUpdate, runChangesQuery, runStepsQuery, runSummaryQuery } from '../workflows/messages.js';
import { startHarness, waitForState, type Harness } from './support/workflow-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

/** 1,200 manual steps in a chain: one waits for its owner at a time, the rest are pending. Three pages of steps. */
const STEPS = 1200;
const RUNBOOK = `
name: changes
version: "1"
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: load
    kind: migration
    steps:
${Array.from(
  { length: STEPS },
  (_, i) =>
    `      - { id: s${i}, title: Step ${i}, owner: dba, expected: 1s, ${i > 0 ? `depends_on: [s${i - 1}], ` : ''}action: { kind: manual, instructions: "do ${i}" } }`,
).join('\n')}
`;

/** What a reader asked the run, and how many steps came back (besides the few a summary carries). */
interface Reads {
  queries: string[];
  steps: number;
}

/** The run's handle, counting the queries asked through it and the steps they answered. */
function counting(handle: WorkflowHandle, reads: Reads): WorkflowHandle {
  return new Proxy(handle, {
    get(target, key, receiver) {
      if (key !== 'query') return Reflect.get(target, key, receiver) as unknown;
      return async (query: { name: string }, ...args: unknown[]) => {
        const answer = (await (target.query as (q: unknown, ...a: unknown[]) => Promise<unknown>)(query, ...args)) as {
          steps?: unknown[];
          attention?: unknown[];
        };
        reads.queries.push(query.name);
        reads.steps += answer.steps?.length ?? 0;
        return answer;
      };
    },
  });
}

const done = (handle: WorkflowHandle, stepId: string) => handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId, by: 'bob' }] });

describe('a watcher of a large run', () => {
  it('reads the steps that changed since its last read, not every page', async () => {
    const handle = await h.start(RUNBOOK);
    await waitForState(handle, (s) => s.steps.s0?.status === 'waiting');
    const reads: Reads = { queries: [], steps: 0 };
    const watched = counting(handle, reads);
    const first = await readRunState(watched);
    expect(reads.queries.filter((q) => q === runStepsQuery.name).length).toBeGreaterThanOrEqual(3);

    await done(handle, 's0');
    await waitForState(handle, (s) => s.steps.s1?.status === 'waiting');
    reads.queries = [];
    reads.steps = 0;
    const second = await readRunState(watched, first);
    // One question, answered with the step that changed (s0 done) besides the summary's (s1, waiting for its owner).
    expect(reads).toEqual({ queries: [runChangesQuery.name], steps: 1 });
    expect(second.state).toEqual((await readRunState(handle)).state);

    // Nothing changed since: the same question, no steps.
    reads.queries = [];
    reads.steps = 0;
    expect((await readRunState(watched, second)).state).toBe(second.state);
    expect(reads).toEqual({ queries: [runChangesQuery.name], steps: 0 });

    // The live page's follower and the console's poller read the same way.
    const follower = new RunFollower({
      summary: () => watched.query(runSummaryQuery),
      page: (offset, limit) => watched.query(runStepsQuery, { offset, limit }),
      changes: (since) => watched.query(runChangesQuery, since),
    });
    await follower.read();
    const poller = new RunPoller(temporalRunSource(h.client, watched, undefined, undefined));
    await poller.tick();
    poller.setVisible(0, 40);
    await poller.tick();
    await done(handle, 's1');
    await waitForState(handle, (s) => s.steps.s2?.status === 'waiting');
    reads.queries = [];
    reads.steps = 0;
    const change = await follower.read();
    expect(change?.steps).toEqual(new Set(['s1', 's2']));
    expect(follower.state).toEqual((await readRunState(handle)).state);
    expect(reads).toEqual({ queries: [runChangesQuery.name], steps: 1 });
    reads.queries = [];
    reads.steps = 0;
    await poller.tick();
    expect(reads).toEqual({ queries: [runChangesQuery.name], steps: 1 });
    expect(poller.view.steps[1]?.status).toBe('succeeded');
    expect(poller.view.steps[2]?.status).toBe('waiting');
    await handle.terminate('test over');
  }, 180_000);
});
