/** `cutover run FILE --live --confirm [--override-evidence REASON] [--override-window REASON]`: the real cutover. */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { asOption, wantsConsole, type CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('run')
    .description('run a runbook for real: every step runs (needs --live --confirm)')
    .argument('<file>', 'runbook YAML file')
    .option('--live', 'this is the real cutover, not a rehearsal')
    .option('--confirm', 'yes, really')
    .option(
      '--override-evidence <reason>',
      'lead only: go live without a recent completed rehearsal of this version or a rehearsed back-out (recorded as a decision)',
    )
    .option(
      '--override-window <reason>',
      'lead only: go live outside the change window, or with a switch-on step planned in an interface freeze (signed, recorded as a decision)',
    )
    .addOption(asOption())
    .option('--plain', 'print one line per change instead of opening the console (the default without a terminal, or in CI)')
    .action(
      action(
        async (
          file: string,
          options: { live?: boolean; confirm?: boolean; as?: string; plain?: boolean; overrideEvidence?: string; overrideWindow?: string },
        ) => {
          if (!options.live || !options.confirm) {
            throw new UsageError('a live run needs both --live and --confirm; to practise, use `cutover rehearse`');
          }
          return (await import('../start-run.js')).startAndFollow({
            file,
            mode: 'live',
            autoApprove: false,
            startedBy: options.as ?? process.env.CUTOVER_AS ?? userInfo().username,
            ...(options.overrideEvidence !== undefined ? { overrideEvidence: options.overrideEvidence } : {}),
            ...(options.overrideWindow !== undefined ? { overrideWindow: options.overrideWindow } : {}),
            out,
            console: await wantsConsole(options.plain === true),
          });
        },
      ),
    );
}
