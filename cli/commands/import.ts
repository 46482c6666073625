/** `cutover import PLAN.xlsx|PLAN.csv [--sheet NAME] [--columns MAP.yaml] --out RUNBOOK.yaml | --into RUNBOOK.yaml`. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('import')
    .description(
      'a spreadsheet plan (XLSX or CSV) as a runbook: every problem located on its row and column; nothing written unless it is valid',
    )
    .argument('<plan>', 'the plan: .xlsx, or CSV (UTF-8 or windows-1252; , ; or tab)')
    .option('--sheet <name>', 'the sheet of the workbook (default: the first with a plan on it)')
    .option('--columns <file>', "a mapping file: your plan's headers, phase kinds, UTC offset, the runbook's name, lead and window")
    .option('--out <file>', 'write the new runbook here')
    .option(
      '--into <file>',
      'update this runbook by ID (titles, owners, dependencies, durations, fixed starts); its actions, checks and back-outs stay',
    )
    .action(
      action(async (plan: string, options: { sheet?: string; columns?: string; out?: string; into?: string }) => {
        if (options.out === undefined && options.into === undefined)
          throw new UsageError('say where the runbook goes: --out RUNBOOK.yaml, or --into RUNBOOK.yaml to update one');
        return (await import('../import-plan.js')).importPlanFile(plan, options, out);
      }),
    );
}
