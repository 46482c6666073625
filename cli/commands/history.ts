/** `cutover history RUNBOOK [--json]`: every run of a runbook, newest first. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('history')
    .description('every run of a runbook, newest first: mode, version, start, duration, outcome, back-out, who led it')
    .argument('<runbook>', 'runbook name (as in `cutover list`) or runbook file')
    .option('--json', 'print as JSON')
    .action(
      action(async (runbook: string, options: { json?: boolean }) =>
        (await import('../review-timing.js')).showHistory(runbook, options.json === true, out),
      ),
    );
}
