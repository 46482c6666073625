/** `cutover schema`: the JSON Schema of the runbook format, for editors. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('schema')
    .description('print the JSON Schema of the runbook format (for editors)')
    .action(action(async () => (await import('../validate-runbook.js')).schema(out)));
}
