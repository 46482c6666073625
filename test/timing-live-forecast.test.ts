/**
 * The live re-forecast (timing/live-forecast.ts) against recorded histories whose answers are known: identical
 * rehearsals (the finish is exact), rehearsals drawn from a known lognormal (the finish follows its quantiles,
 * conditioned on how long the running step has run), a window and its point of no return, and a back-out started now.
 */
import { timedRun } from './support/timed-run.js';
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import type { RunState } from '../run/state.js';
import { initialRunState } from '../run/transitions.js';
import { forecast } from '../timing/forecast.js';
import { liveForecast, liveModel } from '../timing/live-forecast.js';
import { predictiveQuantile } from '../timing/fit.js';
import { normalCdf, normalQuantile, SeededRandom } from '../timing/random.js';
import type { TimedRun } from '../timing/runs.js';

const MIN = 60_000;
const T0 = Date.parse('2026-12-05T22:00:00.000Z');
const iso = (offset: number) => new Date(T0 + offset).toISOString();

function runbook(text: string): Runbook {
  const parsed = parseRunbook(text, 'live.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.runbook;
}

/** a (10m) -> b (20m) -> go (gate) -> c (5m); a and b have undos; a window of 1h. */
const CHAIN = runbook(`name: live
version: 1
lead: lead
roles: { lead: [alice] }
window: { length: 1h }
phases:
  - id: work
    kind: migration
    steps:
      - { id: a, title: A, owner: lead, expected: 10m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
      - { id: b, title: B, owner: lead, expected: 20m, depends_on: [a], action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead] } }
  - id: switch
    kind: interface_switch_on
    steps:
      - { id: c, title: C, owner: lead, expected: 5m, action: { kind: shell, command: "true" } }
`);

/** A recorded run `age` runs back, with these forward durations (and undos when it backed out). */
function recorded(age: number, durations: Record<string, number>, undo?: Record<string, number>): TimedRun {
  const t0 = T0 - (age + 1) * 86_400_000;
  return timedRun({ id: `live-${100 - age}`, number: 100 - age, t0, durations, ...(undo ? { undo } : {}) });
}

/** The run in flight: `done` steps with their [start, end] offsets, `under` steps with their start offset. */
function inFlight(done: Record<string, [number, number]>, under: Record<string, number> = {}): RunState {
  const state = initialRunState({ runId: 'live-101', runbook: CHAIN, versionHash: 'v1', mode: 'rehearsal', startedBy: 'alice' }, iso(0));
  state.status = 'running';
  for (const [id, [start, end]] of Object.entries(done)) {
    Object.assign(state.steps[id]!, { status: 'succeeded', attempts: 1, startedAt: iso(start), endedAt: iso(end) });
  }
  for (const [id, start] of Object.entries(under)) {
    const gate = state.steps[id]!.gate;
    Object.assign(state.steps[id]!, {
      status: gate ? 'waiting' : 'running',
      attempts: 1,
      startedAt: iso(start),
      ...(gate ? { gate: { ...gate, status: 'open', openedAt: iso(start) } } : {}),
    });
  }
  return state;
}

/** Thirty identical rehearsals: a 10m, b 20m, the gate 2m, c 5m, every time. */
const EXACT = Array.from({ length: 30 }, (_, age) => recorded(age, { a: 10 * MIN, b: 20 * MIN, go: 2 * MIN, c: 5 * MIN }));

describe('the live re-forecast on identical rehearsals', () => {
  const model = liveModel({ runbook: CHAIN, versionHash: 'v1', runs: EXACT });

  it('adds what remains to what has finished: a done at 10m, b 5m in, so b, the gate and c follow', () => {
    const f = liveForecast(model, inFlight({ a: [0, 10 * MIN] }, { b: 10 * MIN }), T0 + 15 * MIN);
    expect(f.basis).toBe('forward');
    expect(f.remaining).toBe(3);
    expect(f.p50Ms).toBe(37 * MIN);
    expect(f.p90Ms).toBe(37 * MIN);
    expect(f.p50At).toBe(iso(37 * MIN));
  });

  it('takes a late start as it happened: a ended at 14m, so everything after it moves 4m', () => {
    const f = liveForecast(model, inFlight({ a: [0, 14 * MIN] }), T0 + 14 * MIN);
    expect(f.p50Ms).toBe(41 * MIN);
  });

  it('a step running past its usual time ends no earlier than now', () => {
    // b has run 25m where it always took 20m: it ends now at the earliest, and the gate and c follow.
    const f = liveForecast(model, inFlight({ a: [0, 10 * MIN] }, { b: 10 * MIN }), T0 + 35 * MIN);
    expect(f.p50Ms).toBe(42 * MIN);
  });

  it('a step not started yet starts no earlier than now', () => {
    // a ended at 10m, but b has not started at 30m (a worker was away): b 20m from now, then the gate and c.
    const f = liveForecast(model, inFlight({ a: [0, 10 * MIN] }), T0 + 30 * MIN);
    expect(f.p50Ms).toBe(57 * MIN);
  });

  it('gives the window, the chance to end inside it, and whether the point of no return is ahead', () => {
    // The planned back-out is a's and b's expected times one after the other: 30m, so no return after 30m of the hour.
    const early = liveForecast(model, inFlight({ a: [0, 10 * MIN] }, { b: 10 * MIN }), T0 + 15 * MIN);
    expect(early.window).toEqual({ end: iso(60 * MIN), pInside: 1 });
    expect(early.pointOfNoReturn).toMatchObject({ at: iso(30 * MIN), ahead: true });
    // The gate opens when b ends, at 30m: exactly at the point of no return.
    expect(early.pointOfNoReturn?.goNoGo).toMatchObject({ stepId: 'go', decided: false, p50At: iso(30 * MIN) });
    // b ended early, at 25m: the gate opens now (26m), before the point of no return on every night.
    const ready = liveForecast(model, inFlight({ a: [0, 10 * MIN], b: [10 * MIN, 25 * MIN] }), T0 + 26 * MIN);
    expect(ready.pointOfNoReturn?.goNoGo).toEqual({ stepId: 'go', decided: false, p50At: iso(26 * MIN), p90At: iso(26 * MIN), pInTime: 1 });

    const late = liveForecast(model, inFlight({ a: [0, 10 * MIN] }, { b: 10 * MIN }), T0 + 50 * MIN);
    expect(late.pointOfNoReturn).toMatchObject({ at: iso(30 * MIN), ahead: false });
    expect(late.pointOfNoReturn?.goNoGo?.pInTime).toBe(0);
    // b ends now (50m), then 2m of gate and 5m of c: 57m, still inside the hour.
    expect(late.p50Ms).toBe(57 * MIN);
    expect(late.window?.pInside).toBe(1);
    const over = liveForecast(model, inFlight({ a: [0, 10 * MIN] }, { b: 10 * MIN }), T0 + 56 * MIN);
    expect(over.window?.pInside).toBe(0);
  });

  it('a back-out started now undoes what was done: the planned undos, one after the other', () => {
    const f = liveForecast(model, inFlight({ a: [0, 10 * MIN] }, { b: 10 * MIN }), T0 + 15 * MIN);
    expect(f.backoutNow).toEqual({ steps: 2, p50Ms: 30 * MIN, p90Ms: 30 * MIN, source: 'planned' });
    const first = liveForecast(model, inFlight({}, { a: 0 }), T0 + MIN);
    expect(first.backoutNow).toMatchObject({ steps: 1, p50Ms: 10 * MIN });
  });

  it('an ended run is its own answer', () => {
    const state = inFlight({ a: [0, 10 * MIN], b: [10 * MIN, 30 * MIN], go: [30 * MIN, 31 * MIN], c: [31 * MIN, 36 * MIN] });
    state.status = 'completed';
    state.endedAt = iso(36 * MIN);
    const f = liveForecast(model, state, T0 + 90 * MIN);
    expect(f).toMatchObject({ basis: 'ended', remaining: 0, p50Ms: 36 * MIN, p90Ms: 36 * MIN });
  });
});

describe('the live re-forecast on rehearsals drawn from a known distribution', () => {
  // b's log duration is normal with mean ln(20m) and sd 0.3 over 30 rehearsals; the others take exactly their time.
  const SD = 0.3;
  const rng = new SeededRandom(7);
  const B = Array.from({ length: 30 }, () => 20 * MIN * Math.exp(SD * rng.normal()));
  const runs = B.map((b, age) => recorded(age, { a: 10 * MIN, b, go: 2 * MIN, c: 5 * MIN }));
  const model = liveModel({ runbook: CHAIN, versionHash: 'v1', runs });
  // What the fit made of b (recent rehearsals weigh more): its predictive quantiles are the known answers.
  const fitted = model.night.models[model.night.graph.index.get('b')!]!;
  const bAt = (p: number) => predictiveQuantile(fitted, normalQuantile(p));

  it('fits b close to the distribution it was drawn from', () => {
    expect(bAt(0.5) / (20 * MIN)).toBeGreaterThan(0.85);
    expect(bAt(0.5) / (20 * MIN)).toBeLessThan(1.15);
    expect(Math.log(bAt(0.9) / bAt(0.5)) / 1.2816).toBeGreaterThan(SD * 0.6);
    expect(Math.log(bAt(0.9) / bAt(0.5)) / 1.2816).toBeLessThan(SD * 1.6);
  });

  it('before b starts, its finish follows b’s quantiles', () => {
    const f = liveForecast(model, inFlight({ a: [0, 10 * MIN] }), T0 + 10 * MIN, { simulations: 20_000 });
    // Finish = 10m + b + 2m + 5m.
    expect(Math.abs((f.p50Ms - 17 * MIN) / bAt(0.5) - 1)).toBeLessThan(0.03);
    expect(Math.abs((f.p90Ms - 17 * MIN) / bAt(0.9) - 1)).toBeLessThan(0.04);
  });

  it('once b has run as long as its median, its median end is its 75th percentile: conditioned on its age', () => {
    const now = 10 * MIN + bAt(0.5);
    const f = liveForecast(model, inFlight({ a: [0, 10 * MIN] }, { b: 10 * MIN }), T0 + now, { simulations: 20_000 });
    expect(Math.abs((f.p50Ms - 17 * MIN) / bAt(0.75) - 1)).toBeLessThan(0.03);
    // Conditioned on passing its median, b's 90th percentile is its 95th unconditioned.
    expect(Math.abs((f.p90Ms - 17 * MIN) / bAt(0.95) - 1)).toBeLessThan(0.05);
    // And it never finishes before now.
    expect(f.p50Ms).toBeGreaterThan(now + 7 * MIN);
  });

  it('gives the same figures for the same seed, and close ones for another', () => {
    const state = inFlight({ a: [0, 10 * MIN] }, { b: 10 * MIN });
    const one = liveForecast(model, state, T0 + 20 * MIN, { seed: 3 });
    expect(liveForecast(model, state, T0 + 20 * MIN, { seed: 3 })).toEqual(one);
    const other = liveForecast(model, state, T0 + 20 * MIN, { seed: 4 });
    expect(other.p50Ms).not.toBe(one.p50Ms);
    expect(Math.abs(other.p50Ms - one.p50Ms)).toBeLessThan(MIN);
  });

  it('agrees with `cutover forecast` before anything ran', () => {
    const whole = forecast({ runbook: CHAIN, versionHash: 'v1', runs, simulations: 20_000 });
    const f = liveForecast(model, inFlight({}), T0, { simulations: 20_000 });
    expect(Math.abs(f.p50Ms - whole.p50Ms)).toBeLessThan(0.02 * whole.p50Ms);
    expect(Math.abs(f.p90Ms - whole.p90Ms)).toBeLessThan(0.03 * whole.p90Ms);
  });
});

describe('a back-out in the live re-forecast', () => {
  // Five runs backed out: a's undo took 4m and b's 6m, every time.
  const runs = [
    ...Array.from({ length: 5 }, (_, age) => recorded(age, { a: 10 * MIN, b: 20 * MIN }, { a: 4 * MIN, b: 6 * MIN })),
    ...Array.from({ length: 10 }, (_, age) => recorded(age + 5, { a: 10 * MIN, b: 20 * MIN, go: 2 * MIN, c: 5 * MIN })),
  ];
  const model = liveModel({ runbook: CHAIN, versionHash: 'v1', runs });

  it('a back-out started now takes the measured undos of what was done', () => {
    const f = liveForecast(model, inFlight({ a: [0, 10 * MIN], b: [10 * MIN, 30 * MIN] }), T0 + 31 * MIN);
    expect(f.backoutNow.source).toBe('measured');
    expect(f.backoutNow.steps).toBe(2);
    expect(Math.abs(f.backoutNow.p50Ms - 10 * MIN)).toBeLessThan(MIN);
  });

  it('while it backs out, the finish is now plus the undos left', () => {
    const state = inFlight({ a: [0, 10 * MIN], b: [10 * MIN, 30 * MIN] });
    state.status = 'backing_out';
    state.backout = { status: 'running', trigger: 'requested', startedAt: iso(30 * MIN) };
    state.steps.b!.backout = { status: 'succeeded', attempts: 1, startedAt: iso(30 * MIN), endedAt: iso(36 * MIN) };
    state.steps.a!.backout = { status: 'pending', attempts: 0 };
    const f = liveForecast(model, state, T0 + 36 * MIN);
    expect(f.basis).toBe('backout');
    expect(f.remaining).toBe(1);
    expect(Math.abs(f.p50Ms - 40 * MIN)).toBeLessThan(MIN);
  });
});

describe('the normal distribution helpers', () => {
  it('invert each other', () => {
    for (const x of [-3, -1.5, -0.2, 0, 0.7, 2.4]) expect(normalQuantile(normalCdf(x))).toBeCloseTo(x, 4);
    expect(normalQuantile(0.9)).toBeCloseTo(1.2816, 3);
  });
});
