/** `cutover worker [--pool NAME]... [--serve-runs]`: host runs, or a pool's steps, on this machine. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('worker')
    .description('host runs on this machine (with TEMPORAL_ADDRESS: a worker for that cluster; without: the embedded server too)')
    .option(
      '--pool <name>',
      'serve the steps pinned to this pool (`runs_on: NAME`) on this machine, instead of hosting runs; repeat for several pools',
      (value: string, pools: string[]) => {
        if (!/^[a-z0-9][a-z0-9_-]*$/.test(value))
          throw new UsageError(
            `--pool wants a pool name as runbooks write it in runs_on (lower-case letters, digits, - and _), not "${value}"`,
          );
        return pools.includes(value) ? pools : [...pools, value];
      },
      [] as string[],
    )
    .option('--serve-runs', 'with --pool: host runs and unpinned steps too (the default without --pool)')
    .action(
      action(async (options: { pool: string[]; serveRuns?: boolean }) =>
        (await import('../host-worker.js')).runWorker({ pools: options.pool, serveRuns: options.serveRuns === true }, out),
      ),
    );
}
