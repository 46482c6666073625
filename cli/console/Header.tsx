/**
 * The top of the console: mode (REHEARSAL or LIVE, never to be confused), runbook, run, status; the
 * clock against the plan and the window; counts; how the console is connected.
 */
import { Box, Text } from 'ink';
import type { RunHeader } from '../../present/run-view.js';
import type { RunSummary } from '../../run/state.js';
import type { Connection } from './run-poller.js';

export interface HeaderProps {
  head: Omit<RunSummary, 'attention'>;
  header: RunHeader;
  connection: Connection;
  problem?: string;
  /** The live re-forecast in one line, and how it looks (`bad`: the window is likely missed). */
  forecast?: { line: string; tone: 'ok' | 'warn' | 'bad' };
  width: number;
}

const COUNT_ORDER = ['running', 'waiting', 'failed', 'succeeded', 'simulated', 'skipped', 'cancelled', 'pending'] as const;

export function Header({ head, header, connection, problem, forecast, width }: HeaderProps) {
  const live = header.mode === 'LIVE';
  const ended = head.endedAt !== undefined;
  const statusColor =
    head.status === 'completed'
      ? 'green'
      : head.status === 'failed' || head.status === 'backed_out' || head.status === 'backing_out'
        ? 'red'
        : 'yellow';
  const counts = COUNT_ORDER.filter((s) => (head.counts[s] ?? 0) > 0)
    .map((s) => `${head.counts[s]} ${s === 'succeeded' ? 'done' : s}`)
    .join(' · ');
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold inverse color={live ? 'red' : 'cyan'}>
          {live ? ' LIVE ' : ' REHEARSAL '}
        </Text>{' '}
        <Text bold>{head.runbookName}</Text> v{head.runbookVersion} · {head.runId} ·{' '}
        <Text bold color={statusColor}>
          {header.status}
        </Text>
        {live ? <Text color="red"> · real systems</Text> : null}
        {'  '}
        <ConnectionMark connection={connection} />
      </Text>
      <Text wrap="truncate">
        {ended ? 'took' : 'elapsed'} {header.elapsed} / plan {header.planned}
        {header.overPlan ? <Text color="yellow"> (+{header.overPlan})</Text> : null}
        {header.window && !ended ? (
          <Text color={header.window.leftMs < 0 ? 'red' : undefined}>
            {' '}
            · window {header.window.leftMs < 0 ? `ended ${header.window.left.slice(1)} ago` : `${header.window.left} left`}
          </Text>
        ) : null}
        {header.pointOfNoReturn && !ended ? (
          <Text color={header.pointOfNoReturn.passed ? 'red' : undefined}>
            {' '}
            ·{' '}
            {header.pointOfNoReturn.passed
              ? `PAST the point of no return (${header.pointOfNoReturn.in} ago)`
              : `no return in ${header.pointOfNoReturn.in}`}
          </Text>
        ) : null}
      </Text>
      {forecast && !ended ? (
        <Text wrap="truncate" {...(forecast.tone === 'ok' ? {} : { color: forecast.tone === 'bad' ? 'red' : 'yellow' })}>
          {forecast.line}
        </Text>
      ) : null}
      {connection === 'reconnecting' || connection === 'connecting' ? (
        <Text color="yellow" wrap="truncate">
          {connection === 'reconnecting' ? '⟳ reconnecting to Temporal, showing what was last read' : '⟳ connecting'}
          {problem ? `: ${problem}` : ''}
        </Text>
      ) : ended ? (
        <Text wrap="truncate" color={statusColor}>
          {head.outcome ?? header.status}
        </Text>
      ) : (
        <Text wrap="truncate" dimColor>
          {head.totalSteps} steps: {counts}
        </Text>
      )}
    </Box>
  );
}

function ConnectionMark({ connection }: { connection: Connection }) {
  if (connection === 'live') return <Text color="green">● live</Text>;
  if (connection === 'recorded') return <Text dimColor>■ from the record store</Text>;
  return <Text color="yellow">○ {connection}</Text>;
}
