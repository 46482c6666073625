/** `cutover reject RUN GATE --as P --reason ... [--evidence DIGEST]`: vote no-go; the run backs out. */
import type { Command } from 'commander';
import { asOption, needReason, person, type CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('reject')
    .description('vote no-go on an open gate: the run backs out')
    .argument('<run>', 'run id')
    .argument('<gate>', 'gate step id')
    .addOption(asOption())
    .option('--reason <text>', 'why (required, recorded)')
    .option('--evidence <digest>', 'the evidence you decided on, as `cutover gate` showed it (default: what the gate shows now)')
    .action(
      action(async (runId: string, gateId: string, options: { as?: string; reason?: string; evidence?: string }) => {
        const request = {
          kind: 'reject' as const,
          gateId,
          as: person(options),
          reason: needReason(options, 'a rejection'),
          ...(options.evidence ? { evidence: options.evidence } : {}),
        };
        return (await import('../send-request.js')).sendRequest(runId, request, out);
      }),
    );
}
