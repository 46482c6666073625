/**
 * Will the cutover fit its window? A forecast of the night from the runs recorded so far (`cutover forecast`, the
 * report, the live run's point of no return).
 *
 * The model, step by step:
 *  1. Each step's duration is lognormal: its log is normal with unknown mean and variance. The measurements are
 *     the durations of the step in past runs that really ran it to success (simulated and skipped steps measured
 *     the plan, not the step), each weighted: recent runs more (the weight halves every
 *     {@link RECENCY_HALF_LIFE_RUNS} runs back), runs of another runbook version half as much.
 *  2. Outliers (a log-duration more than {@link OUTLIER_Z} robust deviations from the step's median, with at least
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
import type { Runbook } from '../runbook/schema.js';
import { BACKOUT_SEED_MIX, forecastBackout, type BackoutForecast } from './backout-forecast.js';
import {
  compileGraph,
  DEFAULT_SEED,
  drawParameters,
  fit,
  fitItems,
  predictiveQuantile,
  weightedRuns,
  type CompiledGraph,
  type Outlier,
} from './fit.js';
import { SeededRandom, quantileSorted } from './random.js';
import { backedOut, forwardDurations, type TimedRun } from './runs.js';

export { DEFAULT_SEED, OTHER_VERSION_WEIGHT, OUTLIER_Z, RECENCY_HALF_LIFE_RUNS, type Outlier } from './fit.js';
export { backoutForecast, type BackoutForecast } from './backout-forecast.js';

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
/** Posterior draws of each step's parameters that the simulated nights pick from. */
const PARAMETER_POOL = 512;

