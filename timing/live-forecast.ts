/**
 * The live re-forecast: during a run, when will it finish? From what has finished (fixed, as it happened), how long
 * the running steps have been running (each one's duration drawn from its fitted distribution, conditioned on being
 * longer than that), and the fitted durations of `cutover forecast` for the steps still to start. It simulates only
 * what remains, a few thousand nights, seeded: the P50 and P90 of the finish, the chance to end inside the window, how
 * long a back-out started now would take (the undos of what has been done so far), and whether the point of no
 * return is still ahead.
 *
 * The fit is the forecast's (forecast.ts, fit.ts), made once per run watched by {@link liveModel}; each change of
 * the run costs one {@link liveForecast}, which draws nothing it can reuse: the parameters' posterior draws are
 * pooled in the model, as `simulateNights` pools them.
 *
 * Pure and deterministic: the same model, state, clock and seed give the same figures. No Node imports.
 */
import { durationMs } from '../runbook/duration.js';
import type { RunState, StepState } from '../run/state.js';
import { pointOfNoReturn } from '../run/transitions.js';
import { drawParameters, type Fitted } from './fit.js';
import { fitBackout, forecastBackout, type BackoutFit } from './forecast-backout.js';
import { nightModel, type ForecastInput, type NightModel } from './forecast.js';
import { normalAbove, quantileSorted, SeededRandom } from './random.js';

/** Simulated nights per live re-forecast: enough for minutes at the P90 on a cutover of hours. */
export const LIVE_SIMULATIONS = 2_000;
/** Posterior draws of each step's parameters the nights pick from (as in forecast.ts). */
const POOL = 256;

/** What a run in flight is forecast with: the fitted night, the undos' fits, and each step's pooled draws. */
export interface LiveModel {
  night: NightModel;
  runbook: ForecastInput['runbook'];
  backout: BackoutFit & { source: 'measured' | 'planned'; p90Ms: number };
  /** Per graph index, POOL posterior draws of the log duration's mean and sd; NaN for a step with no fit. */
  poolMu: Float64Array;
  poolSd: Float64Array;
  /** The same for undos (measured back-outs only). */
  undoMu: Float64Array;
  undoSd: Float64Array;
}

/** Fits the night from the runbook's recorded runs, once per run watched. */
export function liveModel(input: ForecastInput): LiveModel {
  const night = nightModel(input);
  const seed = input.seed ?? 1;
  const rng = new SeededRandom(seed ^ 0x2545f491);
  const n = night.graph.order.length;
  const pooled = (models: readonly (Fitted | undefined)[]) => {
    const mu = new Float64Array(n * POOL).fill(Number.NaN);
    const sd = new Float64Array(n * POOL).fill(Number.NaN);
    models.forEach((fitted, i) => {
      if (!fitted || fitted.source === 'none') return;
      for (let k = 0; k < POOL; k += 1) [mu[i * POOL + k], sd[i * POOL + k]] = drawParameters(fitted, rng);
    });
    return { mu, sd };
  };
  const forward = pooled(night.models);
  const fit = fitBackout(input, night.graph, night.stepOf, night.planned, night.runs, night.forward);
  const undo = pooled(night.graph.order.map((id) => fit.fitted?.fitted.get(id)));
  // The whole back-out's P90 as the forecast has it: the run's point of no return keeps it free before the window ends.
  const whole = forecastBackout(
    input,
    night.graph,
    night.stepOf,
    night.planned,
    night.runs,
    new SeededRandom(seed ^ 0x5bd1e995),
    night.forward,
  );
  return {
    night,
    runbook: input.runbook,
    backout: { ...fit, source: fit.fitted ? 'measured' : 'planned', p90Ms: whole.p90Ms },
    poolMu: forward.mu,
    poolSd: forward.sd,
    undoMu: undo.mu,
    undoSd: undo.sd,
  };
}

