import type { parseRunbook as ParseRunbook } from '../../runbook/parse.js';
import type { forecast as Forecast } from '../../timing/forecast.js';
import type { SeededRandom as Random } from '../../timing/random.js';

export interface CalibrationResult {
  steps: number;
  /** Share of the real nights that ended within the forecast P90. */
  coverage: number;
  trueBackoutP90: number;
  forecastBackoutP90: number;
  /** The latest safe go/no-go left at least the true P90 back-out before the window's end. */
  safe: boolean;
}

export function calibrate(
  options: { count: number; rehearsals?: number; backedOut?: number; nights?: number; simulations?: number; seed: number },
  modules: { SeededRandom: typeof Random; parseRunbook: typeof ParseRunbook; forecast: typeof Forecast },
): CalibrationResult[];
