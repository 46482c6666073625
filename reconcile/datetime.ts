/**
 * Dates and times as reconciliation compares them: any ISO-like text (`2025-06-14`,
 * `2025-06-14 22:00:00`, `2025-06-14T22:00:00.123+02:00`, `...Z`) becomes an instant; a value
 * without an offset is wall-clock time in a named zone. Pure (Intl only), so it runs anywhere.
 */
import type { DatetimePrecision } from './config.js';

const formatters = new Map<string, Intl.DateTimeFormat | null>();
const FIXED = /^(?:(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?|Z|UTC|GMT)$/i;

/**
 * Minutes east of UTC of `zone` at the instant `epochMs`, or undefined when the zone is unknown.
 * `zone` is an IANA name (Europe/Berlin), UTC, or a fixed offset (+02:00).
 */
export function zoneOffsetMinutes(zone: string, epochMs: number): number | undefined {
  const fixed = FIXED.exec(zone.trim());
  if (fixed) {
    if (!fixed[1]) return 0;
    const minutes = Number(fixed[2]) * 60 + Number(fixed[3] ?? 0);
    return fixed[1] === '-' ? -minutes : minutes;
  }
  let format = formatters.get(zone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      format = null;
    }
    formatters.set(zone, format);
  }
  if (format === null) return undefined;
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(epochMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day, parts.hour, parts.minute, parts.second);
  return Math.round((wall - (epochMs - (((epochMs % 1000) + 1000) % 1000))) / 60_000);
}

const DATETIME =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * The instant a value stands for, in milliseconds since 1970 UTC, or undefined when it is not a
 * date/time. Offset-less values are read in `zone`.
 */
export function parseInstant(value: unknown, zone: string): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value !== 'string') return undefined;
  const m = DATETIME.exec(value.trim());
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const millis = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  if (new Date(wall).getUTCDate() !== day) return undefined;
  if (m[8]) {
    const offset = zoneOffsetMinutes(m[8], wall);
    return offset === undefined ? undefined : wall - offset * 60_000;
  }
  // Wall-clock time in a zone: subtract the offset in force then; once more in case the first
  // guess fell on the other side of a daylight-saving change.
  const first = zoneOffsetMinutes(zone, wall);
  if (first === undefined) return undefined;
  const guess = wall - first * 60_000;
  const second_ = zoneOffsetMinutes(zone, guess) ?? first;
  return wall - second_ * 60_000;
}

const UNIT: Record<Exclude<DatetimePrecision, 'day'>, number> = { millisecond: 1, second: 1000, minute: 60_000 };

/**
 * An instant cut to `precision`, as a number two sides can compare: milliseconds, or for `day`
 * the day number in `zone` (so 23:30 UTC and 01:30 +02:00 the next day are one day in Berlin).
 */
export function cutInstant(epochMs: number, precision: DatetimePrecision, zone: string): number {
  if (precision === 'day') {
    const local = epochMs + (zoneOffsetMinutes(zone, epochMs) ?? 0) * 60_000;
    return Math.floor(local / 86_400_000);
  }
  const unit = UNIT[precision];
  return Math.floor(epochMs / unit) * unit;
}
