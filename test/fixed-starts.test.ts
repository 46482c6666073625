/**
 * Fixed starts (`not_before`) and interface freezes as the plan, the forecast and validation see them: a step held
 * back starts at its fixed start, a switch-on step that would start inside a freeze starts at its end, and a time
 * without the window's start is refused where it is written.
 */
import { describe, expect, it } from 'vitest';
import { plannedSchedule } from '../runbook/graph.js';
import { earliestStart, startRules } from '../runbook/fixed-starts.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import { forecast } from '../timing/forecast.js';
import { problemsOf } from './support/runbook-text.js';

const MIN = 60_000;

function runbook(text: string): Runbook {
  const parsed = parseRunbook(text, 'fixed.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.runbook;
}

const HEAD = 'name: fx\nversion: 1\nlead: lead\nroles: { lead: [alice] }\n';
/** a (10m) -> b (fixed at +1h, 5m) -> switch: c (10m, interface switch-on) with a freeze from +1h05m to +1h30m. */
const FIXED = runbook(`${HEAD}window: { start: "2026-12-05T22:00:00Z", length: 3h }
freeze_windows:
  - { start: "2026-12-05T23:05:00Z", end: "2026-12-05T23:30:00Z", reason: ERP batch }
phases:
  - id: work
    kind: migration
    steps:
      - { id: a, title: A, owner: lead, expected: 10m, action: { kind: manual } }
      - { id: b, title: B, owner: lead, expected: 5m, depends_on: [a], not_before: "+1h", action: { kind: manual } }
      - { id: t, title: T, owner: lead, expected: 5m, not_before: "2026-12-05T22:20:00Z", action: { kind: manual } }
  - id: switch
    kind: interface_switch_on
    steps:
      - { id: c, title: C, owner: lead, expected: 10m, action: { kind: manual } }
`);

describe('the plan', () => {
  it('starts a held step at its fixed start, and a switch-on step after the freeze it would start in', () => {
    const plan = plannedSchedule(FIXED);
    expect(plan.steps.a!.startMs).toBe(0);
    expect(plan.steps.b!.startMs).toBe(60 * MIN);
    // A time: its distance from the window's start.
    expect(plan.steps.t!.startMs).toBe(20 * MIN);
    // Ready at 1h05m (after b), inside the freeze until 1h30m.
    expect(plan.steps.c!.startMs).toBe(90 * MIN);
    expect(plan.criticalPathMs).toBe(100 * MIN);
  });

  it('moves a step out of freezes that follow one another', () => {
    const rules = startRules({
      window: { start: '2026-12-05T22:00:00Z' },
      freeze_windows: [
        { start: '2026-12-05T22:00:00Z', end: '2026-12-05T22:30:00Z' },
        { start: '2026-12-05T22:30:00Z', end: '2026-12-05T23:00:00Z', reason: 'second' },
      ],
      phases: [{ kind: 'interface_switch_on', steps: [{ id: 'x' }] }],
    });
    expect(earliestStart(rules, 'x', 10 * MIN)).toMatchObject({ startMs: 60 * MIN, freeze: { reason: 'second' } });
    expect(earliestStart(rules, 'x', 61 * MIN)).toEqual({ startMs: 61 * MIN });
  });
});

describe('the forecast', () => {
  it('never lets a held step start before its fixed start, so the night is at least that long', () => {
    const result = forecast({ runbook: FIXED, versionHash: 'v1', runs: [], simulations: 2000, seed: 7 });
    // Never rehearsed: each step follows its plan, with spread. c cannot start before the freeze ends at 1h30m.
    expect(result.plannedMs).toBe(100 * MIN);
    expect(result.p50Ms).toBeGreaterThanOrEqual(90 * MIN);
    // Without the fixed starts and the freeze the plan is 25 minutes.
    const free = runbook(JSON.stringify({ ...FIXED, freeze_windows: undefined, phases: stripHolds(FIXED) }));
    expect(forecast({ runbook: free, versionHash: 'v1', runs: [], simulations: 2000, seed: 7 }).p50Ms).toBeLessThan(60 * MIN);
  });
});

function stripHolds(book: Runbook): unknown {
  return book.phases.map((p) => ({ ...p, steps: p.steps.map(({ not_before: _n, ...step }) => step) }));
}

describe('validation', () => {
  it('refuses a time as a fixed start, and freezes, without the window start, and a period that ends first', () => {
    const text = `${HEAD}freeze_windows:
  - { start: "2026-12-05T23:00:00Z", end: "2026-12-05T22:00:00Z" }
change_window: { start: "2026-12-05T23:00:00Z", end: "2026-12-05T23:00:00Z" }
phases:
  - id: work
    kind: migration
    steps:
      - { id: a, title: A, owner: lead, expected: 1m, not_before: "2026-12-05T23:00:00Z", action: { kind: manual } }
      - { id: b, title: B, owner: lead, expected: 1m, not_before: "+1h", action: { kind: manual } }
`;
    const problems = problemsOf(text);
    expect(problems).toEqual([
      expect.stringMatching(/^runbook\.yaml:5:1 freeze_windows: `freeze_windows` needs `window.start`/),
      expect.stringMatching(/^runbook\.yaml:6:43 freeze_windows\[0\]\.end: `end: 2026-12-05T22:00:00Z` is not after/),
      expect.stringMatching(/^runbook\.yaml:7:54 change_window\.end: .* is not after/),
      expect.stringMatching(/^runbook\.yaml:12:67 phases\[0\]\.steps\[0\]\.not_before: .* is a time, which needs `window.start`/),
    ]);
    const shape = problemsOf(text.replace('"+1h", action', '"in an hour", action'));
    expect(shape).toEqual([expect.stringMatching(/not_before: expected \+DURATION after the window starts/)]);
  });
});
