/** `cutover init [--template crm|erp|integration] [DIR]`: a starter runbook that validates and rehearses as it is. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('init')
    .description('write a starter runbook (phases, roles to fill in, a gate, a reconcile step, back-outs) from a template')
    .argument('[dir]', 'the folder to write runbook.yaml (and its data/ samples) into', '.')
    .option('--template <name>', 'crm (a CRM go-live), erp (period close and opening balances) or integration (middleware switch)', 'crm')
    .action(
      action(async (dir: string, options: { template: string }) =>
        (await import('../init-runbook.js')).initRunbook(dir, options.template, out),
      ),
    );
}
