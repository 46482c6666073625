/**
 * The steps, by phase, as many as fit: only the visible rows are rendered, so a 10,000-step run
 * scrolls as fast as a 10-step one. Each row: critical-path mark, status (a spinner while it runs),
 * id, owner, status word, planned, actual, attempts, and a short note.
 */
import { Box, Text } from 'ink';
import { roleWithPeople, stepRow, type RunContext } from '../../present/run-view.js';
import { phaseKindWord } from '../../present/run-view.js';
import type { StepState } from '../../run/state.js';
import type { ListItem } from './list-items.js';

export interface StepListProps {
  items: readonly ListItem[];
  steps: readonly (StepState | undefined)[];
  top: number;
  rows: number;
  selectedItem: number;
  critical: ReadonlySet<string>;
  context: RunContext;
  now: number;
  width: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Column widths for a terminal `width` wide: the id and owner columns take the extra room. */
export function columns(width: number) {
  const fixed = 2 + 2 + 13 + 8 + 9 + 4; // marks, status word, planned, actual, attempts
  const spare = Math.max(20, width - fixed);
  // The note (who a step waits for, its error) takes what is left over.
  const id = Math.min(28, Math.max(14, Math.floor(spare * 0.45)));
  const owner = Math.min(20, Math.max(8, Math.floor(spare * 0.25)));
  return { id, owner };
}

export function StepList({ items, steps, top, rows, selectedItem, critical, context, now, width }: StepListProps) {
  const cols = columns(width);
  const spin = SPINNER[Math.floor(now / 250) % SPINNER.length]!;
  const visible = items.slice(top, top + rows);
  return (
    <Box flexDirection="column" width={width}>
      <Text dimColor wrap="truncate">
        {'    '}
        {'STEP'.padEnd(cols.id)} {'OWNER'.padEnd(cols.owner)} {'STATUS'.padEnd(12)} {'PLANNED'.padStart(7)} {'ACTUAL'.padStart(8)}{' '}
        {'#'.padStart(3)}
      </Text>
      {visible.map((item, i) => {
        const at = top + i;
        if (item.kind === 'phase') {
          return (
            <Text key={`p:${item.phaseId}`} bold wrap="truncate">
              {`── ${item.phaseId} (${phaseKindWord(item.phaseKind)}) `.padEnd(Math.max(0, width - 1), '─')}
            </Text>
          );
        }
        const step = steps[item.index];
        if (!step) {
          return (
            <Text key={`s:${item.index}`} dimColor wrap="truncate">
              {'    …'}
            </Text>
          );
        }
        const row = stepRow(step, now, critical);
        const color =
          row.symbol === '✖'
            ? 'red'
            : row.needsPerson
              ? 'yellow'
              : row.active
                ? 'cyan'
                : row.word === 'succeeded' || row.word === 'simulated'
                  ? 'green'
                  : undefined;
        const owner = roleWithPeople(row.owner, context);
        return (
          <Text key={`s:${step.id}`} inverse={at === selectedItem} wrap="truncate">
            <Text color="magenta">{row.critical ? '◆' : ' '}</Text>
            <Text color={color}>{row.active ? spin : row.symbol}</Text> {fit(row.id, cols.id)} {fit(owner, cols.owner)}{' '}
            <Text color={color}>{fit(row.word, 12)}</Text> {row.planned.padStart(7)} {row.actual.padStart(8)}{' '}
            {(row.attempts > 1 ? `×${row.attempts}` : '').padStart(3)}
            {row.overPlan ? <Text color="yellow"> {row.overPlan}</Text> : null}
            {row.note ? <Text dimColor> {row.note}</Text> : null}
          </Text>
        );
      })}
    </Box>
  );
}

/** `text` in exactly `width` columns: cut with an ellipsis, or padded. */
export function fit(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text.padEnd(width);
}
