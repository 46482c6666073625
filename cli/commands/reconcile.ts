/** `cutover reconcile CONFIG [--json]`: compare a source and a target as a config file says, outside any run. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('reconcile')
    .description('compare a source and a target (SQLite, PostgreSQL, CSV) as a config file says; exit 0 within its limits, 4 outside')
    .argument('<config>', 'reconciliation config YAML file')
    .option('--json', 'print the result as JSON (counts at the top level)')
    .action(
      action(async (file: string, options: { json?: boolean }) =>
        (await import('../run-reconcile.js')).runReconcile(file, options.json === true, out),
      ),
    );
}
