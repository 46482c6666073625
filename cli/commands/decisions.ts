/** `cutover decisions RUN [--json] [--verify]`: a run's decision log; `--verify` checks it offline. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('decisions')
    .description("a run's decision log: who decided what, in which role, why, signed or not; --verify checks it offline")
    .argument('<run>', 'run id, e.g. crm-go-live-4')
    .option('--json', 'print it as JSON')
    .option('--verify', 'check the hash chain and every signature against the runbook keys; exit 9 if the log does not hold')
    .action(
      action(async (runId: string, options: { json?: boolean; verify?: boolean }) =>
        (await import('../audit-decisions.js')).showDecisions(runId, { json: options.json === true, verify: options.verify === true }, out),
      ),
    );
}
