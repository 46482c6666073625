/**
 * Durations as the timing views show them: `—` for one that is not known, and a signed difference. Pure.
 */
import { formatDuration } from '../runbook/duration.js';

/** `—` for an unknown duration. */
export function showMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '—' : formatDuration(ms);
}

/** `+2m10s`, `-30s`, `±0s`. */
export function showDelta(ms: number | null): string {
  if (ms === null) return '';
  if (Math.round(ms / 1000) === 0 && Math.abs(ms) < 1000) return '±0s';
  return `${ms > 0 ? '+' : '-'}${formatDuration(Math.abs(ms))}`;
}
