/** `cutover validate FILE [--json]`: check a runbook file and list every problem with file:line:column. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('validate')
    .description('check a runbook file and list every problem with file:line:column')
    .argument('<file>', 'runbook YAML file')
    .option('--json', 'print problems as JSON')
    .action(
      action(async (file: string, options: { json?: boolean }) =>
        (await import('../validate-runbook.js')).validateRunbook(file, options.json === true, out),
      ),
    );
}
