/**
 * The forecast model (timing/forecast.ts) on known data, without a store: runs are built as the store gives
 * them back.
 */
import { readFileSync } from 'node:fs';
import { timedRun } from './support/timed-run.js';
import { describe, expect, it } from 'vitest';
import type { RunTiming } from '../prisma/timing-queries.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import { backoutForecast, forecast, RECENT_BACKOUTS, RECENT_RUNS, runsWorthReading } from '../timing/forecast.js';
import type { TimedRun } from '../timing/runs.js';

const MIN = 60_000;

function runbook(text: string): Runbook {
  const parsed = parseRunbook(text, 'forecast.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.runbook;
}

const HEAD = 'name: fc\nversion: 1\nlead: lead\nroles: { lead: [alice] }\n';
/** Two parallel streams, then a gate, then one step: a (10m) || b (20m) -> go -> c (5m). */
const STREAMS = runbook(
  `${HEAD}window: { start: "2026-12-05T22:00:00Z", length: 1h }
phases:
  - id: work
    kind: migration
    steps:
      - { id: a, title: A, owner: lead, expected: 10m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
      - { id: b, title: B, owner: lead, expected: 20m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead], deadline: { after_opening: 2m } } }
  - id: switch
    kind: interface_switch_on
    steps:
      - { id: c, title: C, owner: lead, expected: 5m, action: { kind: shell, command: "true" } }
`,
);

/** A recorded run, `age` runs ago, with these forward durations (and undo durations when it backed out). */
function run(age: number, durations: Record<string, number>, undo?: Record<string, number>, versionHash = 'v1'): TimedRun {
  const t0 = Date.parse('2026-11-01T00:00:00Z') - age * 86_400_000;
  return timedRun({
    id: `fc-${100 - age}`,
    number: 100 - age,
    t0,
    durations,
    ...(undo ? { undo } : {}),
    trigger: 'gate_rejected',
    versionHash,
  });
}

/** Five rehearsals close to the plan, with a little spread. */
const spread = [1, 1.05, 0.95, 1.1, 0.92];
const FIVE = spread.map((f, age) => run(age, { a: 10 * MIN * f, b: 22 * MIN * f, go: 1 * MIN, c: 5 * MIN * f }));

describe('forecast', () => {
  it('ranks the risky steps steadily, whatever the seed: a step known only by its plan does not take over', () => {
    // The sample's eight recorded rehearsals (runbook and runs as the store gave them back): rebuild-search-index is
    // simulated in rehearsals, so it is taken at its plan with the wide spread of a plan; observe really ran, and long.
    const sample = runbook(readFileSync('test/fixtures/sample-crm-runbook.yaml', 'utf8'));
    const runs = JSON.parse(readFileSync('test/fixtures/sample-crm-runs.json', 'utf8')) as RunTiming[];
    for (const seed of [1, 2, 3, 4, 5]) {
      const f = forecast({ runbook: sample, versionHash: runs[0]!.versionHash, runs, seed, simulations: 10_000 });
      const planOnly = f.steps.find((s) => s.stepId === 'rebuild-search-index')!;
      expect(planOnly.source).toBe('planned');
      expect(f.riskContributors[0]!.stepId, `seed ${seed}`).toBe('observe');
      // What it adds to a late night stays within a night: not minutes on a forecast of seconds.
      expect(planOnly.tailMs, `seed ${seed}`).toBeLessThan(f.p90Ms);
    }
  });

  it('simulates the graph: parallel streams, then the gate, then the last step', () => {
    const f = forecast({ runbook: STREAMS, versionHash: 'v1', runs: FIVE, seed: 7, simulations: 4000 });
    // b (22m) || a (10m), the gate (1m), c (5m): about 28 minutes.
    expect(f.p50Ms).toBeGreaterThan(26 * MIN);
    expect(f.p50Ms).toBeLessThan(30 * MIN);
    expect(f.p90Ms).toBeGreaterThan(f.p50Ms);
    expect(f.criticalPath.steps).toEqual(['b', 'go', 'c']);
    expect(f.criticalPath.probability).toBeGreaterThan(0.95);
    expect(f.plannedMs).toBe(25 * MIN);
    // Steps took about 1.0-1.1 times their plan.
    expect(f.basis.planBias).toBeGreaterThan(0.95);
    expect(f.basis.planBias).toBeLessThan(1.15);
    expect(f.steps.map((s) => s.stepId)).toEqual(['a', 'b', 'go', 'c']);
    expect(f.riskContributors[0]!.stepId).toBe('b');
    expect(f.neverRehearsed).toEqual([]);
    expect(f.outliers).toEqual([]);
    expect(f.window!.pInside).toBeGreaterThan(0.99);
    expect(f.window!.start).toBe('2026-12-05T22:00:00.000Z');
  });

  it('gives the same figures for the same seed, and others for another', () => {
    const one = forecast({ runbook: STREAMS, versionHash: 'v1', runs: FIVE, seed: 42, simulations: 2000 });
    const again = forecast({ runbook: STREAMS, versionHash: 'v1', runs: FIVE, seed: 42, simulations: 2000 });
    const other = forecast({ runbook: STREAMS, versionHash: 'v1', runs: FIVE, seed: 43, simulations: 2000 });
    expect(again).toEqual(one);
    expect(other.p90Ms).not.toBe(one.p90Ms);
  });

  it('with nothing recorded, takes every step at its plan and lists them all as never measured', () => {
    const f = forecast({ runbook: STREAMS, versionHash: 'v1', runs: [], seed: 1, simulations: 4000 });
    expect(f.neverRehearsed.map((s) => s.stepId)).toEqual(['a', 'b', 'go', 'c']);
    expect(f.steps.find((s) => s.stepId === 'go')!.source).toBe('none');
    // Centred on the plan (25m), with the spread plans usually have.
    expect(f.p50Ms).toBeGreaterThan(22 * MIN);
    expect(f.p50Ms).toBeLessThan(29 * MIN);
    expect(f.p90Ms).toBeGreaterThan(30 * MIN);
    expect(f.backout).toMatchObject({ source: 'planned', p90Ms: 30 * MIN, plannedMs: 30 * MIN });
    // Window 1h, back-out planned 30m (a and b one after the other).
    expect(f.window!.latestSafeGoNoGoMs).toBe(30 * MIN);
    expect(f.window!.latestSafeGoNoGo).toBe('2026-12-05T22:30:00.000Z');
  });

  it('falls back to the plan for a step never measured, corrected by how the measured steps kept theirs', () => {
    const runs = spread.map((f, age) => run(age, { a: 12 * MIN * f, b: 24 * MIN * f, go: MIN }));
    const f = forecast({ runbook: STREAMS, versionHash: 'v1', runs, seed: 3, simulations: 2000 });
    expect(f.neverRehearsed).toEqual([{ stepId: 'c', plannedMs: 5 * MIN }]);
    const c = f.steps.find((s) => s.stepId === 'c')!;
    expect(c.source).toBe('planned');
    // The measured steps took 1.2 times their plan: so does c, around 6 minutes.
    expect(c.p50Ms).toBeGreaterThan(5.5 * MIN);
    expect(c.p50Ms).toBeLessThan(6.5 * MIN);
  });

  it('lists an outlier and down-weights it, so one bad night does not move the step much', () => {
    const runs = [...FIVE.slice(0, 4), run(4, { a: 10 * MIN, b: 22 * MIN * 8, go: MIN, c: 5 * MIN })];
    const f = forecast({ runbook: STREAMS, versionHash: 'v1', runs, seed: 5, simulations: 2000 });
    expect(f.outliers).toHaveLength(1);
    expect(f.outliers[0]).toMatchObject({ stepId: 'b', runId: 'fc-96', purpose: 'forward', durationMs: 22 * MIN * 8 });
    expect(f.outliers[0]!.weight).toBeLessThan(0.2);
    const b = f.steps.find((s) => s.stepId === 'b')!;
    expect(b.p50Ms).toBeLessThan(26 * MIN);
    // ...but outliers happen: the simulation keeps their rate, so the P90 of the night is longer than without.
    expect(f.basis.outlierRate).toBeGreaterThan(0);
  });

  it('weights recent runs and runs of this version more', () => {
    const old = [5, 6, 7, 8, 9].map((age) => run(age, { a: 10 * MIN, b: 10 * MIN, go: MIN, c: 5 * MIN }));
    const recent = [0, 1, 2, 3, 4].map((age) => run(age, { a: 10 * MIN, b: 30 * MIN * spread[age]!, go: MIN, c: 5 * MIN }));
    const f = forecast({ runbook: STREAMS, versionHash: 'v1', runs: [...recent, ...old], seed: 9, simulations: 2000 });
    // Equal weights would give about 17m (the geometric mean); recent runs pull it towards 30m.
    expect(f.steps.find((s) => s.stepId === 'b')!.p50Ms).toBeGreaterThan(20 * MIN);
    const otherVersion = [0, 1, 2, 3, 4].map((age) =>
      run(age, { a: 10 * MIN, b: 30 * MIN * spread[age]!, go: MIN, c: 5 * MIN }, undefined, 'v0'),
    );
    const g = forecast({ runbook: STREAMS, versionHash: 'v1', runs: [...otherVersion, ...old], seed: 9, simulations: 2000 });
    expect(g.steps.find((s) => s.stepId === 'b')!.p50Ms).toBeLessThan(f.steps.find((s) => s.stepId === 'b')!.p50Ms);
    expect(g.basis.sameVersionRuns).toBe(5);
  });

  it('measures the back-out in runs that backed out, and keeps its P90 free before the window ends', () => {
    const runs = [
      run(0, { a: 10 * MIN, b: 22 * MIN, go: MIN }, { a: 4 * MIN, b: 6 * MIN }),
      ...FIVE.slice(1, 4),
      run(4, { a: 10 * MIN, b: 21 * MIN, go: MIN }, { a: 4.4 * MIN, b: 5.5 * MIN }),
    ];
    const f = forecast({ runbook: STREAMS, versionHash: 'v1', runs, seed: 11, simulations: 2000 });
    expect(f.backout.source).toBe('measured');
    expect(f.backout.runs).toBe(2);
    // a and b are undone in parallel (neither depends on the other): about 6 minutes, well under the planned 30m
    // (one after the other, from the forward plan). Two back-outs are little evidence: the P90 at 90% confidence is
    // well above what they measured, still under the plan.
    expect(f.backout.p50Ms).toBeGreaterThan(5 * MIN);
    expect(f.backout.p50Ms).toBeLessThan(9 * MIN);
    expect(f.backout.p90Ms).toBeGreaterThan(f.backout.p50Ms);
    expect(f.backout.p90Ms).toBeLessThan(f.backout.plannedMs);
    expect(f.window!.latestSafeGoNoGoMs).toBe(60 * MIN - f.backout.p90Ms);
    expect(f.window!.gate!.stepId).toBe('go');
    expect(f.window!.gate!.pInTime).toBeGreaterThan(0.9);
  });

  it('gives the back-out alone (what a run starts with) exactly as the whole forecast does, whatever its nights', () => {
    const runs = [
      run(0, { a: 10 * MIN, b: 22 * MIN, go: MIN }, { a: 4 * MIN, b: 6 * MIN }),
      ...FIVE.slice(1, 4),
      run(4, { a: 10 * MIN, b: 21 * MIN, go: MIN }, { a: 4.4 * MIN, b: 5.5 * MIN }),
    ];
    for (const seed of [1, 11]) {
      const alone = backoutForecast({ runbook: STREAMS, versionHash: 'v1', runs, seed });
      expect(alone.source).toBe('measured');
      for (const simulations of [1, 200, 10_000]) {
        expect(alone).toEqual(forecast({ runbook: STREAMS, versionHash: 'v1', runs, seed, simulations }).backout);
      }
    }
    expect(backoutForecast({ runbook: STREAMS, versionHash: 'v1', runs: FIVE })).toEqual(
      forecast({ runbook: STREAMS, versionHash: 'v1', runs: FIVE, simulations: 10 }).backout,
    );
  });

  it('cuts a gate at its deadline and takes a window given on the command line', () => {
    const slowGate = spread.map((f, age) => run(age, { a: 10 * MIN, b: 20 * MIN, go: 30 * MIN * f, c: 5 * MIN }));
    const f = forecast({ runbook: STREAMS, versionHash: 'v1', runs: slowGate, seed: 1, simulations: 2000, window: { lengthMs: 40 * MIN } });
    expect(f.steps.find((s) => s.stepId === 'go')!.p90Ms).toBeLessThanOrEqual(2 * MIN);
    expect(f.window).toMatchObject({ lengthMs: 40 * MIN });
    expect(f.window!.start).toBeUndefined();
  });

  it('reads the recent runs and the older ones that backed out, not the whole history', () => {
    const history = Array.from({ length: 100 }, (_, age) => run(age, { a: MIN }, age % 7 === 6 ? { a: MIN } : undefined));
    const unfinished = { ...run(-1, { a: MIN }), endedAt: null };
    const read = runsWorthReading([unfinished, ...history]);
    expect(read.slice(0, RECENT_RUNS)).toEqual(history.slice(0, RECENT_RUNS));
    const older = read.slice(RECENT_RUNS);
    expect(older.every((r) => r.status === 'backed_out')).toBe(true);
    expect(read.filter((r) => r.status === 'backed_out')).toHaveLength(RECENT_BACKOUTS);
  });
});
