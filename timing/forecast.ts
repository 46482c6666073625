/**
 * Will the cutover fit its window? A forecast of the night from the runs recorded so far (`cutover forecast`, the
 * report, the live run's point of no return).
 *
 * The model, step by step:
 *  1. Each step's duration is lognormal: its log is normal with unknown mean and variance. The measurements are
 *     the durations of the step in past runs that really ran it to success (simulated and skipped steps measured
 *     the plan, not the step), each weighted: recent runs more (the weight halves every
 *     `RECENCY_HALF_LIFE_RUNS` (fit.ts) runs back), runs of another runbook version half as much.
 *  2. Outliers (a log-duration more than `OUTLIER_Z` robust deviations from the step's median, with at least
 *     three measurements to tell) are down-weighted in the step's fit and listed. They do happen on the night too, so
 *     their runbook-wide rate and sizes come back in the simulation as a contamination: with that probability a
 *     draw is stretched by one of the observed outlier factors.
 *  3. Five rehearsals are few measurements per step, so each step's fit starts from a prior built from the plan
 *     (a conjugate normal-inverse-gamma on the log duration): centred on log(expected) plus the runbook-wide bias of
 *     the plan (how much longer than planned steps take, a median over the measured steps), as sure as the plan has
 *     proved (the spread of the steps' deviations from it, empirical Bayes), with a variance centred on the pooled
 *     within-step variance. A step never measured falls back to this prior, centred on its plan, and is listed.
 *  4. Monte Carlo over the graph as the engine runs it: a step starts when all its effective dependencies (its
 *     `depends_on` and the phase barrier) have ended, in parallel with everything else that is ready (runs_on pools
 *     serve any number of steps at once). A gate's time is the approvers' time, fitted like a step's and cut at its
 *     `after_opening` deadline. Each simulated night draws each step's parameters from their posterior and then
 *     its duration (the posterior predictive), so the uncertainty of the fit widens the forecast as it should.
 *  5. Back-out is simulated the same way, in reverse dependency order over the steps that have an undo, from the
 *     undo durations measured in runs that backed out. The figure for the go/no-go is its P90 taken at 95%
 *     confidence (the 95th percentile of the P90 over the posterior of the parameters, with the runbook-wide figures
 *     the priors came from varied too), so the latest safe go/no-go holds in nine runbooks out of ten even when
 *     back-out was rehearsed once or twice. Without a measured back-out
 *     it is the planned one, as the run's point of no return has it (run/transitions.ts).
 *
 * Pure and deterministic: the same inputs and seed give the same figures. No Node imports.
 */
import { durationMs } from '../runbook/duration.js';
import { earliestStart, holdsAny, startRules, type StartRules } from '../runbook/fixed-starts.js';
import type { Phase, Runbook, Step } from '../runbook/schema.js';
import {
  drawParameters,
  fit,
  fitItems,
  predictiveQuantile,
  weightedRuns,
  type Fitted,
  type FitResult,
  type FitSource,
  type Outlier,
} from './fit.js';
import { forecastBackout } from './forecast-backout.js';
import { SeededRandom, quantileSorted } from './random.js';
import { backedOut, forwardDurations, type TimedRun } from './runs.js';
import { compileGraph, plannedLength, type CompiledGraph } from './step-graph.js';
import { sameVersion } from '../run/version-hash.js';

/**
 * Runs worth reading: the latest {@link RECENT_RUNS} (the next one back would weigh 0.5^6, under 2% of the latest,
 * and all the older ones together under 2% of the weight of the ones read), and the latest {@link RECENT_BACKOUTS}
 * that backed out among the older ones (back-out is rehearsed less often; its runs are weighed by recency among
 * themselves). Each run read is a row per step to fetch: 30 runs of 200 steps is 6,000.
 */
