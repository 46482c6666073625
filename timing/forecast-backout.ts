/**
 * The back-out as the go/no-go needs it (step 5 of the model described in forecast.ts): simulated in reverse
 * dependency order over the steps that have an undo, from the undo durations measured in runs that backed out, its
 * P90 taken at 95% confidence; the planned back-out when none did. Pure and deterministic.
 */
import type { Runbook } from '../runbook/schema.js';
import { plannedBackoutMs } from '../run/transitions.js';
import { drawParameters, fit, fitItems, weightedRuns, type Fitted, type FitResult, type Outlier } from './fit.js';
import { quantileSorted, type SeededRandom } from './random.js';
import { backedOut, backoutDurations, type TimedRun } from './runs.js';
import type { CompiledGraph } from './step-graph.js';

/** Back-out: outer draws of the parameters × nights per draw, for its P90 at 95% confidence. */
const BACKOUT_DRAWS = 100;
/**
 * The confidence the back-out's P90 is taken at. 95%, not 90%: the priors' runbook-wide figures are themselves
 * estimated from a few back-outs, and at 90% the latest safe go/no-go held in 88-93% of the calibration's runbooks
 * (bench/forecast.mjs), under the 90% it promises; at 95% it holds in more.
 */
const BACKOUT_CONFIDENCE = 0.95;
const BACKOUT_NIGHTS = 100;

/** What {@link forecastBackout} finds. */
export interface BackoutForecast {
  source: 'measured' | 'planned';
  runs: number;
  p50Ms: number;
  p90Ms: number;
  plannedMs: number;
  outliers: Outlier[];
}

/** The undos' fitted durations from the runs that backed out, or nothing to fit from. */
export interface BackoutFit {
  /** How many runs backed out with undo durations recorded. */
  runs: number;
  /** Undefined when no run backed out (or no step has an undo): the back-out is the planned one. */
  fitted?: FitResult;
  /** The contamination the simulation draws back in: the back-out's own outliers, or those seen going forward. */
  outlierRate: number;
  outlierLogs: readonly number[];
}

/** Fits each undo's duration from the runs that backed out (weighed by recency among themselves). */
export function fitBackout(
  input: { versionHash: string },
  graph: CompiledGraph,
  stepOf: ReadonlyMap<string, { step: Runbook['phases'][number]['steps'][number] }>,
  planned: ReadonlyMap<string, number | null>,
  runs: readonly { run: TimedRun; weight: number }[],
  forward: FitResult,
): BackoutFit {
  const undoIds = graph.order.filter((id) => stepOf.get(id)!.step.backout !== undefined);
  // Weighed by recency among themselves: the latest back-out counts fully, however many runs ago it was.
  const backedOutRuns = weightedRuns(
    runs.map((r) => r.run).filter((run) => backedOut(run) && backoutDurations(run).size > 0),
    input.versionHash,
  );
  if (backedOutRuns.length === 0 || undoIds.length === 0) {
    return { runs: backedOutRuns.length, outlierRate: 0, outlierLogs: [] };
  }
  const fitted = fit(fitItems(undoIds, planned, backedOutRuns, backoutDurations), 'backout');
  // Back-out is rehearsed a few times at most, too few to see its outliers (three measurements of a step are needed to
  // tell one): the night's mishaps seen going forward (the rate and the sizes) stand for them, when more often seen.
  return {
    runs: backedOutRuns.length,
    fitted,
    outlierRate: Math.max(fitted.outlierRate, forward.outlierRate),
    outlierLogs: fitted.outlierRate >= forward.outlierRate ? fitted.outlierLogs : forward.outlierLogs,
  };
}

/** The back-out's P50, and its P90 at 95% confidence, from the runs that backed out; else the plan. */
export function forecastBackout(
  input: { runbook: Runbook; versionHash: string },
  graph: CompiledGraph,
  stepOf: ReadonlyMap<string, { step: Runbook['phases'][number]['steps'][number] }>,
  planned: ReadonlyMap<string, number | null>,
  runs: readonly { run: TimedRun; weight: number }[],
  rng: SeededRandom,
  forward: FitResult,
): BackoutForecast {
  // The planned back-out is the one the run's point of no return uses: the undos one after the other.
  const plannedMs = plannedBackoutMs(input.runbook);
  const { fitted, outlierRate, outlierLogs, runs: backedOutRuns } = fitBackout(input, graph, stepOf, planned, runs, forward);
  if (!fitted) {
    return { source: 'planned', runs: backedOutRuns, p50Ms: plannedMs, p90Ms: plannedMs, plannedMs, outliers: [] };
  }
  const n = graph.order.length;
  const models: (Fitted | undefined)[] = graph.order.map((id) => fitted.fitted.get(id));
  const undo = Uint8Array.from(models, (m) => (m && m.source !== 'none' ? 1 : 0));
  const { start: rStart, values: rValues } = graph.rdeps;
  const mus = new Float64Array(n);
  const sds = new Float64Array(n);
  const end = new Float64Array(n);
  const p90s = new Float64Array(BACKOUT_DRAWS);
  const all = new Float64Array(BACKOUT_DRAWS * BACKOUT_NIGHTS);
  const nights = new Float64Array(BACKOUT_NIGHTS);
  for (let k = 0; k < BACKOUT_DRAWS; k += 1) {
    // The runbook-wide figures the priors came from are estimates too, shared by every step (so their errors do not
    // average out over the steps as each step's own do): each outer draw moves the plan's bias within its standard
    // error, and scales the variances as the pooled variance's sampling distribution allows.
    const biasShift = fitted.biasSe * rng.normal();
    const varianceScale = fitted.pooledDf / (2 * rng.gamma(fitted.pooledDf / 2));
    for (let i = 0; i < n; i += 1) {
      const model = models[i];
      if (!model || model.source === 'none') continue;
      const [mu, sd] = drawParameters(model, rng);
      const priorShare = (model.kappa - model.weight) / model.kappa;
      mus[i] = mu + biasShift * priorShare;
      sds[i] = sd * Math.sqrt(varianceScale);
    }
    for (let m = 0; m < BACKOUT_NIGHTS; m += 1) {
      // Reverse dependency order: an undo starts once the undos of everything that depends on it have ended.
      let total = 0;
      for (let i = n - 1; i >= 0; i -= 1) {
        let start = 0;
        for (let k = rStart[i]!, stop = rStart[i + 1]!; k < stop; k += 1) {
          const e = end[rValues[k]!]!;
          if (e > start) start = e;
        }
        let d = 0;
        if (undo[i] === 1) {
          let y = mus[i]! + sds[i]! * rng.normal();
          if (outlierLogs.length > 0 && rng.uniform() < outlierRate) y += outlierLogs[Math.floor(rng.uniform() * outlierLogs.length)]!;
          d = Math.exp(y);
        }
        end[i] = start + d;
        if (end[i]! > total) total = end[i]!;
      }
      nights[m] = total;
      all[k * BACKOUT_NIGHTS + m] = total;
    }
    p90s[k] = quantileSorted(nights.sort(), 0.9);
  }
  return {
    source: 'measured',
    runs: backedOutRuns,
    p50Ms: Math.round(quantileSorted(all.sort(), 0.5)),
    p90Ms: Math.round(quantileSorted(p90s.sort(), BACKOUT_CONFIDENCE)),
    plannedMs,
    outliers: fitted.outliers,
  };
}
