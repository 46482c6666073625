/** `cutover done RUN STEP --as P [--reason ...]`: mark a manual step (or a manual back-out) done, as its owner. */
import type { Command } from 'commander';
import { asOption, person, type CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('done')
    .description('mark a manual step (or a manual back-out) done, as its owner')
    .argument('<run>', 'run id')
    .argument('<step>', 'step id')
    .addOption(asOption())
    .option('--reason <text>', 'a note for the record')
    .action(
      action(async (runId: string, stepId: string, options: { as?: string; reason?: string }) => {
        const request = { kind: 'done' as const, stepId, as: person(options), ...(options.reason ? { reason: options.reason } : {}) };
        return (await import('../send-request.js')).sendRequest(runId, request, out);
      }),
    );
}
