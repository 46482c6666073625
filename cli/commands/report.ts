/** `cutover report RUN [--format md|html] [--out FILE]`: what a lead sends after a rehearsal. */
import type { Command } from 'commander';
import { oneOf, type CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('report')
    .description(
      'what a lead sends after a rehearsal: summary, timeline chart, decisions, failures, reconciliation, back-out, against the previous rehearsal, forecast',
    )
    .argument('<run>', 'run id, e.g. crm-go-live-3')
    .option(
      '--format <format>',
      'md (Markdown) or html (one self-contained file that prints well)',
      oneOf('--format', ['md', 'html'] as const),
      'md',
    )
    .option('--out <file>', 'write to this file (whole or not at all) instead of stdout')
    .option('--hypercare', 'the hypercare instead: incidents and MTTR against target, KPI freshness, the exit decision (Markdown)')
    .action(
      action(async (runId: string, options: { format: 'md' | 'html'; out?: string; hypercare?: boolean }) => {
        if (options.hypercare) return (await import('../write-hypercare-report.js')).writeHypercareReport(runId, options, out);
        return (await import('../write-report.js')).writeReport(runId, options, out);
      }),
    );
}
