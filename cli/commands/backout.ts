/** `cutover backout RUN --as P --reason ...`: the lead backs the run out. */
import type { Command } from 'commander';
import { asOption, needReason, person, type CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('backout')
    .description('back the run out (lead only): running steps finish, completed ones are undone in reverse order')
    .argument('<run>', 'run id')
    .addOption(asOption())
    .option('--reason <text>', 'why (required, recorded)')
    .action(
      action(async (runId: string, options: { as?: string; reason?: string }) => {
        const request = { kind: 'backout' as const, as: person(options), reason: needReason(options, 'a back-out') };
        return (await import('../send-request.js')).sendRequest(runId, request, out);
      }),
    );
}
