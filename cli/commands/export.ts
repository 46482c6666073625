/** `cutover export RUNBOOK --format xlsx|csv [--runs N] --out FILE`: the plan and its rehearsals as a spreadsheet. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { oneOf, positiveInteger, type CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('export')
    .description(
      'the plan as a spreadsheet: planned start and end per step from the window, and per run actual start, end, status and lateness (late steps in red)',
    )
    .argument('<runbook>', 'runbook YAML file')
    .option('--format <format>', 'xlsx or csv', oneOf('--format', ['xlsx', 'csv'] as const), 'xlsx')
    .option('--runs <n>', 'a column group for each of the latest N runs the record store has (default 10)', positiveInteger('--runs'), 10)
    .option('--out <file>', 'the file to write (whole or not at all)')
    .action(
      action(async (runbook: string, options: { format: 'xlsx' | 'csv'; runs: number; out?: string }) => {
        if (options.out === undefined) throw new UsageError('say where the spreadsheet goes: --out FILE');
        return (await import('../export-plan.js')).exportPlan(
          runbook,
          { format: options.format, runs: options.runs, out: options.out },
          out,
        );
      }),
    );
}
