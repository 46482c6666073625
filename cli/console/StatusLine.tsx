/**
 * The console's bottom lines apart from the keys: the request being sent, the run's last answer, or what the console
 * is doing; before the run is read, that it is connecting. Pure.
 */
import { Box, Text } from 'ink';
import type { ActionOutcome } from './actions.js';

export function StatusLine({ busy, message, following }: { busy?: string; message?: ActionOutcome; following: boolean }) {
  return (
    <Text wrap="truncate" color={busy ? 'cyan' : message ? (message.ok ? 'green' : 'red') : undefined} dimColor={!busy && !message}>
      {busy
        ? `sending ${busy}… (other requests wait for its answer)`
        : message
          ? message.message
          : following
            ? 'following the running steps'
            : ' '}
    </Text>
  );
}

/** What the console shows until it has read the run once. */
export function Connecting({ width, problem, reconnecting }: { width: number; problem?: string; reconnecting: boolean }) {
  return (
    <Box flexDirection="column" width={width}>
      <Text>{reconnecting || problem ? `⟳ cannot read the run yet: ${problem ?? ''}` : '⟳ connecting to the run…'}</Text>
      <Text dimColor>q leave</Text>
    </Box>
  );
}
