/**
 * The live re-forecast for the console's header: made again when the run changes (its revision moves) and every few
 * seconds while it runs (a running step ages), from the model fitted once when the console opened.
 */
import { useMemo } from 'react';
import type { RunState, StepState } from '../../run/state.js';
import { liveForecast, type LiveForecast, type LiveModel } from '../../timing/live-forecast.js';
import type { RunView } from './run-poller.js';

/** How often the forecast is made again while nothing changes: the running steps' ages move it. */
const AGE_EVERY_MS = 5_000;

export function useLiveForecast(model: LiveModel | undefined, view: RunView, now: number): LiveForecast | undefined {
  const head = view.head;
  const tick = Math.floor(now / AGE_EVERY_MS);
  return useMemo(() => {
    if (!model || !head || head.endedAt !== undefined) return undefined;
    const steps = view.steps.filter((s): s is StepState => s !== undefined);
    // Until every step has been read once, the shape is not known: no forecast rather than a wrong one.
    if (steps.length !== head.totalSteps) return undefined;
    const { totalSteps: _total, counts: _counts, revision: _revision, ...run } = head;
    const state: RunState = { ...run, order: steps.map((s) => s.id), steps: Object.fromEntries(steps.map((s) => [s.id, s])) };
    return liveForecast(model, state, tick * AGE_EVERY_MS);
    // `tick` stands for the clock: recomputing on every render would redo the nights four times a second.
  }, [model, head?.revision, head?.endedAt, view.steps, tick]);
}