/** What to forecast. */
export interface ForecastInput {
  runbook: Runbook;
  /** The version forecast: runs of it count fully, others {@link OTHER_VERSION_WEIGHT}. */
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
  source: 'measured' | 'planned' | 'none';
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
  backout: BackoutForecast;
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

/** Forecasts the night. */
export function forecast(input: ForecastInput): Forecast {
  const { runbook } = input;
  const seed = input.seed ?? DEFAULT_SEED;
  const simulations = Math.max(1, Math.trunc(input.simulations ?? DEFAULT_SIMULATIONS));
  const rng = new SeededRandom(seed);
  const graph = compileGraph(runbook);
  const n = graph.order.length;
  const stepOf = new Map(runbook.phases.flatMap((phase) => phase.steps.map((step) => [step.id, { step, phase }] as const)));
  const planned = new Map(graph.order.map((id) => [id, stepOf.get(id)!.step.expected ? durationMs(stepOf.get(id)!.step.expected!) : null]));

  const runs = weightedRuns(input.runs, input.versionHash);
  const forward = fit(
    fitItems(graph.order, planned, runs, (run) => forwardDurations(run, true)),
    'forward',
  );
  const models = graph.order.map((id) => forward.fitted.get(id)!);
  const caps = graph.order.map((id) => {
    const after = stepOf.get(id)!.step.gate?.deadline?.after_opening;
    return after ? durationMs(after) : Infinity;
  });

  // The go/no-go gate: the first gate of a go_no_go phase, else the first gate.
  const gates = graph.order.filter((id) => stepOf.get(id)!.step.gate);
  const goNoGo = gates.find((id) => stepOf.get(id)!.phase.kind === 'go_no_go') ?? gates[0];
  const goNoGoIndex = goNoGo === undefined ? -1 : graph.index.get(goNoGo)!;

  const totals = new Float64Array(simulations);
  const gateStarts = new Float64Array(simulations);
  const drawn = new Float32Array(simulations * n);
  const onPath = new Uint8Array(simulations * n);
  const paths = new Map<number, { count: number; night: number }>();
  const end = new Float64Array(n);
  const binding = new Int32Array(n);
  const outlierLogs = forward.outlierLogs;
  const { start: depStart, values: depValues } = graph.deps;
  // Each step's parameters are drawn from their posterior ahead, PARAMETER_POOL times, and each night picks one of
  // them: a gamma and a normal draw per step and night were half the simulation's time, and a pool of this size
  // draws the same predictive distribution for any purpose here.
  const pool = Math.min(PARAMETER_POOL, simulations);
  const poolMu = new Float64Array(n * pool);
  const poolSd = new Float64Array(n * pool);
  models.forEach((model, i) => {
    if (model.source === 'none') return;
    for (let k = 0; k < pool; k += 1) [poolMu[i * pool + k], poolSd[i * pool + k]] = drawParameters(model, rng);
  });
  for (let s = 0; s < simulations; s += 1) {
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
      binding[i] = bind;
      const model = models[i]!;
      let d = 0;
      if (model.source !== 'none') {
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

  const sortedTotals = Float64Array.from(totals).sort();
  const p50Ms = quantileSorted(sortedTotals, 0.5);
  const p90Ms = quantileSorted(sortedTotals, 0.9);

  // Where the late nights come from: on the nights past the P90, each critical step's overrun of its median.
  const medians = models.map((m) => predictiveQuantile(m, 0));
  const critical = new Float64Array(n);
  const lateNights: number[] = [];
  for (let s = 0; s < simulations; s += 1) {
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
    const model = models[i]!;
    const { step, phase } = stepOf.get(id)!;
    return {
      stepId: id,
      title: step.title,
      phaseId: phase.id,
      plannedMs: planned.get(id) ?? null,
      samples: model.samples,
      weight: round3(model.weight),
      source: model.source,
      p50Ms: Math.round(Math.min(predictiveQuantile(model, 0), caps[i]!)),
      p90Ms: Math.round(Math.min(predictiveQuantile(model, 1.2815515655446004), caps[i]!)),
      criticality: round3(critical[i]! / simulations),
      tailMs: Math.round(tailNights > 0 ? tail[i]! / tailNights : 0),
    };
  });
  // Back in runbook order for people.
  const runbookOrder = new Map(runbook.phases.flatMap((p) => p.steps.map((s) => s.id)).map((id, i) => [id, i] as const));
  steps.sort((a, b) => runbookOrder.get(a.stepId)! - runbookOrder.get(b.stepId)!);

  let best = { count: 0, night: -1 };
  for (const seen of paths.values()) if (seen.count > best.count) best = seen;
  const bestCount = best.count;
  // Its steps are the ones on the critical path of a night that had it, in graph order.
  const criticalPath = best.night < 0 ? [] : graph.order.filter((_, i) => onPath[best.night * n + i] === 1);

  // A stream of its own, so the back-out figure does not depend on how many nights were simulated before it: the run's
  // point of no return (started with a few nights) and `cutover forecast` (10,000) give the same back-out.
  const backout = forecastBackout(input, graph, stepOf, planned, runs, new SeededRandom(seed ^ BACKOUT_SEED_MIX), forward);
  const result: Forecast = {
    runbook: runbook.name,
    versionHash: input.versionHash,
    seed,
    simulations,
    basis: {
      runs: runs.length,
      sameVersionRuns: runs.filter((r) => r.run.versionHash === input.versionHash).length,
      backedOutRuns: backout.runs,
      runIds: runs.map((r) => r.run.id),
      planBias: round3(Math.exp(forward.bias)),
      outlierRate: round3(forward.outlierRate),
    },
    plannedMs: plannedLength(graph, planned),
    p50Ms: Math.round(p50Ms),
    p90Ms: Math.round(p90Ms),
    criticalPath: { steps: criticalPath, probability: round3(bestCount / simulations) },
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
  if (window) {
    let inside = 0;
    for (let s = 0; s < simulations; s += 1) if (totals[s]! <= window.lengthMs) inside += 1;
    const safe = window.lengthMs - backout.p90Ms;
    const iso = (offset: number) => (window.startMs === undefined ? undefined : new Date(window.startMs + offset).toISOString());
    let gate: NonNullable<Forecast['window']>['gate'];
    if (goNoGo !== undefined) {
      const sortedGate = Float64Array.from(gateStarts).sort();
      let inTime = 0;
      for (let s = 0; s < simulations; s += 1) if (gateStarts[s]! <= safe) inTime += 1;
      gate = {
        stepId: goNoGo,
        p50Ms: Math.round(quantileSorted(sortedGate, 0.5)),
        p90Ms: Math.round(quantileSorted(sortedGate, 0.9)),
        pInTime: round3(inTime / simulations),
      };
    }
    result.window = {
      lengthMs: window.lengthMs,
      ...(window.startMs !== undefined ? { start: iso(0)!, end: iso(window.lengthMs)! } : {}),
      pInside: round3(inside / simulations),
      latestSafeGoNoGoMs: Math.round(safe),
      ...(window.startMs !== undefined ? { latestSafeGoNoGo: iso(safe)! } : {}),
      ...(gate ? { gate } : {}),
    };
  }
  return result;
}

function startOf(runbook: Runbook): { startMs?: number } {
  return runbook.window?.start ? { startMs: Date.parse(runbook.window.start) } : {};
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The planned critical path's length. */
function plannedLength(graph: CompiledGraph, planned: ReadonlyMap<string, number | null>): number {
  const end = new Float64Array(graph.order.length);
  let longest = 0;
  graph.order.forEach((id, i) => {
    let start = 0;
    for (const d of graph.dependsOn[i]!) start = Math.max(start, end[d]!);
    end[i] = start + (planned.get(id) ?? 0);
    longest = Math.max(longest, end[i]);
  });
  return longest;
}
