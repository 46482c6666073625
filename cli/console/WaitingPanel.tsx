/**
 * What waits for people, pinned above the steps: gates, manual steps, failures to resolve, manual
 * undos, each with who may act and, for a gate, when it closes. Back-out progress when it runs.
 */
import { Box, Text } from 'ink';
import { formatDuration } from '../../runbook/duration.js';
import type { BackoutProgress, WaitingItem } from '../../present/run-view.js';

export interface WaitingPanelProps {
  items: readonly WaitingItem[];
  backout?: BackoutProgress;
  /** The most waiting lines to show; the rest are counted. */
  max: number;
  now: number;
  width: number;
  /** Who the rota has on duty now and next, one line a role (`dba: ana on duty; next cy from 04:00 UTC`). */
  duty?: readonly string[];
}

/** How many lines the panel takes for these props. */
export function waitingPanelHeight(items: number, backout: boolean, max: number, duty = 0): number {
  return (items > 0 ? 1 + 2 * Math.min(items, max) + (items > max ? 1 : 0) : 0) + (backout ? 1 : 0) + (duty > 0 ? 1 : 0);
}

export function WaitingPanel({ items, backout, max, now, width, duty = [] }: WaitingPanelProps) {
  return (
    <Box flexDirection="column" width={width}>
      {duty.length > 0 ? (
        <Text wrap="truncate">
          <Text bold>ON DUTY</Text> {duty.join(' · ')}
        </Text>
      ) : null}
      {backout ? (
        <Text color="red" wrap="truncate">
          <Text bold inverse>
            {' BACK-OUT '}
          </Text>{' '}
          {backout.status} · {backout.undone}/{backout.toUndo} undone
          {backout.running.length > 0 ? ` · undoing ${backout.running.join(', ')}` : ''}
          {backout.waiting.length > 0 ? ` · waiting on ${backout.waiting.join(', ')}` : ''} · {backout.why}
          {backout.by ? ` (by ${backout.by})` : ''}
        </Text>
      ) : null}
      {items.length > 0 ? (
        <Text bold color="yellow" wrap="truncate">
          WAITING FOR PEOPLE ({items.length})
        </Text>
      ) : null}
      {items.slice(0, max).map((item) => (
        <Box key={`${item.kind}:${item.stepId}`} flexDirection="column">
          <Text wrap="truncate">
            <Text color={item.kind.endsWith('resolution') ? 'red' : 'yellow'}>{item.kind.endsWith('resolution') ? '✖' : '⏸'}</Text>{' '}
            {item.what}
          </Text>
          <Text wrap="truncate">
            {'  '}
            <Text bold>{item.who}</Text>
            {item.onIt ? <Text color="green"> · {item.onIt}</Text> : null}
            {item.closes ? (
              <Text color="red">
                {' '}
                · closes in {formatDuration(Math.max(0, Date.parse(item.closes.at) - now))}, then {item.closes.then}
              </Text>
            ) : null}
            {item.since ? <Text dimColor> · waiting {formatDuration(Math.max(0, now - Date.parse(item.since)))}</Text> : null}
          </Text>
        </Box>
      ))}
      {items.length > max ? (
        <Text dimColor wrap="truncate">
          … and {items.length - max} more
        </Text>
      ) : null}
    </Box>
  );
}
