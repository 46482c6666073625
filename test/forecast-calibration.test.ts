/**
 * The forecast's calibration, with a fixed seed and fewer runbooks than `npm run bench -- forecast`: ground-truth
 * runbooks with parallel streams and lognormal step durations with outliers (bench/lib/forecast-truth.mjs), 5
 * recorded rehearsals each (2 of them backing out), a forecast, then real nights drawn from the truth.
 */
import { describe, expect, it } from 'vitest';
import { calibrate } from '../bench/lib/forecast-truth.mjs';
import { parseRunbook } from '../runbook/parse.js';
import { forecast } from '../timing/forecast.js';
import { SeededRandom } from '../timing/random.js';

describe('forecast calibration', () => {
  it('covers 85-95% of real nights with its P90, and leaves the true P90 back-out before the window ends in 9 runbooks of 10', () => {
    const results = calibrate({ count: 40, nights: 500, simulations: 2000, seed: 20261124 }, { SeededRandom, parseRunbook, forecast });
    const coverage = results.reduce((s, r) => s + r.coverage, 0) / results.length;
    const safe = results.filter((r) => r.safe).length / results.length;
    expect(coverage).toBeGreaterThanOrEqual(0.85);
    expect(coverage).toBeLessThanOrEqual(0.95);
    expect(safe).toBeGreaterThanOrEqual(0.9);
  });
});