export const RECENT_RUNS = 30;
export const RECENT_BACKOUTS = 10;
/** Simulated nights by default. */
export const DEFAULT_SIMULATIONS = 10_000;
/** Seed by default: the same data gives the same forecast unless another seed is asked for. */
export const DEFAULT_SEED = 1;
/** Posterior draws of each step's parameters that the simulated nights pick from. */
const PARAMETER_POOL = 512;

/** What to forecast. */
export interface ForecastInput {
  runbook: Runbook;
  /** The version forecast: runs of it count fully, others `OTHER_VERSION_WEIGHT` (fit.ts). */
  versionHash: string;
  /** The runbook's recorded runs, newest first (runs that have not ended are left out). */
  runs: readonly TimedRun[];
  /** The cutover window: its length, and its start when known (ms since the epoch). Default: the runbook's. */
  window?: { lengthMs: number; startMs?: number };
  seed?: number;
  simulations?: number;
}

/** One step's fitted duration. */
export interface StepForecast {
  stepId: string;
  title: string;
  phaseId: string;
  plannedMs: number | null;
  /** Measurements used (outliers included), and their total weight after recency, version and outlier weights. */
  samples: number;
  weight: number;
  /** `measured`: fitted from runs; `planned`: never measured, from its plan; `none`: neither (taken as 0). */
  source: FitSource;
  p50Ms: number;
  p90Ms: number;
  /** Share of simulated nights on which it was on the critical path. */
  criticality: number;
  /** On the nights past the forecast P90: how much its overrun of its median added to the critical path, on average. */
  tailMs: number;
}

/** The forecast of the night. */
export interface Forecast {
  runbook: string;
  versionHash: string;
  seed: number;
  simulations: number;
  basis: {
    /** Runs measured from, of which of this version; and how many of them backed out (back-out measured). */
    runs: number;
    sameVersionRuns: number;
    backedOutRuns: number;
    runIds: string[];
    /** How much longer than planned steps take, as a factor (1.2: 20% longer), over the measured steps. */
    planBias: number;
    /** Outliers seen per measurement, runbook-wide: the contamination of the simulation. */
    outlierRate: number;
  };
  /** The planned critical path's length (`expected` durations). */
  plannedMs: number;
  p50Ms: number;
  p90Ms: number;
  /** The most likely critical path and the share of nights it was the critical one. */
  criticalPath: { steps: string[]; probability: number };
  /** The steps that add most to the late nights (`tailMs`), largest first, at most ten. */
  riskContributors: StepForecast[];
  steps: StepForecast[];
  outliers: Outlier[];
  /** Steps never measured in a run: the forecast takes their plan. */
  neverRehearsed: { stepId: string; plannedMs: number | null }[];
  backout: {
    /** `measured`: from runs that backed out; `planned`: the planned back-out, as the run's point of no return. */
    source: 'measured' | 'planned';
    runs: number;
    p50Ms: number;
    /** The P90 back-out at 95% confidence: what the latest safe go/no-go keeps free before the window ends. */
    p90Ms: number;
    plannedMs: number;
  };
  window?: {
    lengthMs: number;
    start?: string;
    end?: string;
    /** Share of simulated nights that end inside the window. */
    pInside: number;
    /** The latest go/no-go that leaves the back-out's P90 before the window ends: offset from its start, and the time. */
    latestSafeGoNoGoMs: number;
    latestSafeGoNoGo?: string;
    /** The go/no-go gate, when the runbook has one: when the night reaches it, and how often in time for a safe go. */
    gate?: { stepId: string; p50Ms: number; p90Ms: number; pInTime: number };
  };
}

/**
 * Of a runbook's runs (newest first), the ones a forecast reads: the latest {@link RECENT_RUNS} that ended, and older
 * ones that backed out up to {@link RECENT_BACKOUTS} backed-out runs in all. Reading the rest would barely move a
 * figure (their weight is small) and costs time (a run of 200 steps is 200 rows).
 */
