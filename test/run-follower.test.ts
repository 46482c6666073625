/**
 * The follower the status page watches each run with (common/run-follower.ts), against a run's real summary and page
 * answers (run/pages.ts, as the workflow answers them) over a state the test changes: it reads the pages once, then
 * only the summary while nothing changes, only the pages that hold what left the summary's list, and the whole run
 * when the counts say a change slipped between two reads.
 */
import { describe, expect, it } from 'vitest';
import { RunFollower, type RunQueries } from '../common/run-follower.js';
import { parseRunbook } from '../runbook/parse.js';
import { pageOfSteps, summarizeRun } from '../run/pages.js';
import type { RunState } from '../run/state.js';
import { initialRunState } from '../run/transitions.js';

function bigRun(steps: number): RunState {
  const lines = [
    'name: big',
    'version: 1',
    'lead: lead',
    'roles: { lead: [alice] }',
    'phases:',
    '  - id: all',
    '    kind: migration',
    '    steps:',
  ];
  for (let i = 0; i < steps; i += 1)
    lines.push(`      - { id: s${i}, title: Step ${i}, owner: lead, expected: 1m, action: { kind: simulate, duration: 1m } }`);
  const parsed = parseRunbook(lines.join('\n'), 'big.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return initialRunState(
    { runId: 'big-1', runbook: parsed.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice' },
    '2026-12-05T22:00:00.000Z',
  );
}

/** The run as the workflow answers it, counting the queries; `change` edits the state and moves the revision. */
function answering(state: RunState) {
  let revision = 1;
  const asked = { summaries: 0, pages: 0 };
  const queries: RunQueries = {
    summary: async () => {
      asked.summaries += 1;
      return structuredClone(summarizeRun(state, revision));
    },
    page: async (offset, limit) => {
      asked.pages += 1;
      return structuredClone(pageOfSteps(state, offset, limit, revision));
    },
  };
  const change = (edit: (s: RunState) => void) => {
    edit(state);
    revision += 1;
  };
  return { queries, asked, change };
}

describe('following a run', () => {
  it('reads every page once, then only the summary while nothing changes', async () => {
    const run = answering(bigRun(1200));
    const follower = new RunFollower(run.queries);
    const first = await follower.read();
    expect(first?.steps).toBe('all');
    expect(first?.state.order).toHaveLength(1200);
    expect(run.asked).toEqual({ summaries: 1, pages: 3 });
    expect(await follower.read()).toBeUndefined();
    expect(run.asked).toEqual({ summaries: 2, pages: 3 });
  });

  it('takes a step that matters now from the summary, with no page read', async () => {
    const run = answering(bigRun(1200));
    const follower = new RunFollower(run.queries);
    await follower.read();
    run.change((s) => Object.assign(s.steps.s700!, { status: 'running', attempts: 1, startedAt: '2026-12-05T22:01:00.000Z' }));
    const change = await follower.read();
    expect([...(change!.steps as Set<string>)]).toEqual(['s700']);
    expect(change!.state.steps.s700!.status).toBe('running');
    expect(run.asked.pages).toBe(3);
  });

  it('reads the page of a step that left the summary’s list: it finished', async () => {
    const state = bigRun(1200);
    Object.assign(state.steps.s700!, { status: 'running', attempts: 1, startedAt: '2026-12-05T22:01:00.000Z' });
    const run = answering(state);
    const follower = new RunFollower(run.queries);
    await follower.read();
    run.change((s) => Object.assign(s.steps.s700!, { status: 'succeeded', endedAt: '2026-12-05T22:02:00.000Z' }));
    const change = await follower.read();
    expect([...(change!.steps as Set<string>)]).toEqual(['s700']);
    expect(change!.state.steps.s700!.status).toBe('succeeded');
    expect(run.asked.pages).toBe(4);
  });

  it('reads the whole run again when a step started and finished between two reads', async () => {
    const run = answering(bigRun(1200));
    const follower = new RunFollower(run.queries);
    await follower.read();
    run.change((s) =>
      Object.assign(s.steps.s5!, {
        status: 'succeeded',
        attempts: 1,
        startedAt: '2026-12-05T22:01:00.000Z',
        endedAt: '2026-12-05T22:01:01.000Z',
      }),
    );
    const change = await follower.read();
    expect([...(change!.steps as Set<string>)]).toEqual(['s5']);
    expect(change!.state.steps.s5!.status).toBe('succeeded');
    expect(run.asked.pages).toBe(6);
  });

  it('says when only the run’s own fields changed: a decision, the status', async () => {
    const run = answering(bigRun(10));
    const follower = new RunFollower(run.queries);
    await follower.read();
    run.change((s) => {
      s.status = 'backing_out';
      s.decisions.push({
        kind: 'request_backout',
        by: 'alice',
        role: 'lead',
        reason: 'no',
        at: '2026-12-05T22:03:00.000Z',
        automatic: false,
      });
    });
    const change = await follower.read();
    expect(change?.run).toBe(true);
    expect(change?.state.decisions).toHaveLength(1);
    expect(change?.state.status).toBe('backing_out');
  });
});
