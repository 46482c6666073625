/** `cutover notify test RUNBOOK`: send one test message on every channel of the runbook's `notifications:`. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  const notify = program.command('notify').description("check the runbook's notification channels");
  notify
    .command('test')
    .description('send one test message on every channel and say which failed and why')
    .argument('<runbook>', 'runbook YAML file')
    .action(action(async (file: string) => (await import('../notify-test.js')).testNotifications(file, out)));
}