export function runsWorthReading<R extends Pick<TimedRun, 'endedAt' | 'status' | 'backoutStartedAt'>>(runs: readonly R[]): R[] {
  const ended = runs.filter((run) => run.endedAt !== null);
  const recent = ended.slice(0, RECENT_RUNS);
  let backouts = recent.filter((run) => backedOut(run)).length;
  const older = ended.slice(RECENT_RUNS).filter((run) => backedOut(run) && backouts++ < RECENT_BACKOUTS);
  return [...recent, ...older];
}

/**
 * What a simulation of the night works from: the compiled graph, each step's fitted duration (its model), the cap a
 * gate's deadline puts on it, its plan, and which gate is the go/no-go.
 */
export interface NightModel {
  graph: CompiledGraph;
  stepOf: ReadonlyMap<string, { step: Step; phase: Phase }>;
  planned: ReadonlyMap<string, number | null>;
  runs: { run: TimedRun; weight: number }[];
  forward: FitResult;
  /** By graph index. */
  models: Fitted[];
  caps: number[];
  /** The go/no-go gate: the first gate of a go_no_go phase, else the first gate. */
  goNoGo: string | undefined;
  goNoGoIndex: number;
  /** Fixed starts and interface freezes (offsets from the window's start), when the runbook has any. */
  holds: StartRules | undefined;
}

/** Fits every step's duration from the runs and compiles the graph the nights run on. */
export function nightModel(input: ForecastInput): NightModel {
  const { runbook } = input;
  const graph = compileGraph(runbook);
  const rules = startRules(runbook);
  const stepOf = new Map(runbook.phases.flatMap((phase) => phase.steps.map((step) => [step.id, { step, phase }] as const)));
  const planned = new Map(graph.order.map((id) => [id, stepOf.get(id)!.step.expected ? durationMs(stepOf.get(id)!.step.expected!) : null]));
  const runs = weightedRuns(input.runs, input.versionHash);
  const forward = fit(
    fitItems(graph.order, planned, runs, (run) => forwardDurations(run, true)),
    'forward',
  );
  const caps = graph.order.map((id) => {
    const after = stepOf.get(id)!.step.gate?.deadline?.after_opening;
    return after ? durationMs(after) : Infinity;
  });
  const gates = graph.order.filter((id) => stepOf.get(id)!.step.gate);
  const goNoGo = gates.find((id) => stepOf.get(id)!.phase.kind === 'go_no_go') ?? gates[0];
  return {
    graph,
    stepOf,
    planned,
    runs,
    forward,
    models: graph.order.map((id) => forward.fitted.get(id)!),
    caps,
    goNoGo,
    goNoGoIndex: goNoGo === undefined ? -1 : graph.index.get(goNoGo)!,
    holds: holdsAny(rules) ? rules : undefined,
  };
}

/** Simulated nights: each night's end, when it reached the go/no-go, each step's drawn duration and critical path. */
export interface Nights {
  count: number;
  totals: Float64Array;
  gateStarts: Float64Array;
  /** Night s, step i (graph index) at s * steps + i: when it started. Only when asked for (`keepStarts`). */
  starts?: Float32Array;
  /** Night s, step i (graph index) at s * steps + i. */
  drawn: Float32Array;
  onPath: Uint8Array;
  /** Nights by the hash of their critical path: how many had it, and one that did. */
  paths: Map<number, { count: number; night: number }>;
}

/**
 * Runs `count` nights over the graph: a step starts when all its dependencies have ended, and takes a duration drawn
 * from its posterior predictive (contaminated by the runbook's outliers, cut at a gate's deadline).
 */
