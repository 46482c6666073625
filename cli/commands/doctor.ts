/** `cutover doctor [RUNBOOK...] [--json]`: check the whole configuration, one line per check. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('doctor')
    .description('check the configuration: settings, Temporal, namespace, search attributes, record store, workers and pools')
    .argument('[runbook...]', 'runbook files to check: ready for a live run, worker pools, steps inside the change window at the P90')
    .option('--json', 'print the checks as JSON')
    .action(
      action(async (files: string[], options: { json?: boolean }) =>
        (await import('../doctor.js')).doctor(files, options.json === true, out),
      ),
    );
}
