/** `cutover events RUN [--follow] [--json]`: the events a run told people of, and where each message got to. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('events')
    .description('the events a run told people of (gates, manual steps, failures, back-out), and where each message got to')
    .argument('<run>', 'run id')
    .option('--follow', 'keep printing new events and answers until the run has ended and every message is answered')
    .option('--json', 'print them as JSON (with --follow: one event per line, once its messages are answered)')
    .action(
      action(async (runId: string, options: { json?: boolean; follow?: boolean }) =>
        (await import('../show-events.js')).showEvents(runId, { json: options.json === true, follow: options.follow === true }, out),
      ),
    );
}