/** The live re-forecast of a run at one moment. */
export interface LiveForecast {
  /** When it was made (ISO). */
  at: string;
  seed: number;
  simulations: number;
  /** `forward`: the run goes on; `backout`: it is backing out, and the figures are for the back-out's end; `ended`. */
  basis: 'forward' | 'backout' | 'ended';
  /** Steps (or undos, backing out) not finished yet. */
  remaining: number;
  /** The finish, from the run's start, and as a time. */
  p50Ms: number;
  p90Ms: number;
  p50At: string;
  p90At: string;
  /** With a window: when it ends, and the share of simulated nights that finish inside it. */
  window?: { end: string; pInside: number };
  /** How long a back-out started now would take: the undos of the steps done or under way. */
  backoutNow: { steps: number; p50Ms: number; p90Ms: number; source: 'measured' | 'planned' };
  /** With a window: the latest go that leaves room to back out, whether it is still ahead, and when the go/no-go comes. */
  pointOfNoReturn?: {
    at: string;
    ahead: boolean;
    goNoGo?: { stepId: string; decided: boolean; p50At?: string; p90At?: string; pInTime?: number };
  };
}

/** Statuses of a step that will not take any more time going forward. */
const DONE = new Set(['succeeded', 'simulated', 'skipped', 'cancelled']);

/** Where each step of the graph stands: 0 done (with its end), 1 under way (with its start), 2 not started. */
interface Standing {
  kind: Uint8Array;
  /** Offsets from the run's start, ms: the end of a done step, the start of one under way. */
  at: Float64Array;
}

function standing(model: LiveModel, state: RunState, runStart: number, now: number): Standing {
  const { order } = model.night.graph;
  const kind = new Uint8Array(order.length).fill(2);
  const at = new Float64Array(order.length);
  order.forEach((id, i) => {
    const step = state.steps[id];
    if (!step) return;
    if (DONE.has(step.status) || (step.status === 'failed' && !step.resolution)) {
      kind[i] = 0;
      at[i] = (step.endedAt ? Date.parse(step.endedAt) : now) - runStart;
    } else if (step.startedAt) {
      kind[i] = 1;
      at[i] = Date.parse(step.startedAt) - runStart;
    }
  });
  return { kind, at };
}

/**
 * A step's duration on one night: drawn from its pooled posterior (a gate's cut at its deadline), or, for a rehearsal's
 * simulated step, its plan (a rehearsal waits exactly that); when it has been under way for `elapsed`, conditioned on
 * being longer.
 */
function drawDuration(model: LiveModel, i: number, step: StepState | undefined, elapsed: number, rng: SeededRandom): number {
  const { night } = model;
  if (step?.treatment === 'skip') return elapsed;
  if (step?.treatment === 'simulate' && step.kind !== 'gate') return Math.max(step.plannedDurationMs, elapsed);
  const p = i * POOL + Math.floor(rng.uniform() * POOL);
  const mu = model.poolMu[p]!;
  if (Number.isNaN(mu)) return elapsed;
  const sd = model.poolSd[p]!;
  let y: number;
  if (sd < 1e-9) {
    // Measured the same every time: no spread to draw from.
    y = elapsed > 0 ? Math.max(mu, Math.log(elapsed)) : mu;
  } else if (elapsed > 0) {
    y = mu + sd * normalAbove((Math.log(elapsed) - mu) / sd, rng);
  } else {
    y = mu + sd * rng.normal();
    const outliers = night.forward.outlierLogs;
    if (outliers.length > 0 && rng.uniform() < night.forward.outlierRate) y += outliers[Math.floor(rng.uniform() * outliers.length)]!;
  }
  const cap = night.caps[i]!;
  return Math.max(elapsed, Math.min(Math.exp(y), cap));
}

