/** `cutover attach RUN [--as P] [--plain]`: the console on a run in flight, from any terminal. */
import type { Command } from 'commander';
import { asOption, wantsConsole, type CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('attach')
    .description('open the console on a run in flight (any terminal, any number at once); q leaves, the run goes on')
    .argument('<run>', 'run id, e.g. crm-go-live-3')
    .addOption(asOption().default(undefined, '$CUTOVER_AS'))
    .option('--plain', 'print one line per change until the run ends (the default without a terminal, or in CI)')
    .action(
      action(async (runId: string, options: { as?: string; plain?: boolean }) => {
        const as = options.as ?? process.env.CUTOVER_AS;
        return (await import('../attach-console.js')).attach(
          runId,
          { console: await wantsConsole(options.plain === true), ...(as ? { as } : {}) },
          out,
        );
      }),
    );
}
