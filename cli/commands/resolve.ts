/** `cutover resolve RUN STEP --retry|--done --as P --reason ...`: the lead decides about a failed step or back-out. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { asOption, needReason, person, type CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('resolve')
    .description('decide about a failed step or back-out (lead only): retry it, or record it done by hand')
    .argument('<run>', 'run id')
    .argument('<step>', 'step id')
    .option('--retry', 'run it again')
    .option('--done', 'it was done by hand; carry on')
    .addOption(asOption())
    .option('--reason <text>', 'why (required, recorded)')
    .action(
      action(async (runId: string, stepId: string, options: { retry?: boolean; done?: boolean; as?: string; reason?: string }) => {
        if (Boolean(options.retry) === Boolean(options.done)) throw new UsageError('say either --retry or --done');
        const request = {
          kind: 'resolve' as const,
          stepId,
          action: options.retry ? ('retry' as const) : ('done' as const),
          as: person(options),
          reason: needReason(options, 'resolving a failure'),
        };
        return (await import('../send-request.js')).sendRequest(runId, request, out);
      }),
    );
}