export function simulateNights(model: NightModel, count: number, rng: SeededRandom, keepStarts = false): Nights {
  const { graph, models, caps, forward, goNoGoIndex, holds } = model;
  const n = graph.order.length;
  const starts = keepStarts ? new Float32Array(count * n) : undefined;
  const totals = new Float64Array(count);
  const gateStarts = new Float64Array(count);
  const drawn = new Float32Array(count * n);
  const onPath = new Uint8Array(count * n);
  const paths = new Map<number, { count: number; night: number }>();
  const end = new Float64Array(n);
  const binding = new Int32Array(n);
  const outlierLogs = forward.outlierLogs;
  const { start: depStart, values: depValues } = graph.deps;
  // Each step's parameters are drawn from their posterior ahead, PARAMETER_POOL times, and each night picks one of
  // them: a gamma and a normal draw per step and night were half the simulation's time, and a pool of this size
  // draws the same predictive distribution for any purpose here.
  const pool = Math.min(PARAMETER_POOL, count);
  const poolMu = new Float64Array(n * pool);
  const poolSd = new Float64Array(n * pool);
  models.forEach((fitted, i) => {
    if (fitted.source === 'none') return;
    for (let k = 0; k < pool; k += 1) [poolMu[i * pool + k], poolSd[i * pool + k]] = drawParameters(fitted, rng);
  });
  for (let s = 0; s < count; s += 1) {
    let last = -1;
    for (let i = 0; i < n; i += 1) {
      let start = 0;
      let bind = -1;
      for (let k = depStart[i]!, stop = depStart[i + 1]!; k < stop; k += 1) {
        const dep = depValues[k]!;
        const e = end[dep]!;
        if (bind < 0 || e > start) {
          start = e;
          bind = dep;
        }
      }
      // A fixed start (or an interface freeze) holds the step back; the path then starts again at it.
      if (holds) {
        const held = earliestStart(holds, graph.order[i]!, start).startMs;
        if (held > start) {
          start = held;
          bind = -1;
        }
      }
      if (starts) starts[s * n + i] = start;
      binding[i] = bind;
      const fitted = models[i]!;
      let d = 0;
      if (fitted.source !== 'none') {
        // The posterior predictive: parameters from the step's posterior (one of its pooled draws, picked at random),
        // then the duration.
        const p = i * pool + Math.floor(rng.uniform() * pool);
        let y = poolMu[p]! + poolSd[p]! * rng.normal();
        if (outlierLogs.length > 0 && rng.uniform() < forward.outlierRate)
          y += outlierLogs[Math.floor(rng.uniform() * outlierLogs.length)]!;
        d = Math.min(Math.exp(y), caps[i]!);
      }
      if (i === goNoGoIndex) gateStarts[s] = start;
      drawn[s * n + i] = d;
      end[i] = start + d;
      if (last < 0 || end[i]! >= end[last]!) last = i;
    }
    totals[s] = last < 0 ? 0 : end[last]!;
    // The path is counted by a 52-bit hash of its steps (two 32-bit FNV-1a hashes): no string per night.
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193;
    for (let at = last; at >= 0; at = binding[at]!) {
      onPath[s * n + at] = 1;
      h1 = Math.imul(h1 ^ at, 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ (at + 0x9e37), 0x85ebca6b) >>> 0;
    }
    const key = h1 * 0x100000 + (h2 & 0xfffff);
    const seen = paths.get(key);
    if (seen) seen.count += 1;
    else paths.set(key, { count: 1, night: s });
  }
  return { count, totals, gateStarts, drawn, onPath, paths, ...(starts ? { starts } : {}) };
}

/**
 * Each step's figures in runbook order: its fitted P50 and P90, how often it was critical, and where the late nights
 * come from (on the nights past the P90, its overrun of its median on the critical path).
 */
