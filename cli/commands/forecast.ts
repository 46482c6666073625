/** `cutover forecast RUNBOOK [--window W] [--seed N] [--simulations N] [--json]`: will the cutover fit its window? */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseWindow, type WindowOption } from '../window-option.js';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('forecast')
    .description(
      'will the cutover fit its window? P50/P90 from past runs (Monte Carlo over the step graph), the chance to finish inside the window, the likely critical path, the risky steps, the latest safe go/no-go',
    )
    .argument('<runbook>', 'runbook file (forecast that version) or runbook name (the version last run)')
    .option('--window <window>', "the window: 6h, or START/END or START/LENGTH in ISO 8601 (default: the runbook's window)", parseWindow)
    .option('--seed <n>', 'seed of the simulation (default 1: the same data gives the same forecast)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 4294967295)
        throw new UsageError(`--seed wants a whole number from 0 to 4294967295, not "${v}"`);
      return n;
    })
    .option('--simulations <n>', 'simulated nights, 100 to 100000 (default 10000)', (v) => {
      const n = Number(v);
      // Each night keeps a duration per step for the risk figures: 100,000 nights of 1,000 steps is 500 MB.
      if (!Number.isInteger(n) || n < 100 || n > 100_000)
        throw new UsageError(`--simulations wants a whole number from 100 to 100000, not "${v}"`);
      return n;
    })
    .option('--json', 'print as JSON')
    .action(
      action(async (runbook: string, options: { window?: WindowOption; seed?: number; simulations?: number; json?: boolean }) =>
        (await import('../review-timing.js')).showForecast(
          runbook,
          {
            ...(options.window ? { window: options.window } : {}),
            ...(options.seed !== undefined ? { seed: options.seed } : {}),
            ...(options.simulations !== undefined ? { simulations: options.simulations } : {}),
            json: options.json === true,
          },
          out,
        ),
      ),
    );
}
