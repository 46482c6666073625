/** `cutover reconcile-report RUN STEP [...]`: the differing rows a step's reconciliation recorded. */
import type { Command } from 'commander';
import { oneOf, positiveInteger, type CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('reconcile-report')
    .description("a step's recorded reconciliation: the differing rows with both sides' values, as CSV or JSON")
    .argument('<run>', 'run id, e.g. sample-crm-4')
    .argument('<step>', 'id of a step with a reconcile action or check')
    .option('--check <name>', 'only this reconcile check (default: the action and every check)')
    .option('--attempt <n>', 'this attempt of the step (default: the latest)', positiveInteger('--attempt'))
    .option('--round <n>', 'this round of a repeating check (default: CSV the latest, JSON every round)', positiveInteger('--round'))
    .option('--format <format>', 'csv or json', oneOf('--format', ['csv', 'json'] as const), 'csv')
    .option('--out <file>', 'write to this file (whole or not at all) instead of stdout')
    .action(
      action(
        async (
          runId: string,
          stepId: string,
          options: { check?: string; attempt?: number; round?: number; format: 'csv' | 'json'; out?: string },
        ) => (await import('../reconcile-rows.js')).writeReconcileRows(runId, stepId, options, out),
      ),
    );
}
