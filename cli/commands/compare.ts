/** `cutover compare RUN_A RUN_B [--json]`: two runs side by side, per phase and step. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('compare')
    .description('two runs side by side: per phase and step planned, A, B and the difference; added and removed steps; critical path')
    .argument('<run-a>', 'run id, usually the earlier one')
    .argument('<run-b>', 'run id')
    .option('--json', 'print as JSON')
    .action(
      action(async (a: string, b: string, options: { json?: boolean }) =>
        (await import('../review-timing.js')).showComparison(a, b, options.json === true, out),
      ),
    );
}
