/** `cutover status RUN [--json]`: every step with owner, status, planned and actual time; decisions; back-out. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('status')
    .description('show a run: every step with owner, status, planned and actual time; decisions; back-out')
    .argument('<run>', 'run id')
    .option('--json', 'print the whole run state as JSON')
    .action(
      action(async (runId: string, options: { json?: boolean }) =>
        (await import('../show-status.js')).showStatus(runId, options.json === true, out),
      ),
    );
}
