// `--window` of `cutover forecast`, parsed where the options are: the command itself loads only when it runs.

import { parseDuration } from '../runbook/duration.js';
import { UsageError } from './errors.js';

/** A `--window` as given: its length, and its start when one was named. */
export interface WindowOption {
  lengthMs: number;
  startMs?: number;
}

/**
 * Parses `--window`: a length (`6h`), or a start and an end or a length, ISO 8601 interval style
 * (`2026-12-05T22:00:00Z/2026-12-06T04:00:00Z`, `2026-12-05T22:00:00Z/6h`).
 */
export function parseWindow(text: string): WindowOption {
  const wrong = () =>
    new UsageError(
      `--window wants a length (6h) or a start with an end or a length (2026-12-05T22:00:00Z/6h, 2026-12-05T22:00:00Z/2026-12-06T04:00:00Z), not "${text}"`,
    );
  const length = parseDuration(text.trim());
  if (length !== undefined) {
    if (length <= 0) throw wrong();
    return { lengthMs: length };
  }
  const [start, rest, extra] = text.trim().split('/');
  if (!start || !rest || extra !== undefined || !/^\d{4}-\d\d-\d\dT/.test(start)) throw wrong();
  const startMs = Date.parse(start);
  if (Number.isNaN(startMs)) throw wrong();
  const restLength = parseDuration(rest);
  const endMs = restLength !== undefined ? startMs + restLength : /^\d{4}-\d\d-\d\dT/.test(rest) ? Date.parse(rest) : NaN;
  if (Number.isNaN(endMs)) throw wrong();
  if (endMs <= startMs) throw new UsageError(`--window ends before it starts: "${text}"`);
  return { lengthMs: endMs - startMs, startMs };
}
