/**
 * How the console reads a run: the summary every poll, step pages only when the run changed and only
 * for the rows on screen (and the steps that just finished), "reconnecting" when Temporal does not
 * answer, and the record store's state for a run that ended meanwhile.
 */
import { describe, expect, it, vi } from 'vitest';
import { RunPoller, type RunSource } from '../cli/console/run-poller.js';
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
    lines.push(`      - { id: s${i}, title: Step ${i}, owner: lead, expected: 1s, action: { kind: simulate, duration: 1s } }`);
  const parsed = parseRunbook(lines.join('\n'), 'big.yaml');
  if (!parsed.ok) throw new Error('fixture invalid');
  return initialRunState(
    { runId: 'big-1', runbook: parsed.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice' },
    '2026-12-05T22:00:00.000Z',
  );
}

/** A run in memory, counting what is read from it. */
interface FakeSource extends RunSource {
  state: RunState;
  revision: number;
  down: boolean;
  recordedState: RunState | null;
  summaries: number;
  pages: Array<[number, number]>;
  stepsRead: number;
}

function fakeSource(state: RunState): FakeSource {
  const source: FakeSource = {
    state,
    revision: 1,
    down: false,
    recordedState: null,
    summaries: 0,
    pages: [],
    stepsRead: 0,
    summary: async () => {
      if (source.down) throw new Error('connect ECONNREFUSED 127.0.0.1:7233');
      source.summaries += 1;
      return structuredClone(summarizeRun(source.state, source.revision));
    },
    page: async (offset: number, limit: number) => {
      if (source.down) throw new Error('connect ECONNREFUSED 127.0.0.1:7233');
      source.pages.push([offset, limit]);
      const page = structuredClone(pageOfSteps(source.state, offset, limit, source.revision));
      source.stepsRead += page.steps.length;
      return page;
    },
    recorded: async () => source.recordedState,
  };
  return source;
}

const change = (source: FakeSource, id: string, patch: object) => {
  Object.assign(source.state.steps[id]!, patch);
  source.revision += 1;
};

describe('reading a run for the console', () => {
  it('reads a 10,000-step run whole once, then the summary and only the visible steps when it changes', async () => {
    const source = fakeSource(bigRun(10_000));
    const poller = new RunPoller(source);
    poller.setVisible(0, 20);
    await poller.tick();
    expect(poller.view.connection).toBe('live');
    expect(poller.view.steps).toHaveLength(10_000);
    expect(source.stepsRead).toBe(10_000);
    source.stepsRead = 0;
    source.pages = [];

    // Nothing changed: the summary only.
    await poller.tick();
    expect(source.pages).toEqual([]);

    // A step off screen starts: it comes whole in the summary; only the visible rows are read again.
    change(source, 's5000', { status: 'running', startedAt: '2026-12-05T22:01:00.000Z', attempts: 1 });
    await poller.tick();
    expect(poller.view.steps[5000]!.status).toBe('running');
    expect(poller.view.attention.map((s) => s.id)).toEqual(['s5000']);
    expect(source.pages).toEqual([[0, 20]]);

    // It ends: it left the summary, so it alone is read again, wherever it is.
    source.pages = [];
    change(source, 's5000', { status: 'succeeded', endedAt: '2026-12-05T22:02:00.000Z' });
    await poller.tick();
    expect(poller.view.steps[5000]!.status).toBe('succeeded');
    expect(source.pages).toEqual([
      [5000, 1],
      [0, 20],
    ]);

    // Scrolling to rows read before the last change reads them; rows already current are not read again.
    source.pages = [];
    poller.setVisible(9000, 9020);
    await poller.tick();
    expect(source.pages).toEqual([[9000, 20]]);
    source.pages = [];
    await poller.tick();
    expect(source.pages).toEqual([]);
  });

  it('says it is reconnecting while Temporal is away, keeps what it showed, and resumes', async () => {
    const source = fakeSource(bigRun(10));
    const poller = new RunPoller(source);
    poller.setVisible(0, 10);
    await poller.tick();
    source.down = true;
    await poller.tick();
    expect(poller.view.connection).toBe('reconnecting');
    expect(poller.view.problem).toContain('ECONNREFUSED');
    expect(poller.view.steps).toHaveLength(10);
    source.down = false;
    change(source, 's0', { status: 'running', startedAt: '2026-12-05T22:01:00.000Z', attempts: 1 });
    await poller.tick();
    expect(poller.view.connection).toBe('live');
    expect(poller.view.steps[0]!.status).toBe('running');
  });

  it('reads a finished step again after a page read failed, even once it has scrolled away', async () => {
    const source = fakeSource(bigRun(100));
    const poller = new RunPoller(source);
    poller.setVisible(0, 10);
    await poller.tick();
    change(source, 's50', { status: 'running', startedAt: '2026-12-05T22:01:00.000Z', attempts: 1 });
    await poller.tick();
    change(source, 's50', { status: 'succeeded', endedAt: '2026-12-05T22:02:00.000Z' });
    const page = source.page;
    source.page = () => Promise.reject(new Error('deadline exceeded'));
    await poller.tick();
    expect(poller.view.connection).toBe('reconnecting');
    source.page = page;
    await poller.tick();
    expect(poller.view.connection).toBe('live');
    expect(poller.view.steps[50]!.status).toBe('succeeded');
  });

  it('shows a run that ended while Temporal was away from the record store', async () => {
    const source = fakeSource(bigRun(3));
    const poller = new RunPoller(source);
    await poller.tick();
    source.down = true;
    const ended = structuredClone(source.state);
    for (const id of ended.order) Object.assign(ended.steps[id]!, { status: 'succeeded' });
    Object.assign(ended, { status: 'completed', endedAt: '2026-12-05T22:05:00.000Z', outcome: 'all 3 steps completed' });
    source.recordedState = ended;
    await poller.tick();
    expect(poller.view.connection).toBe('recorded');
    expect(poller.view.head?.status).toBe('completed');
    expect(poller.view.head?.counts).toEqual({ succeeded: 3 });
    expect(poller.view.steps.every((s) => s?.status === 'succeeded')).toBe(true);
  });

  it('polls on its own, and stops', async () => {
    const source = fakeSource(bigRun(3));
    const poller = new RunPoller(source, { pollMs: 20 });
    const seen: string[] = [];
    poller.subscribe(() => seen.push(poller.view.connection));
    poller.start();
    await vi.waitFor(() => expect(source.summaries).toBeGreaterThan(2), { timeout: 10_000, interval: 10 });
    await poller.stop();
    expect(seen[0]).toBe('live');
    const after = source.summaries;
    // Stopped: three poll intervals (or more, on a busy machine) pass without a read.
    await new Promise((r) => setTimeout(r, 60));
    expect(source.summaries).toBe(after);
  });
});
