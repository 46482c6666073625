/** A clock for the console: the time now, again every `everyMs` while `ticking` (spinners, elapsed time, time left). */
import { useEffect, useState } from 'react';

export function useClock(everyMs: number, ticking = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return undefined;
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs, ticking]);
  return now;
}
