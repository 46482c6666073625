/** The keys, all of them, with what each does. */
import { Box, Text } from 'ink';

export const HELP: ReadonlyArray<readonly [string, string]> = [
  ['↑ ↓  j k', 'move (PgUp PgDn, g G: a page, the ends)'],
  ['f', 'follow the running steps again after moving'],
  ['Enter', 'open the step: output, checks, attempts, comparison; Esc back'],
  ['a  r', 'approve / reject the selected gate, or the open hypercare exit (who you are, why)'],
  ['d', 'mark the selected manual step (or manual back-out) done'],
  ['R', 'resolve the selected failure: retry it, or record it done by hand'],
  ['b', 'request back-out (type the runbook name to confirm; reason required)'],
  ['/  n', 'find a step by id or title; next match'],
  ['?', 'this help'],
  ['q', 'leave the console: the run goes on'],
];

export function HelpPanel({ width, rows }: { width: number; rows: number }) {
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>Keys</Text>
      {HELP.slice(0, Math.max(0, rows - 1)).map(([keys, what]) => (
        <Text key={keys} wrap="truncate">
          <Text bold>{keys.padEnd(10)}</Text> {what}
        </Text>
      ))}
    </Box>
  );
}
