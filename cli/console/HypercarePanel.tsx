/**
 * The console's hypercare lines, once the run went live and is in hypercare: how long, the open incidents (how many,
 * per owner, the oldest with its age and target state), MTTR per severity against target, each KPI's state, and the
 * exit gate (what keeps it shut, or who it waits for and the command). Drawn from the view `status` and the page use.
 * Pure.
 */
import { Box, Text } from 'ink';
import { driftSentence, hypercareView } from '../../present/hypercare-view.js';
import type { RunContext } from '../../present/run-view.js';
import type { HypercareState } from '../../run/hypercare.js';
import { formatDuration } from '../../runbook/duration.js';

/** Lines the panel takes: none outside hypercare; one more while a parallel run is compared. */
export function hypercarePanelHeight(hypercare: HypercareState | undefined): number {
  if (!hypercare) return 0;
  return (hypercare.reconciles?.length ?? 0) > 0 ? 4 : 3;
}

export function HypercarePanel({
  head,
  context,
  now,
  width,
}: {
  head: { runId: string; hypercare?: HypercareState | undefined };
  /** The exit's `drift_rounds` comes from the runbook when the console has it. */
  context: Pick<RunContext, 'driftRounds'>;
  now: number;
  width: number;
}) {
  const { hypercare, runId } = head;
  if (!hypercare) return null;
  const driftRounds = context.driftRounds;
  const view = hypercareView(hypercare, now, driftRounds === undefined ? {} : { driftRounds });
  const oldest = view.open[0];
  const owners = Object.entries(view.byOwner)
    .map(([owner, n]) => `${owner} ${n}`)
    .join(', ');
  const incidents =
    view.open.length === 0
      ? 'no open incidents'
      : `${view.open.length} open (${owners}); oldest ${oldest!.id} sev${oldest!.severity} ${formatDuration(oldest!.ageMs)} ${oldest!.target}`;
  const mttr = view.mttr
    .filter((m) => m.resolved > 0)
    .map((m) => `sev${m.severity} ${formatDuration(m.mttrMs!)}${m.targetMs === undefined ? '' : `/${formatDuration(m.targetMs)}`}`);
  const kpis = view.kpis.map((k) => `${k.id} ${k.fresh === undefined ? 'not checked' : k.fresh ? 'fresh' : 'STALE'}`);
  const exit = view.exit;
  const gate =
    exit.status === 'open'
      ? `exit gate open, waiting for ${exit.awaiting.join(', ') || 'any approver'}: cutover approve ${runId} hypercare-exit`
      : exit.status === 'pending'
        ? `exit gate shut: ${exit.unmet.join('; ') || 'not reviewed yet'}`
        : `exit gate ${exit.status}`;
  const breached = view.open.some((row) => row.target === 'breached');
  // The parallel run: each reconciliation's last round and its rounds at 0 against the exit's; red while it drifts.
  const drifting = view.drift.some((row) => row.latest !== undefined && row.atZero === 0);
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate" color={breached ? 'red' : undefined}>
        {`HYPERCARE ${view.status === 'exited' ? 'exited' : `for ${formatDuration(Math.max(0, now - Date.parse(view.startedAt)))}`} · ${incidents}`}
      </Text>
      <Text wrap="truncate">{`MTTR ${mttr.join(', ') || 'none resolved yet'} · KPIs ${kpis.join(', ') || 'none'}`}</Text>
      {view.drift.length > 0 && (
        <Text wrap="truncate" color={drifting ? 'red' : undefined}>
          {`PARALLEL RUN ${view.drift.map(driftSentence).join(' · ')}`}
        </Text>
      )}
      <Text wrap="truncate" color={exit.status === 'open' ? 'yellow' : undefined}>
        {gate}
      </Text>
    </Box>
  );
}
