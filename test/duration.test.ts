import { describe, it, expect } from 'vitest';
import { DURATION_PATTERN, durationMs, formatDuration, parseDuration } from '../runbook/duration.js';

describe('parseDuration', () => {
  it('reads each unit', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('2d')).toBe(172_800_000);
  });

  it('adds combined parts and reads fractions', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1m5s')).toBe(65_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('0s')).toBe(0);
  });

  it('reads `ms` as milliseconds, not minutes and seconds', () => {
    expect(parseDuration('5ms')).toBe(5);
    expect(parseDuration('1m500ms')).toBe(60_500);
  });

  it('refuses what is not a duration', () => {
    for (const text of ['', '15', 'm', '1 h', '1h 30m', '-5m', '1H', 'one hour', '1.h', '15min']) {
      expect(parseDuration(text), text).toBeUndefined();
      expect(DURATION_PATTERN.test(text), text).toBe(false);
    }
  });
});

describe('durationMs', () => {
  it('returns milliseconds for a valid duration and throws for anything else', () => {
    expect(durationMs('1h')).toBe(3_600_000);
    expect(() => durationMs('soon')).toThrow(new TypeError('not a duration: soon'));
  });
});

describe('formatDuration', () => {
  it('formats compactly for people', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(999.6)).toBe('1s');
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(150_000)).toBe('2m30s');
    expect(formatDuration(3_900_000)).toBe('1h05m');
    expect(formatDuration(86_399_000)).toBe('23h59m');
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(formatDuration(30 * 86_400_000)).toBe('30d');
    expect(formatDuration(28 * 3_600_000)).toBe('1d 4h');
    expect(formatDuration(2 * 86_400_000 + 3 * 3_600_000 + 15 * 60_000 + 40_000)).toBe('2d 3h15m');
    expect(formatDuration(86_400_000 + 5 * 60_000)).toBe('1d 0h05m');
  });

  it('round-trips through parseDuration at its own precision', () => {
    for (const text of ['45s', '2m30s', '1h05m']) expect(formatDuration(parseDuration(text)!)).toBe(text);
  });
});
