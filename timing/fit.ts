/**
 * Fitting each step's duration from the runs recorded so far (steps 1 to 3 of the model described in forecast.ts):
 * weighted measurements, outliers down-weighted and counted, and a normal-inverse-gamma posterior on each step's log
 * duration with a prior built from its plan. Pure and deterministic. No Node imports.
 */
import { median, type SeededRandom } from './random.js';
import type { TimedRun } from './runs.js';
import { sameVersion } from '../run/version-hash.js';

/** A run's weight halves every this many runs back. */
export const RECENCY_HALF_LIFE_RUNS = 5;
/** Weight of a run of another runbook version, relative to one of the version forecast. */
export const OTHER_VERSION_WEIGHT = 0.5;
/** A measurement this many robust deviations from its step's median is an outlier. */
export const OUTLIER_Z = 3;
/** Spread of log durations (σ) and of the plan's error (τ) assumed before anything was measured. */
const DEFAULT_SIGMA = 0.35;
const DEFAULT_TAU = 0.35;
/** Strength of the prior on each step's variance, in pseudo-measurements (2·α0). */
const PRIOR_ALPHA = 3;
/** `measured`: fitted from runs; `planned`: never measured, from its plan; `none`: neither (taken as 0). */
export type FitSource = 'measured' | 'planned' | 'none';

/** A measurement the fit down-weighted. */
export interface Outlier {
  stepId: string;
  runId: string;
  purpose: 'forward' | 'backout';
  durationMs: number;
  /** The step's median duration over its measurements. */
  typicalMs: number;
  /** Its weight in the fit, from 0 to 1. */
  weight: number;
}

export interface Measurement {
  runId: string;
  ms: number;
  y: number;
  w: number;
}

export interface FitItem {
  id: string;
  plannedMs: number | null;
  measurements: Measurement[];
}

/** A fitted step: the posterior of its log duration's mean and variance (normal-inverse-gamma). */
export interface Fitted {
  id: string;
  source: FitSource;
  mu: number;
  kappa: number;
  alpha: number;
  beta: number;
  samples: number;
  weight: number;
}

export interface FitResult {
  fitted: Map<string, Fitted>;
  outliers: Outlier[];
  /** Per outlier: how far out it was (log ratio to its step's median); drawn back in by the contamination. */
  outlierLogs: number[];
  outlierRate: number;
  bias: number;
  /** How well the runbook-wide figures are known: the standard error of the bias, the degrees of freedom of σ². */
  biasSe: number;
  pooledDf: number;
}

/** Robust deviation: 1.4826 × the median absolute deviation estimates σ for normal data. */
const MAD_TO_SIGMA = 1.4826;

