/**
 * The one timeline renderer (present/timeline-svg.ts) the report and the status page share: phases, planned against
 * actual, the now-line, the window and its point of no return, the critical path, undos, gate deadlines, zoom to a
 * phase, and a 10,000-step run drawn aggregated in a bounded number of rows. Names are escaped.
 */
import { describe, expect, it } from 'vitest';
import { timelineFromState, timelineSvg, TIMELINE_MAX_ROWS } from '../present/timeline-svg.js';
import { parseRunbook } from '../runbook/parse.js';
import type { RunState } from '../run/state.js';
import { initialRunState } from '../run/transitions.js';

const T0 = Date.parse('2026-12-05T22:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function state(text: string): RunState {
  const parsed = parseRunbook(text, 'timeline.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return initialRunState({ runId: 'tl-1', runbook: parsed.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice' }, at(0));
}

const RUN = `name: tl
version: 1
lead: lead
roles: { lead: [alice] }
phases:
  - id: load
    kind: migration
    title: Load <b>everything</b>
    steps:
      - { id: a, title: "A <script>alert(1)</script>", owner: lead, expected: 10m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
      - { id: b, title: B, owner: lead, expected: 20m, depends_on: [a], action: { kind: shell, command: "true" } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead], deadline: { after_opening: 15m } } }
`;

/** The x of an element's first attribute `name` matched by `pattern`. */
function attr(svg: string, pattern: RegExp): string {
  const match = pattern.exec(svg);
  if (!match) throw new Error(`no ${pattern} in ${svg.slice(0, 500)}`);
  return match[1]!;
}

describe('the timeline', () => {
  it('draws phases, planned and actual bars, the critical path, the now-line, the window and the point of no return', () => {
    const s = state(RUN);
    Object.assign(s.steps.a!, { status: 'succeeded', attempts: 1, startedAt: at(0), endedAt: at(12) });
    Object.assign(s.steps.b!, { status: 'running', attempts: 1, startedAt: at(12) });
    const model = timelineFromState(s, T0 + 20 * 60_000, {
      phaseTitles: { load: 'Load <b>everything</b>' },
      window: { end: at(60), pointOfNoReturn: at(40) },
    });
    const svg = timelineSvg(model, { phaseHref: (id) => `?phase=${id}` });
    expect(svg).toContain('load — Load &lt;b&gt;everything&lt;/b&gt; (migration)');
    expect(svg).toContain('<a href="?phase=decide">');
    expect(svg).toContain('A &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(svg).not.toContain('<script>');
    expect(svg).toMatch(/class="label critical">b</);
    expect(svg).toMatch(/class="actual s-succeeded"/);
    expect(svg).toMatch(/class="actual s-running"><title>b running for 8m00s/);
    expect(svg).toContain('window ends');
    expect(svg).toContain('no return');
    // The now-line stands at 20m: a third of the way to the window's end on a scale of 60m (+2%).
    const now = Number(attr(svg, /<line x1="([\d.]+)"[^>]*class="now"/));
    expect(now).toBeCloseTo(210 + (20 / (60 * 1.02)) * 660, 0);
    expect(svg).toContain(`data-origin="${T0}"`);
    // Later, the line has moved right.
    const later = timelineSvg(timelineFromState(s, T0 + 30 * 60_000, { window: { end: at(60), pointOfNoReturn: at(40) } }));
    expect(Number(attr(later, /<line x1="([\d.]+)"[^>]*class="now"/))).toBeGreaterThan(now);
  });

  it('draws an undo after its step, and a gate’s deadline', () => {
    const s = state(RUN);
    Object.assign(s.steps.a!, {
      status: 'succeeded',
      attempts: 1,
      startedAt: at(0),
      endedAt: at(10),
      backout: { status: 'succeeded', attempts: 1, startedAt: at(31), endedAt: at(35) },
    });
    Object.assign(s.steps.b!, { status: 'succeeded', attempts: 1, startedAt: at(10), endedAt: at(30) });
    Object.assign(s.steps.go!, {
      status: 'waiting',
      startedAt: at(30),
      gate: { ...s.steps.go!.gate!, status: 'open', openedAt: at(30), closesAt: at(45) },
    });
    const svg = timelineSvg(timelineFromState(s, T0 + 36 * 60_000));
    expect(svg).toMatch(/class="undo"><title>a undo succeeded in 4m00s/);
    expect(svg).toMatch(/class="deadline"><title>go closes at \+45m00s/);
  });

  it('zooms to one phase', () => {
    const svg = timelineSvg(timelineFromState(state(RUN), T0), { phase: 'decide' });
    expect(svg).toContain('>go<');
    expect(svg).not.toContain('>a<');
    expect(svg).toContain('aria-label="Timeline of phase decide');
  });

  it('draws a 10,000-step run in a bounded number of rows: a bar per phase, or buckets of a zoomed phase', () => {
    // Built directly: parsing and planning a 10,000-step runbook is another test's business (and takes seconds).
    const template = state(RUN).steps.a!;
    const s = state(RUN);
    s.order = [];
    s.steps = {};
    for (let p = 0; p < 4; p += 1) {
      for (let i = 0; i < 2500; i += 1) {
        const id = `p${p}-s${i}`;
        s.order.push(id);
        const done = p * 2500 + i < 3000;
        s.steps[id] = {
          ...template,
          id,
          phaseId: `p${p}`,
          dependsOn: [],
          plannedStartMs: p * 60_000,
          plannedDurationMs: 60_000,
          status: done ? 'succeeded' : 'pending',
          ...(done ? { attempts: 1, startedAt: at(0), endedAt: at(1) } : {}),
        };
      }
    }
    const model = timelineFromState(s, T0 + 5 * 60_000);
    const whole = timelineSvg(model);
    expect(whole.match(/class="row"/g)).toHaveLength(4);
    expect(whole).toContain('p0 (2500 steps)');
    expect(whole).toMatch(/<title>p1 \(2500 steps\): 500 succeeded, 2000 pending<\/title>/);
    const zoomed = timelineSvg(model, { phase: 'p1' });
    const rows = zoomed.match(/class="row"/g)!.length;
    expect(rows).toBeLessThanOrEqual(TIMELINE_MAX_ROWS);
    expect(rows).toBeGreaterThan(50);
    expect(zoomed).toContain('p1 (migration): 2500 steps, 22 a row');
  });
});
