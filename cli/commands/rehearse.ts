/** `cutover rehearse FILE [--auto-approve] [--as P] [--plain]`: rehearse a runbook, in the console or with lines. */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { asOption, wantsConsole, type CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('rehearse')
    .description("rehearse a runbook: each step's `rehearsal:` setting says run, simulate or skip")
    .argument('<file>', 'runbook YAML file')
    .option('--auto-approve', "approve gates and complete manual steps as the runbook's first eligible person (recorded as automatic)")
    .addOption(asOption().default(undefined, '$CUTOVER_AS or your login name'))
    .option('--plain', 'print one line per change instead of opening the console (the default without a terminal, or in CI)')
    .action(
      action(async (file: string, options: { autoApprove?: boolean; as?: string; plain?: boolean }) =>
        (await import('../start-run.js')).startAndFollow({
          file,
          mode: 'rehearsal',
          autoApprove: options.autoApprove === true,
          startedBy: options.as ?? process.env.CUTOVER_AS ?? userInfo().username,
          out,
          console: await wantsConsole(options.plain === true),
        }),
      ),
    );
}