/** Re-forecasts the run at `nowMs` from the model of its runbook. */
export function liveForecast(
  model: LiveModel,
  state: RunState,
  nowMs: number,
  options: { seed?: number; simulations?: number } = {},
): LiveForecast {
  const seed = options.seed ?? 1;
  const count = Math.max(1, Math.trunc(options.simulations ?? LIVE_SIMULATIONS));
  const rng = new SeededRandom(seed);
  const runStart = Date.parse(state.startedAt);
  const now = state.endedAt ? Date.parse(state.endedAt) : nowMs;
  const nowOffset = Math.max(0, now - runStart);
  const { graph, goNoGoIndex } = model.night;
  const n = graph.order.length;
  const place = standing(model, state, runStart, now);
  const steps = graph.order.map((id) => state.steps[id]);
  const backingOut = state.backout.status === 'running' || state.backout.status === 'waiting';
  const backoutNow = undoNow(model, state, runStart, nowOffset, count, rng, backingOut ? 'left' : 'done');

  const totals = new Float64Array(count);
  const gateStarts = new Float64Array(count);
  let remaining = 0;
  if (state.endedAt) {
    totals.fill(nowOffset);
  } else if (backingOut) {
    remaining = backoutNow.steps;
    backoutNow.totals.forEach((t, s) => (totals[s] = nowOffset + t));
  } else {
    // Only what remains is simulated: the order of the steps not done yet, and the latest end among the done ones.
    const todo: number[] = [];
    let doneEnd = 0;
    for (let i = 0; i < n; i += 1) {
      if (place.kind[i] === 0) doneEnd = Math.max(doneEnd, place.at[i]!);
      else todo.push(i);
    }
    remaining = todo.length;
    const end = new Float64Array(n);
    for (let i = 0; i < n; i += 1) if (place.kind[i] === 0) end[i] = place.at[i]!;
    const { start: depStart, values: depValues } = graph.deps;
    for (let s = 0; s < count; s += 1) {
      let last = Math.max(doneEnd, nowOffset);
      for (const i of todo) {
        let start: number;
        let elapsed = 0;
        if (place.kind[i] === 1) {
          start = place.at[i]!;
          elapsed = Math.max(0, nowOffset - start);
        } else {
          // Not started yet: not before now, and not before what it waits for.
          start = nowOffset;
          for (let k = depStart[i]!, stop = depStart[i + 1]!; k < stop; k += 1) start = Math.max(start, end[depValues[k]!]!);
        }
        if (i === goNoGoIndex) gateStarts[s] = start;
        end[i] = start + drawDuration(model, i, steps[i], elapsed, rng);
        if (end[i] > last) last = end[i]!;
      }
      totals[s] = last;
    }
  }
  const sorted = Float64Array.from(totals).sort();
  const p50Ms = Math.round(quantileSorted(sorted, 0.5));
  const p90Ms = Math.round(quantileSorted(sorted, 0.9));
  const iso = (offset: number) => new Date(runStart + offset).toISOString();
  const forecast: LiveForecast = {
    at: new Date(nowMs).toISOString(),
    seed,
    simulations: count,
    basis: state.endedAt ? 'ended' : backingOut ? 'backout' : 'forward',
    remaining,
    p50Ms,
    p90Ms,
    p50At: iso(p50Ms),
    p90At: iso(p90Ms),
    backoutNow: {
      steps: backoutNow.steps,
      p50Ms: Math.round(quantileSorted(backoutNow.sorted, 0.5)),
      p90Ms: Math.round(quantileSorted(backoutNow.sorted, 0.9)),
      source: model.backout.source,
    },
  };
  const noReturn = runNoReturn(model, state);
  if (noReturn) {
    const endOffset = Date.parse(noReturn.windowEnd) - runStart;
    let inside = 0;
    for (let s = 0; s < count; s += 1) if (totals[s]! <= endOffset) inside += 1;
    forecast.window = { end: noReturn.windowEnd, pInside: round3(inside / count) };
    forecast.pointOfNoReturn = { at: noReturn.at, ahead: Date.parse(noReturn.at) > now };
    const goNoGo = model.night.goNoGo;
    if (goNoGo !== undefined) {
      const gate = state.steps[goNoGo];
      const decided = gate?.gate ? gate.gate.status === 'approved' || gate.gate.status === 'rejected' : DONE.has(gate?.status ?? '');
      if (decided || state.endedAt || backingOut) {
        forecast.pointOfNoReturn.goNoGo = { stepId: goNoGo, decided: true };
      } else {
        const opened = place.kind[goNoGoIndex] === 1;
        if (opened) gateStarts.fill(place.at[goNoGoIndex]!);
        const limit = Date.parse(noReturn.at) - runStart;
        let inTime = 0;
        for (let s = 0; s < count; s += 1) if (gateStarts[s]! <= limit) inTime += 1;
        const gateSorted = gateStarts.sort();
        forecast.pointOfNoReturn.goNoGo = {
          stepId: goNoGo,
          decided: false,
          p50At: iso(Math.round(quantileSorted(gateSorted, 0.5))),
          p90At: iso(Math.round(quantileSorted(gateSorted, 0.9))),
          pInTime: round3(inTime / count),
        };
      }
    }
  }
  return forecast;
}

