/** `cutover gate RUN GATE [--json]`: what an approver looks at before voting. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('gate')
    .description('show a gate: its question, who it needs, its deadline, and the evidence (with its digest) it is decided on')
    .argument('<run>', 'run id')
    .argument('<gate>', 'gate step id')
    .option('--json', 'print it as JSON')
    .action(
      action(async (runId: string, gateId: string, options: { json?: boolean }) =>
        (await import('../show-gate.js')).showGate(runId, gateId, options.json === true, out),
      ),
    );
}
