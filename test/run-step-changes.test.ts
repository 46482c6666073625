/**
 * The run's summary as a delta since a revision (run/step-changes.ts), as the workflow answers `runChangesQuery`: every
 * kind of change a step goes through is reported once, including those that move none of the fields the log compares
 * cheaply (a vote on an open gate), those of steps never in the summary's list (started and finished between two
 * looks), and a fixed start's hold on a pending step; a watcher from another execution, or from before the log's first
 * look, is told to read the pages. And the follower reads a run on a worker from before the query as it did.
 */
import { describe, expect, it } from 'vitest';
import { RunFollower, type RunQueries } from '../common/run-follower.js';
import { parseRunbook } from '../runbook/parse.js';
import { pageOfSteps, summarizeRun } from '../run/pages.js';
import type { RunState } from '../run/state.js';
import { StepChangeLog } from '../run/step-changes.js';
import { initialRunState } from '../run/transitions.js';

function run(steps: number): RunState {
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
  lines.push('      - { id: go, title: Go, owner: lead, gate: { approvers: [lead] } }');
  for (let i = 0; i < steps; i += 1)
    lines.push(`      - { id: s${i}, title: Step ${i}, owner: lead, expected: 1m, action: { kind: simulate, duration: 1m } }`);
  const parsed = parseRunbook(lines.join('\n'), 'big.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return initialRunState(
    { runId: 'big-1', runbook: parsed.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice' },
    '2026-12-05T22:00:00.000Z',
  );
}

const ids = (steps: { id: string }[] | undefined) => steps?.map((s) => s.id);

describe('which steps changed since a revision', () => {
  it('reports each change once, whatever field it moved', () => {
    const state = run(600);
    const log = new StepChangeLog();
    const gate = state.steps.go!;
    gate.status = 'waiting';
    gate.gate!.status = 'open';
    log.look(state, 1);
    expect(log.changedSince(state, 1, 1)).toEqual([]);

    // A vote: the gate stays open and waiting, only its votes move.
    gate.gate!.votes.push({ by: 'alice', role: 'lead', decision: 'approve', at: '2026-12-05T22:01:00.000Z', automatic: false });
    expect(ids(log.changedSince(state, 2, 1))).toEqual(['go']);
    expect(log.changedSince(state, 2, 2)).toEqual([]);

    // Started and finished between two looks: never in the summary's list.
    Object.assign(state.steps.s7!, {
      status: 'succeeded',
      attempts: 1,
      startedAt: '2026-12-05T22:02:00.000Z',
      endedAt: '2026-12-05T22:03:00.000Z',
    });
    // Held for its fixed start: still pending.
    state.steps.s500!.heldUntil = '2026-12-06T01:00:00.000Z';
    expect(ids(log.changedSince(state, 3, 2))).toEqual(['s7', 's500']);
    expect(ids(log.changedSince(state, 3, 1))).toEqual(['go', 's7', 's500']);
  });

  it('says nothing (read the pages) for a revision from before its first look or after its last', () => {
    const state = run(10);
    const log = new StepChangeLog();
    log.look(state, 5);
    expect(log.changedSince(state, 5, 4)).toBeUndefined();
    expect(log.changedSince(state, 5, 6)).toBeUndefined();
    expect(log.changedSince(state, 5, 5)).toEqual([]);
  });
});

describe('a run on a worker from before the delta query', () => {
  it('is followed through summaries and pages, as before', async () => {
    const state = run(1200);
    const asked = { summaries: 0, pages: 0, changes: 0 };
    const queries: RunQueries = {
      summary: async () => (asked.summaries++, structuredClone(summarizeRun(state, 1))),
      page: async (offset, limit) => (asked.pages++, structuredClone(pageOfSteps(state, offset, limit, 1))),
      changes: async () => {
        asked.changes += 1;
        throw new Error('unknown queryType runChanges. KnownQueryTypes=[__stack_trace, runSummary, runSteps]');
      },
    };
    const follower = new RunFollower(queries);
    expect((await follower.read())?.steps).toBe('all');
    expect(await follower.read()).toBeUndefined();
    expect(await follower.read()).toBeUndefined();
    // Asked once, then no more; the summary each time, the pages once.
    expect(asked).toEqual({ summaries: 3, pages: 3, changes: 1 });
  });
});