/** The run's point of no return: as its gates carry it, else as the run would have it with the forecast's back-out. */
function runNoReturn(model: LiveModel, state: RunState): { at: string; windowEnd: string } | undefined {
  for (const id of state.order) {
    const carried = state.steps[id]?.gate?.pointOfNoReturn;
    if (carried) return carried;
  }
  return pointOfNoReturn(model.runbook, state.mode, state.startedAt, model.backout.source === 'measured' ? model.backout.p90Ms : undefined);
}

/**
 * A back-out started now (`done`: the undos of every step done or under way), or the rest of the one under way
 * (`left`: the undos not finished yet, one running conditioned on how long it has run): nights in reverse dependency
 * order, from the undos' fits when a run backed out, else their plans one after the other (as the run's point of no
 * return counts them).
 */
function undoNow(
  model: LiveModel,
  state: RunState,
  runStart: number,
  nowOffset: number,
  count: number,
  rng: SeededRandom,
  which: 'done' | 'left',
): { steps: number; totals: Float64Array; sorted: Float64Array } {
  const { graph, stepOf } = model.night;
  const n = graph.order.length;
  const todo = new Uint8Array(n);
  const elapsed = new Float64Array(n);
  let steps = 0;
  graph.order.forEach((id, i) => {
    if (!stepOf.get(id)!.step.backout) return;
    const step = state.steps[id];
    if (!step) return;
    if (which === 'done') {
      if (!step.startedAt || step.status === 'skipped' || step.status === 'cancelled') return;
    } else {
      const undo = step.backout?.status;
      if (undo !== 'pending' && undo !== 'running' && undo !== 'manual' && undo !== 'waiting') return;
      if (undo !== 'pending' && step.backout?.startedAt)
        elapsed[i] = Math.max(0, runStart + nowOffset - Date.parse(step.backout.startedAt));
    }
    todo[i] = 1;
    steps += 1;
  });
  const totals = new Float64Array(count);
  if (steps > 0) {
    const measured = model.backout.source === 'measured';
    const planned = graph.order.map((id) => {
      const expected = stepOf.get(id)!.step.expected;
      return expected ? durationMs(expected) : 0;
    });
    const { rdeps } = graph;
    const end = new Float64Array(n);
    for (let s = 0; s < count; s += 1) {
      let total = 0;
      for (let i = n - 1; i >= 0; i -= 1) {
        if (!measured) {
          // The plan: one undo after the other.
          if (todo[i] === 1) total += Math.max(0, planned[i]! - elapsed[i]!);
          continue;
        }
        let start = 0;
        for (let k = rdeps.start[i]!, stop = rdeps.start[i + 1]!; k < stop; k += 1) start = Math.max(start, end[rdeps.values[k]!]!);
        let d = 0;
        const p = i * POOL + Math.floor(rng.uniform() * POOL);
        if (todo[i] === 1 && !Number.isNaN(model.undoMu[p]!)) {
          const mu = model.undoMu[p]!;
          const sd = model.undoSd[p]!;
          const e = elapsed[i]!;
          if (sd < 1e-9) d = Math.max(0, Math.exp(mu) - e);
          else d = e > 0 ? Math.exp(mu + sd * normalAbove((Math.log(e) - mu) / sd, rng)) - e : Math.exp(mu + sd * rng.normal());
        } else if (todo[i] === 1) {
          d = Math.max(0, planned[i]! - elapsed[i]!);
        }
        end[i] = start + d;
        if (end[i]! > total) total = end[i]!;
      }
      totals[s] = total;
    }
  }
  return { steps, totals, sorted: Float64Array.from(totals).sort() };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