function stepForecasts(model: NightModel, nights: Nights, p90Ms: number, runbook: Runbook): StepForecast[] {
  const { graph, models, caps, stepOf, planned } = model;
  const { count, totals, drawn, onPath } = nights;
  const n = graph.order.length;
  const medians = models.map((m) => predictiveQuantile(m, 0));
  const critical = new Float64Array(n);
  const lateNights: number[] = [];
  for (let s = 0; s < count; s += 1) {
    if (totals[s]! >= p90Ms) lateNights.push(s);
    for (let i = 0; i < n; i += 1) if (onPath[s * n + i] === 1) critical[i] = critical[i]! + 1;
  }
  const tailNights = lateNights.length;
  // Averaged with its largest 5% held at the 95th percentile: a step fitted from few runs (or only from its plan) has
  // a log-t predictive whose mean is infinite, and a plain average then follows the one wildest draw of the seed.
  const tail = new Float64Array(n);
  const overrun = new Float64Array(tailNights);
  for (let i = 0; i < n; i += 1) {
    for (let k = 0; k < tailNights; k += 1) {
      const s = lateNights[k]!;
      overrun[k] = onPath[s * n + i] === 1 ? drawn[s * n + i]! - medians[i]! : 0;
    }
    const cap = quantileSorted(Float64Array.from(overrun).sort(), 0.95);
    let sum = 0;
    for (let k = 0; k < tailNights; k += 1) sum += Math.min(overrun[k]!, cap);
    tail[i] = sum;
  }
  const steps: StepForecast[] = graph.order.map((id, i) => {
    const fitted = models[i]!;
    const { step, phase } = stepOf.get(id)!;
    return {
      stepId: id,
      title: step.title,
      phaseId: phase.id,
      plannedMs: planned.get(id) ?? null,
      samples: fitted.samples,
      weight: round3(fitted.weight),
      source: fitted.source,
      p50Ms: Math.round(Math.min(predictiveQuantile(fitted, 0), caps[i]!)),
      p90Ms: Math.round(Math.min(predictiveQuantile(fitted, 1.2815515655446004), caps[i]!)),
      criticality: round3(critical[i]! / count),
      tailMs: Math.round(tailNights > 0 ? tail[i]! / tailNights : 0),
    };
  });
  // Back in runbook order for people.
  const runbookOrder = new Map(runbook.phases.flatMap((p) => p.steps.map((s) => s.id)).map((id, i) => [id, i] as const));
  return steps.sort((a, b) => runbookOrder.get(a.stepId)! - runbookOrder.get(b.stepId)!);
}

/** The critical path most nights had, and the share of nights that had it. */
function likeliestPath(model: NightModel, nights: Nights): Forecast['criticalPath'] {
  const n = model.graph.order.length;
  let best = { count: 0, night: -1 };
  for (const seen of nights.paths.values()) if (seen.count > best.count) best = seen;
  // Its steps are the ones on the critical path of a night that had it, in graph order.
  const steps = best.night < 0 ? [] : model.graph.order.filter((_, i) => nights.onPath[best.night * n + i] === 1);
  return { steps, probability: round3(best.count / nights.count) };
}

/** The window's figures: the share of nights inside it, the latest safe go/no-go, and when the nights reach it. */
function windowFigures(
  window: { lengthMs: number; startMs?: number },
  model: NightModel,
  nights: Nights,
  backoutP90Ms: number,
): NonNullable<Forecast['window']> {
  const { count, totals, gateStarts } = nights;
  let inside = 0;
  for (let s = 0; s < count; s += 1) if (totals[s]! <= window.lengthMs) inside += 1;
  const safe = window.lengthMs - backoutP90Ms;
  const iso = (offset: number) => (window.startMs === undefined ? undefined : new Date(window.startMs + offset).toISOString());
  let gate: NonNullable<Forecast['window']>['gate'];
  if (model.goNoGo !== undefined) {
    const sortedGate = Float64Array.from(gateStarts).sort();
    let inTime = 0;
    for (let s = 0; s < count; s += 1) if (gateStarts[s]! <= safe) inTime += 1;
    gate = {
      stepId: model.goNoGo,
      p50Ms: Math.round(quantileSorted(sortedGate, 0.5)),
      p90Ms: Math.round(quantileSorted(sortedGate, 0.9)),
      pInTime: round3(inTime / count),
    };
  }
  return {
    lengthMs: window.lengthMs,
    ...(window.startMs !== undefined ? { start: iso(0)!, end: iso(window.lengthMs)! } : {}),
    pInside: round3(inside / count),
    latestSafeGoNoGoMs: Math.round(safe),
    ...(window.startMs !== undefined ? { latestSafeGoNoGo: iso(safe)! } : {}),
    ...(gate ? { gate } : {}),
  };
}

