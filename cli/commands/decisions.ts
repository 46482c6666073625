/** `cutover decisions RUN [--json] [--verify [--runbook FILE] [--head FILE]] [--export-head [--out FILE]]`: a run's decision log. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';

interface DecisionsOptions {
  json?: boolean;
  verify?: boolean;
  runbook?: string;
  head?: string;
  exportHead?: boolean;
  out?: string;
}

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('decisions')
    .description("a run's decision log: who decided what, in which role, why, signed or not; --verify checks it offline")
    .argument('<run>', 'run id, e.g. crm-go-live-4')
    .option('--json', 'print it as JSON')
    .option('--verify', 'check the hash chain and every signature against the runbook keys; exit 9 if the log does not hold')
    .option(
      '--runbook <file>',
      'with --verify: take the keys from this runbook file (your own copy of the one the run ran), not from the store',
    )
    .option('--head <file>', 'with --verify: also check the log against a head exported earlier with --export-head')
    .option('--export-head', "write the log's head (run, version, entry count, every entry's hash) as JSON, to keep outside the store")
    .option('--out <file>', 'with --export-head: write it to this file instead of standard output')
    .action(
      action(async (runId: string, options: DecisionsOptions) => {
        const audit = await import('../audit-decisions.js');
        if (options.exportHead) {
          if (options.verify || options.runbook !== undefined || options.head !== undefined)
            throw new UsageError(
              '--export-head goes alone (with --out); verify with `cutover decisions RUN --verify --head FILE` afterwards',
            );
          return audit.exportDecisionHead(runId, { ...(options.out !== undefined ? { out: options.out } : {}) }, out);
        }
        if (options.out !== undefined) throw new UsageError('--out goes with --export-head');
        if (!options.verify && (options.runbook !== undefined || options.head !== undefined))
          throw new UsageError('--runbook and --head go with --verify');
        return audit.showDecisions(
          runId,
          {
            json: options.json === true,
            verify: options.verify === true,
            ...(options.runbook !== undefined ? { runbook: options.runbook } : {}),
            ...(options.head !== undefined ? { head: options.head } : {}),
          },
          out,
        );
      }),
    );
}
