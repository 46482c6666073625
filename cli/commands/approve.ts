/** `cutover approve RUN GATE --as P [--role R] [--reason ...] [--evidence DIGEST]`: vote go on an open gate. */
import type { Command } from 'commander';
import { asOption, person, type CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('approve')
    .description('vote go on an open gate')
    .argument('<run>', 'run id, e.g. crm-go-live-3')
    .argument('<gate>', 'gate step id')
    .addOption(asOption())
    .option('--role <role>', 'the approver role you vote for, when you hold several')
    .option('--reason <text>', 'why (recorded)')
    .option('--evidence <digest>', 'the evidence you decided on, as `cutover gate` showed it (default: what the gate shows now)')
    .action(
      action(async (runId: string, gateId: string, options: { as?: string; role?: string; reason?: string; evidence?: string }) => {
        const as = person(options);
        return (await import('../send-request.js')).sendRequest(
          runId,
          {
            kind: 'approve',
            gateId,
            as,
            ...(options.role ? { role: options.role } : {}),
            ...(options.reason ? { reason: options.reason } : {}),
            ...(options.evidence ? { evidence: options.evidence } : {}),
          },
          out,
        );
      }),
    );
}
