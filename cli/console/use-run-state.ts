/**
 * The console's view of a run, kept current by a {@link RunPoller}: the cheap summary a few times a
 * second, step pages only when the run changed and only for the rows on screen.
 */
import { useEffect, useState, useSyncExternalStore } from 'react';
import { RunPoller, type PollerOptions, type RunSource, type RunView } from './run-poller.js';

/** The run's view, and the way to tell the poller which rows (`to` exclusive) are on screen. */
export function useRunState(
  source: RunSource,
  options: PollerOptions = {},
): { view: RunView; setVisible: (from: number, to: number) => void } {
  const [poller] = useState(() => new RunPoller(source, options));
  useEffect(() => {
    poller.start();
    return () => void poller.stop();
  }, [poller]);
  const view = useSyncExternalStore(poller.subscribe, () => poller.view);
  return { view, setVisible: (from, to) => poller.setVisible(from, to) };
}