export function fit(items: readonly FitItem[], purpose: Outlier['purpose']): FitResult {
  // Pass 1: each step's median, and a pooled robust spread of the measurements around their step's median.
  const medians = new Map<string, number>();
  const residuals: number[] = [];
  for (const item of items) {
    if (item.measurements.length === 0) continue;
    const m = median(item.measurements.map((x) => x.y));
    medians.set(item.id, m);
    if (item.measurements.length >= 2) for (const x of item.measurements) if (x.y !== m) residuals.push(Math.abs(x.y - m));
  }
  const pooledRobust = residuals.length >= 4 ? MAD_TO_SIGMA * median(residuals) : DEFAULT_SIGMA;

  // Outliers: far from the step's median on the larger of the pooled and the step's own robust spread.
  const outliers: Outlier[] = [];
  const outlierLogs: number[] = [];
  let measurements = 0;
  for (const item of items) {
    measurements += item.measurements.length;
    if (item.measurements.length < 3) continue;
    const m = medians.get(item.id)!;
    const own = item.measurements.filter((x) => x.y !== m).map((x) => Math.abs(x.y - m));
    const scale = Math.max(pooledRobust, own.length > 0 ? MAD_TO_SIGMA * median(own) : 0, 0.05);
    for (const x of item.measurements) {
      const z = Math.abs(x.y - m) / scale;
      if (z <= OUTLIER_Z) continue;
      const down = (OUTLIER_Z / z) ** 2;
      outliers.push({ stepId: item.id, runId: x.runId, purpose, durationMs: x.ms, typicalMs: Math.exp(m), weight: x.w * down });
      outlierLogs.push(x.y - m);
      x.w *= down;
    }
  }

  // Pass 2: weighted means and sums of squares; pooled variance; the plan's bias and how far steps stray from it.
  const stats = new Map<string, { n: number; mean: number; ss: number; eff: number }>();
  let pooledSs = 0;
  let pooledDf = 0;
  for (const item of items) {
    if (item.measurements.length === 0) continue;
    const n = item.measurements.reduce((s, x) => s + x.w, 0);
    const n2 = item.measurements.reduce((s, x) => s + x.w * x.w, 0);
    const mean = item.measurements.reduce((s, x) => s + x.w * x.y, 0) / n;
    const ss = item.measurements.reduce((s, x) => s + x.w * (x.y - mean) ** 2, 0);
    stats.set(item.id, { n, mean, ss, eff: item.measurements.length });
    if (item.measurements.length >= 2) {
      pooledSs += ss;
      // Reliability weights: n - Σw²/n degrees of freedom.
      pooledDf += n - n2 / n;
    }
  }
  const sigma2 = pooledDf >= 2 ? pooledSs / pooledDf : DEFAULT_SIGMA ** 2;
  const deviations: number[] = [];
  const deviationN: number[] = [];
  for (const item of items) {
    const s = stats.get(item.id);
    if (s && item.plannedMs) {
      deviations.push(s.mean - Math.log(item.plannedMs));
      deviationN.push(s.n);
    }
  }
  let bias = 0;
  let tau2 = DEFAULT_TAU ** 2;
  let biasSe = DEFAULT_TAU;
  if (deviations.length >= 3) {
    bias = median(deviations);
    const spread = deviations.reduce((s, d) => s + (d - bias) ** 2, 0) / deviations.length;
    const noise = deviationN.reduce((s, n) => s + sigma2 / n, 0) / deviationN.length;
    tau2 = Math.max(0.01, spread - noise);
    // The median's standard error is about 1.25 times the mean's.
    biasSe = 1.25 * Math.sqrt(spread / deviations.length);
  } else if (deviations.length > 0) {
    // One or two measured steps say something about the plan, not much: their bias, shrunk towards none.
    bias = (median(deviations) * deviations.length) / (deviations.length + 1);
  }
  const kappa0 = Math.min(20, Math.max(0.05, sigma2 / tau2));
  const beta0 = sigma2 * (PRIOR_ALPHA - 1);

  const fitted = new Map<string, Fitted>();
  for (const item of items) {
    const s = stats.get(item.id);
    const planned = item.plannedMs && item.plannedMs > 0 ? item.plannedMs : null;
    if (!s && planned === null) {
      fitted.set(item.id, { id: item.id, source: 'none', mu: -Infinity, kappa: 1, alpha: PRIOR_ALPHA, beta: beta0, samples: 0, weight: 0 });
      continue;
    }
    // A step without a plan has no prior mean: its own measurements decide (an almost flat prior).
    const mu0 = planned !== null ? Math.log(planned) + bias : s!.mean;
    const k0 = planned !== null ? kappa0 : 0.01;
    if (!s) {
      fitted.set(item.id, { id: item.id, source: 'planned', mu: mu0, kappa: k0, alpha: PRIOR_ALPHA, beta: beta0, samples: 0, weight: 0 });
      continue;
    }
    const kappa = k0 + s.n;
    fitted.set(item.id, {
      id: item.id,
      source: 'measured',
      mu: (k0 * mu0 + s.n * s.mean) / kappa,
      kappa,
      alpha: PRIOR_ALPHA + s.n / 2,
      beta: beta0 + s.ss / 2 + (k0 * s.n * (s.mean - mu0) ** 2) / (2 * kappa),
      samples: s.eff,
      weight: s.n,
    });
  }
  // A prior of Beta(0.5, 20) on the rate: a handful of outliers in a few hundred measurements is believed, one is not much.
  const outlierRate = outliers.length > 0 ? (outliers.length + 0.5) / (measurements + 20) : 0;
  return { fitted, outliers, outlierLogs, outlierRate, bias, biasSe, pooledDf: pooledDf >= 2 ? pooledDf : 2 * PRIOR_ALPHA };
}

/** Student-t quantile for `nu` degrees of freedom (Cornish–Fisher from the normal quantile `z`; good from nu ≈ 3). */
function tQuantile(z: number, nu: number): number {
  return z + (z ** 3 + z) / (4 * nu) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * nu * nu);
}

/** A quantile of the fitted duration (the posterior predictive, without outliers), in ms. */
export function predictiveQuantile(f: Fitted, z: number): number {
  if (f.source === 'none') return 0;
  const scale = Math.sqrt((f.beta * (f.kappa + 1)) / (f.alpha * f.kappa));
  return Math.exp(f.mu + tQuantile(z, 2 * f.alpha) * scale);
}

/** Draws a step's parameters from the posterior: [mean, sd] of its log duration. */
export function drawParameters(f: Fitted, rng: SeededRandom): [number, number] {
  const variance = f.beta / rng.gamma(f.alpha);
  return [f.mu + Math.sqrt(variance / f.kappa) * rng.normal(), Math.sqrt(variance)];
}

/** The runs a forecast learns from, newest first, each with its weight. */
export function weightedRuns(runs: readonly TimedRun[], versionHash: string): { run: TimedRun; weight: number }[] {
  return runs
    .filter((run) => run.endedAt !== null)
    .map((run, rank) => ({
      run,
      weight: 0.5 ** (rank / RECENCY_HALF_LIFE_RUNS) * (sameVersion(run.versionHash, versionHash) ? 1 : OTHER_VERSION_WEIGHT),
    }));
}

/** Each step's measurements in the runs, with their weights, for {@link fit}. */
export function fitItems(
  ids: readonly string[],
  planned: ReadonlyMap<string, number | null>,
  runs: readonly { run: TimedRun; weight: number }[],
  durationsOf: (run: TimedRun) => Map<string, number>,
): FitItem[] {
  const items = new Map<string, FitItem>(ids.map((id) => [id, { id, plannedMs: planned.get(id) ?? null, measurements: [] }]));
  for (const { run, weight } of runs) {
    for (const [id, ms] of durationsOf(run)) {
      // A step measured at 0 ms (a gate passed at once) is 1 ms in log space.
      items.get(id)?.measurements.push({ runId: run.id, ms, y: Math.log(Math.max(ms, 1)), w: weight });
    }
  }
  return [...items.values()];
}
