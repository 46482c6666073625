/**
 * The run's notification messages that did not reach people, read from the record store when the console opens and
 * every {@link EVERY_MS} after: the console says so under its header, as `cutover status` and the page do, so the
 * lead knows whom to call instead of assuming they were told.
 */
import { useEffect, useState } from 'react';

/** Deliveries retry over minutes; a quarter of a minute is soon enough and costs the store two small reads. */
const EVERY_MS = 15_000;

export function useUndelivered(read: (() => Promise<string[]>) | undefined, everyMs = EVERY_MS): readonly string[] {
  const [lines, setLines] = useState<readonly string[]>([]);
  useEffect(() => {
    if (!read) return undefined;
    let live = true;
    const once = () =>
      void read().then((next) => {
        if (live) setLines((prev) => (prev.length === next.length && prev.every((line, i) => line === next[i]) ? prev : next));
      });
    once();
    const timer = setInterval(once, everyMs);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [read, everyMs]);
  return lines;
}
