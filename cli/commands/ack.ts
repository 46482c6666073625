/** `cutover ack RUN STEP --as P`: say you are on a step or gate that waits for people (it then does not escalate). */
import type { Command } from 'commander';
import { asOption, person, type CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('ack')
    .description('acknowledge a manual step, gate or failure that waits for people: the run shows you on it and does not escalate it')
    .argument('<run>', 'run id')
    .argument('<step>', 'step or gate id')
    .addOption(asOption())
    .action(
      action(async (runId: string, stepId: string, options: { as?: string }) => {
        const request = { kind: 'ack' as const, stepId, as: person(options) };
        return (await import('../send-request.js')).sendRequest(runId, request, out);
      }),
    );
}
