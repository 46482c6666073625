/**
 * `cutover incident open|update|resolve|list RUN ...`: hypercare incidents on a run that went live. Each change is a
 * signed request the run checks and logs like a vote; `list` shows the open ones by age and owner, and MTTR per
 * severity against its target.
 */
import type { Command } from 'commander';
import type { IncidentChange } from '../../common/person-requests.js';
import { UsageError } from '../errors.js';
import { asOption, person, type CommandContext } from './context.js';

/** `--severity 1..4`. */
function severity(value: string): number {
  if (!/^[1-4]$/.test(value.trim())) throw new UsageError(`--severity wants 1, 2, 3 or 4 (1 is the worst), not "${value}"`);
  return Number(value);
}

/** `--eta`: an ISO 8601 time. */
function eta(value: string): string {
  if (!Number.isFinite(Date.parse(value)))
    throw new UsageError(`--eta wants an ISO 8601 time such as 2026-12-08T14:00:00Z, not "${value}"`);
  return value;
}

export function register(program: Command, { action, out }: CommandContext): void {
  const incident = program.command('incident').description('hypercare incidents of a run that went live: open, update, resolve, list');
  const send = async (runId: string, options: { as?: string }, change: IncidentChange) =>
    (await import('../send-request.js')).sendRequest(runId, { kind: 'incident', as: person(options), change }, out);

  incident
    .command('open')
    .description('open an incident (signed, logged in the decision log)')
    .argument('<run>', 'run id')
    .requiredOption('--severity <1-4>', 'how bad: 1 is the worst', severity)
    .requiredOption('--title <text>', 'what is wrong')
    .requiredOption('--owner <role>', 'the role that owns it')
    .option('--step <step>', 'the step it is about')
    .option('--external <id>', 'its id in your tracker')
    .addOption(asOption())
    .action(
      action((runId: string, o: { severity: number; title: string; owner: string; step?: string; external?: string; as?: string }) =>
        send(runId, o, {
          action: 'open',
          severity: o.severity,
          title: o.title,
          owner: o.owner,
          ...(o.step ? { step: o.step } : {}),
          ...(o.external ? { external: o.external } : {}),
        }),
      ),
    );

  incident
    .command('update')
    .description('update an open incident: its ETA, a note, its owner')
    .argument('<run>', 'run id')
    .argument('<id>', 'incident id (INC-3)')
    .option('--eta <time>', 'when it should be resolved (ISO 8601)', eta)
    .option('--note <text>', 'what happened since')
    .option('--owner <role>', 'hand it to another role')
    .addOption(asOption())
    .action(
      action((runId: string, id: string, o: { eta?: string; note?: string; owner?: string; as?: string }) => {
        if (o.eta === undefined && o.note === undefined && o.owner === undefined)
          throw new UsageError('an update needs --eta, --note or --owner');
        return send(runId, o, {
          action: 'update',
          incidentId: id,
          ...(o.eta ? { eta: o.eta } : {}),
          ...(o.note ? { note: o.note } : {}),
          ...(o.owner ? { owner: o.owner } : {}),
        });
      }),
    );

  incident
    .command('resolve')
    .description('resolve an open incident (its owner role or the lead)')
    .argument('<run>', 'run id')
    .argument('<id>', 'incident id (INC-3)')
    .option('--note <text>', 'how it was resolved')
    .addOption(asOption())
    .action(
      action((runId: string, id: string, o: { note?: string; as?: string }) =>
        send(runId, o, { action: 'resolve', incidentId: id, ...(o.note ? { note: o.note } : {}) }),
      ),
    );

  incident
    .command('list')
    .description('the open incidents by age and owner, the resolved ones, MTTR per severity against its target')
    .argument('<run>', 'run id')
    .option('--json', 'print the incidents and the summary as JSON')
    .action(
      action(async (runId: string, o: { json?: boolean }) =>
        (await import('../list-incidents.js')).listIncidents(runId, o.json === true, out),
      ),
    );
}
