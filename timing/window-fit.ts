/**
 * Which steps would fall outside their windows on a late night: simulated nights (the forecast's model, fixed starts
 * and interface freezes included), and for each step the P90 of when it starts and of when it ends, compared with
 * the change window (the runbook's `change_window`, else its `window`) and, for the interface switch-on steps that
 * freezes hold back, with each declared freeze. A freeze keeps such a step from starting inside it, not from running
 * into it: that is what this finds.
 *
 * Pure and deterministic (seeded): `cutover doctor RUNBOOK` reports it.
 */
import { durationMs } from '../runbook/duration.js';
import { startRules } from '../runbook/fixed-starts.js';
import { DEFAULT_SEED, nightModel, simulateNights, type ForecastInput } from './forecast.js';
import { quantileSorted, SeededRandom } from './random.js';

/** Nights simulated: enough for a stable P90 per step, quick enough for doctor on a 5,000-step runbook. */
export const WINDOW_FIT_SIMULATIONS = 2_000;

/** One step out of its window at the P90: offsets from the window's start. */
export interface WindowMiss {
  stepId: string;
  phaseId: string;
  /** `late`: ends after the window closes; `early`: starts before it opens; `freeze`: runs into an interface freeze. */
  kind: 'late' | 'early' | 'freeze';
  p90StartMs: number;
  p90EndMs: number;
  /** For `freeze`: the freeze it runs into. */
  freeze?: { startMs: number; endMs: number; reason?: string };
}

export interface WindowFit {
  /** The window the steps must fit, as offsets from the window's start; undefined when the runbook has none. */
  window?: { source: 'change_window' | 'window'; startMs: number; endMs: number };
  freezes: number;
  /** Recorded runs the durations were fitted from (0: the plan's durations). */
  runs: number;
  misses: WindowMiss[];
}

/** The steps that would fall outside the change window or into a freeze at the P90 (see the module comment). */
export function windowFit(input: ForecastInput, simulations = WINDOW_FIT_SIMULATIONS): WindowFit {
  const { runbook } = input;
  const model = nightModel(input);
  const rules = startRules(runbook);
  const windowStart = runbook.window?.start === undefined ? undefined : Date.parse(runbook.window.start);
  let window: WindowFit['window'];
  if (runbook.change_window && windowStart !== undefined)
    window = {
      source: 'change_window',
      startMs: Date.parse(runbook.change_window.start) - windowStart,
      endMs: Date.parse(runbook.change_window.end) - windowStart,
    };
  else if (runbook.window) window = { source: 'window', startMs: 0, endMs: durationMs(runbook.window.length) };

  const nights = simulateNights(model, simulations, new SeededRandom(input.seed ?? DEFAULT_SEED), true);
  const n = model.graph.order.length;
  const starts = new Float64Array(nights.count);
  const ends = new Float64Array(nights.count);
  const misses: WindowMiss[] = [];
  model.graph.order.forEach((stepId, i) => {
    for (let s = 0; s < nights.count; s++) {
      starts[s] = nights.starts![s * n + i]!;
      ends[s] = starts[s]! + nights.drawn[s * n + i]!;
    }
    const p90StartMs = Math.round(quantileSorted(starts.sort(), 0.9));
    const p90EndMs = Math.round(quantileSorted(ends.sort(), 0.9));
    const at = { stepId, phaseId: model.stepOf.get(stepId)!.phase.id, p90StartMs, p90EndMs };
    if (window && p90StartMs < window.startMs) misses.push({ ...at, kind: 'early' });
    if (window && p90EndMs > window.endMs) misses.push({ ...at, kind: 'late' });
    if (rules.frozen.has(stepId)) {
      const freeze = rules.freezes.find((f) => p90StartMs < f.endMs && p90EndMs > f.startMs);
      if (freeze) misses.push({ ...at, kind: 'freeze', freeze });
    }
  });
  // In the order the night reaches them.
  misses.sort((a, b) => a.p90StartMs - b.p90StartMs || a.stepId.localeCompare(b.stepId));
  return { ...(window ? { window } : {}), freezes: rules.freezes.length, runs: model.runs.length, misses };
}
