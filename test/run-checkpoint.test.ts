/** The hand-over between executions of a run, and the runbook and state in payload-sized pieces. */
import { describe, expect, it } from 'vitest';
import { applyCheckpoint, applyStepTimes, toCheckpoint } from '../run/checkpoint.js';
import { parseRunbook } from '../runbook/parse.js';
import { assembleRunbook, pageOfSteps, paginateRunbook, summarizeRun } from '../run/pages.js';
import { initialRunState } from '../run/transitions.js';
import type { Runbook } from '../runbook/schema.js';

function bigRunbook(steps: number): Runbook {
  const lines = ['name: big', 'version: 1', 'lead: lead', 'roles: { lead: [alice] }', 'phases:'];
  for (let p = 0; p < 4; p += 1) {
    lines.push(`  - id: p${p}`, '    kind: migration', '    steps:');
    for (let i = 0; i < steps / 4; i += 1) {
      lines.push(
        `      - { id: s${p}-${i}, title: "Step ${p}/${i} with a longer title", owner: lead, expected: 1m, action: { kind: shell, command: "echo ${i}" } }`,
      );
    }
  }
  const parsed = parseRunbook(lines.join('\n'), 'big.yaml');
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('; '));
  return parsed.runbook;
}

const input = (runbook: Runbook) => ({ runId: 'big-1', runbook, versionHash: 'h', mode: 'rehearsal' as const, startedBy: 't' });

describe('runbook pages', () => {
  it('splits a large runbook into pages under the size limit and puts it back together exactly', () => {
    const runbook = bigRunbook(4000);
    const pages = paginateRunbook(runbook, 50_000);
    expect(pages.length).toBeGreaterThan(5);
    for (const page of pages) expect(JSON.stringify(page).length).toBeLessThan(60_000);
    expect(assembleRunbook([...pages].reverse())).toEqual(runbook);
  });
});

describe('checkpoint', () => {
  it('carries a 10,000-step run in a few KB and rebuilds the same state', () => {
    const runbook = bigRunbook(10_000);
    const state = initialRunState(input(runbook), '2026-11-23T20:00:00.000Z');
    const ids = state.order;
    ids.slice(0, 6000).forEach((id) => Object.assign(state.steps[id]!, { status: 'succeeded', attempts: 1, startedAt: 'x', endedAt: 'y' }));
    Object.assign(state.steps[ids[6000]!]!, {
      status: 'waiting',
      waitingFor: 'resolution',
      attempts: 2,
      error: 'exit 3',
      resolution: { scope: 'forward', error: 'exit 3', kind: 'failed', since: 'z' },
    });
    state.decisions.push({ kind: 'resolve', by: 'alice', role: 'lead', at: 'z', automatic: false });
    const checkpoint = toCheckpoint(state, 'forward', 1);
    expect(JSON.stringify(checkpoint).length).toBeLessThan(20_000);

    const next = initialRunState(input(runbook), 'later');
    const needTimes = applyCheckpoint(next, checkpoint);
    expect(needTimes).toEqual(ids.slice(0, 6000));
    expect(next.steps[ids[6000]!]).toEqual(state.steps[ids[6000]!]);
    expect(next.steps[ids[0]!]!.status).toBe('succeeded');
    expect(next.steps[ids[7000]!]!.status).toBe('pending');
    expect(next.startedAt).toBe('2026-11-23T20:00:00.000Z');
    expect(next.decisions).toEqual(state.decisions);
  });

  it('keeps which worker ran each step: noted steps carry it, plain ones get it back from the store', () => {
    const runbook = bigRunbook(8);
    const state = initialRunState(input(runbook), 'a');
    const [plain, retried] = state.order;
    Object.assign(state.steps[plain!]!, { status: 'succeeded', attempts: 1, startedAt: 'x', endedAt: 'y', worker: 'app-1' });
    Object.assign(state.steps[retried!]!, { status: 'succeeded', attempts: 2, startedAt: 'x', endedAt: 'y', worker: 'app-2' });
    const next = initialRunState(input(runbook), 'later');
    const needTimes = applyCheckpoint(next, toCheckpoint(state, 'forward', 1));
    expect(needTimes).toEqual([plain]);
    expect(next.steps[retried!]!.worker).toBe('app-2');
    applyStepTimes(next, { [plain!]: ['x', 'y', 'app-1'] });
    expect(next.steps[plain!]).toEqual(state.steps[plain!]);
  });

  it('carries who acknowledged a step to the next execution (else it would escalate after a hand-over)', () => {
    const runbook = bigRunbook(8);
    const state = initialRunState(input(runbook), 'a');
    const [waiting, done] = state.order;
    const acks = [{ by: 'alice', at: 'x', for: 'manual' as const }];
    Object.assign(state.steps[waiting!]!, { status: 'waiting', waitingFor: 'manual', startedAt: 'x', acks });
    Object.assign(state.steps[done!]!, { status: 'succeeded', attempts: 1, startedAt: 'x', endedAt: 'y', acks });
    const next = initialRunState(input(runbook), 'later');
    applyCheckpoint(next, toCheckpoint(state, 'forward', 1));
    expect(next.steps[waiting!]!.acks).toEqual(acks);
    expect(next.steps[done!]!.acks).toEqual(acks);
  });

  it('refuses a checkpoint of another runbook', () => {
    const checkpoint = toCheckpoint(initialRunState(input(bigRunbook(8)), 'a'), 'forward', 1);
    expect(() => applyCheckpoint(initialRunState(input(bigRunbook(12)), 'a'), checkpoint)).toThrow(/8 steps, the runbook 12/);
  });
});

describe('summary and step pages', () => {
  it('summarises a large run with counts and only the steps that need attention', () => {
    const runbook = bigRunbook(2000);
    const state = initialRunState(input(runbook), 'a');
    Object.assign(state.steps[state.order[5]!]!, { status: 'running' });
    const summary = summarizeRun(state, 7);
    expect(summary).toMatchObject({ totalSteps: 2000, counts: { pending: 1999, running: 1 }, revision: 7 });
    expect(summary.attention.map((s) => s.id)).toEqual([state.order[5]]);
    // Pages follow runbook order from the offset; a reader asks again from where one ended.
    let offset = 1900;
    const read: string[] = [];
    while (offset < state.order.length) {
      const page = pageOfSteps(state, offset, 10_000, 7);
      expect(page.steps.length).toBeGreaterThan(0);
      read.push(...page.steps.map((s) => s.id));
      offset += page.steps.length;
    }
    expect(read).toEqual(state.order.slice(1900));
  });
});

describe('answers stay small', () => {
  it('a page of steps with long output tails is cut by size, and the reader still moves on', () => {
    const runbook = bigRunbook(2000);
    const state = initialRunState(input(runbook), 'a');
    for (const id of state.order)
      Object.assign(state.steps[id]!, { status: 'failed', error: 'x'.repeat(200), outputTail: 'y'.repeat(1200) });
    const page = pageOfSteps(state, 0, 500, 1);
    expect(page.steps.length).toBeGreaterThan(0);
    expect(page.steps.length).toBeLessThan(500);
    expect(JSON.stringify(page).length).toBeLessThan(160_000);
    const summary = summarizeRun(state, 1);
    expect(JSON.stringify(summary).length).toBeLessThan(170_000);
  });
});
