/** `cutover plan RUNBOOK [--format html|md] [--out FILE]`: the one-page plan. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('plan')
    .description(
      'the one-page plan: lanes on a time axis, milestones, the go/no-go, fixed starts, freezes, the window and the point of no return; HTML prints on one A3 landscape page',
    )
    .argument('<runbook>', 'runbook YAML file')
    .option('--format <format>', 'html or md', 'html')
    .option('--out <file>', 'write it here (whole or not at all) instead of standard output')
    .action(
      action(async (file: string, options: { format: string; out?: string }) => {
        if (options.format !== 'html' && options.format !== 'md')
          throw new UsageError(`--format ${options.format} is not a plan format; use html or md`);
        return (await import('../show-plan.js')).showPlan(file, options.format, options.out, out);
      }),
    );
}
