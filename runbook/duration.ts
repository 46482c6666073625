/**
 * Durations as runbook authors write them: `90s`, `15m`, `1h30m`, `2d`, `250ms`.
 * Pure: imported by the workflow bundle.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The grammar of a duration string, shared with the schema so both agree. */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/** A fixed start relative to the window: `+` and a duration (`+2h`, `+1h30m`). */
export const NOT_BEFORE_PATTERN = /^\+(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Parses a duration string into milliseconds; returns undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_PATTERN.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(PART)) {
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  return Math.round(total);
}

/** Like {@link parseDuration} for strings the schema already accepted. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new TypeError(`not a duration: ${text}`);
  return ms;
}

/**
 * Formats milliseconds compactly for people: `850ms`, `2m30s`, `1h05m`; from a day on, days and what is left to the
 * minute (`30d`, `1d 4h`, `2d 3h15m`): "720h00m" of a month's hypercare reads as nothing to a person.
 */
export function formatDuration(ms: number): string {
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds >= 86_400) {
    const totalMinutes = Math.floor(totalSeconds / 60);
    const d = Math.floor(totalMinutes / 1440);
    const h = Math.floor((totalMinutes % 1440) / 60);
    const m = totalMinutes % 60;
    if (m > 0) return `${d}d ${h}h${String(m).padStart(2, '0')}m`;
    return h > 0 ? `${d}d ${h}h` : `${d}d`;
  }
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** Formats milliseconds as a duration the runbook takes back exactly: `1h30m`, `45s`, `1d2h`, `250ms`, `0s`. */
export function durationText(ms: number): string {
  let left = Math.max(0, Math.round(ms));
  if (left === 0) return '0s';
  let text = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(left / size);
    if (n > 0) text += `${n}${unit}`;
    left -= n * size;
  }
  return text;
}