/** Forecasts the night. */
export function forecast(input: ForecastInput): Forecast {
  const { runbook } = input;
  const seed = input.seed ?? DEFAULT_SEED;
  const simulations = Math.max(1, Math.trunc(input.simulations ?? DEFAULT_SIMULATIONS));
  const model = nightModel(input);
  const nights = simulateNights(model, simulations, new SeededRandom(seed));
  const sortedTotals = Float64Array.from(nights.totals).sort();
  const p50Ms = quantileSorted(sortedTotals, 0.5);
  const p90Ms = quantileSorted(sortedTotals, 0.9);
  const steps = stepForecasts(model, nights, p90Ms, runbook);
  // A stream of its own, so the back-out figure does not depend on how many nights were simulated before it: the run's
  // point of no return (started with a few nights) and `cutover forecast` (10,000) give the same back-out.
  const { graph, stepOf, planned, runs, forward } = model;
  const backout = forecastBackout(input, graph, stepOf, planned, runs, new SeededRandom(seed ^ BACKOUT_SEED_MIX), forward);
  const result: Forecast = {
    runbook: runbook.name,
    versionHash: input.versionHash,
    seed,
    simulations,
    basis: {
      runs: runs.length,
      sameVersionRuns: runs.filter((r) => sameVersion(r.run.versionHash, input.versionHash)).length,
      backedOutRuns: backout.runs,
      runIds: runs.map((r) => r.run.id),
      planBias: round3(Math.exp(forward.bias)),
      outlierRate: round3(forward.outlierRate),
    },
    plannedMs: plannedLength(graph, planned, model.holds),
    p50Ms: Math.round(p50Ms),
    p90Ms: Math.round(p90Ms),
    criticalPath: likeliestPath(model, nights),
    riskContributors: [...steps]
      .filter((s) => s.tailMs > 0)
      .sort((a, b) => b.tailMs - a.tailMs || a.stepId.localeCompare(b.stepId))
      .slice(0, 10),
    steps,
    outliers: [...forward.outliers, ...backout.outliers],
    neverRehearsed: steps.filter((s) => s.source !== 'measured').map((s) => ({ stepId: s.stepId, plannedMs: s.plannedMs })),
    backout: { source: backout.source, runs: backout.runs, p50Ms: backout.p50Ms, p90Ms: backout.p90Ms, plannedMs: backout.plannedMs },
  };
  const window = input.window ?? (runbook.window ? { lengthMs: durationMs(runbook.window.length), ...startOf(runbook) } : undefined);
  if (window) result.window = windowFigures(window, model, nights, backout.p90Ms);
  return result;
}

/** Seed of the back-out's own random stream, mixed from the forecast's seed. */
const BACKOUT_SEED_MIX = 0x5bd1e995;

/**
 * The back-out's figures alone, the same as `forecast(input).backout` (the back-out draws from a stream of its own,
 * so the nights simulated going forward do not move it), without simulating those nights: what a run's point of no
 * return needs when it starts.
 */
export function backoutForecast(input: Pick<ForecastInput, 'runbook' | 'versionHash' | 'runs' | 'seed'>): Forecast['backout'] {
  const { graph, stepOf, planned, runs, forward } = nightModel(input);
  const seed = input.seed ?? DEFAULT_SEED;
  const { outliers: _outliers, ...figures } = forecastBackout(
    input,
    graph,
    stepOf,
    planned,
    runs,
    new SeededRandom(seed ^ BACKOUT_SEED_MIX),
    forward,
  );
  return figures;
}

function startOf(runbook: Runbook): { startMs?: number } {
  return runbook.window?.start ? { startMs: Date.parse(runbook.window.start) } : {};
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
