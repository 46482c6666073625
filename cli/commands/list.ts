/** `cutover list [--runbook NAME] [--limit N] [--json]`: recorded runs, newest first. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('list')
    .description('list recorded runs, newest first')
    .option('--runbook <name>', 'only runs of this runbook')
    .option('--limit <n>', 'at most this many', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit wants a positive whole number, not ${v}`);
      return n;
    })
    .option('--json', 'print as JSON')
    .action(
      action(async (options: { runbook?: string; limit?: number; json?: boolean }) =>
        (await import('../list-runs.js')).listRuns(
          {
            ...(options.runbook ? { runbook: options.runbook } : {}),
            ...(options.limit ? { limit: options.limit } : {}),
            json: options.json === true,
          },
          out,
        ),
      ),
    );
}
