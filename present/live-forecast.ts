/**
 * The live re-forecast in words (timing/live-forecast.ts makes the figures): one line for the console's header and
 * `cutover status`, and the parts the status page and the wallboard lay out. Pure.
 */
import { formatDuration } from '../runbook/duration.js';
import type { LiveForecast } from '../timing/live-forecast.js';

/** The forecast's parts, each a short phrase, and how it looks: `bad` when the window is likely missed. */
export interface ForecastWords {
  /** `finish 23:40 (P50, in 1h12m) to 23:58 (P90)` */
  finish: string;
  /** `82% of nights end inside the window (ends 00:00)` */
  window?: string;
  /** `a back-out now takes 14m (P90) for 6 steps` */
  backout: string;
  /** `point of no return 23:10, in 32m; go/no-go reached in time on 75% of nights` */
  noReturn?: string;
  tone: 'ok' | 'warn' | 'bad';
}

/** `23:40 UTC` of an ISO time. */
export function clock(iso: string): string {
  return `${iso.slice(11, 16)} UTC`;
}

const percent = (x: number) => `${Math.round(x * 100)}%`;

/** The forecast at `now`, in phrases. */
export function forecastWords(f: LiveForecast, now: number): ForecastWords {
  const inFrom = (iso: string) => {
    const ms = Date.parse(iso) - now;
    return ms > 0 ? `in ${formatDuration(ms)}` : 'now';
  };
  const ending = f.basis === 'backout' ? 'back-out ends' : 'finish';
  const finish =
    f.basis === 'ended'
      ? `finished ${clock(f.p50At)}`
      : `${ending} ${clock(f.p50At)} (P50, ${inFrom(f.p50At)}) to ${clock(f.p90At)} (P90, ${inFrom(f.p90At)})`;
  const words: ForecastWords = {
    finish,
    backout:
      f.backoutNow.steps === 0
        ? 'a back-out now has nothing to undo'
        : `a back-out now takes ${formatDuration(f.backoutNow.p90Ms)} (P90${f.backoutNow.source === 'planned' ? ', planned' : ''}) for ${f.backoutNow.steps} step${f.backoutNow.steps === 1 ? '' : 's'}`,
    tone: 'ok',
  };
  if (f.window) {
    words.window = `${percent(f.window.pInside)} of nights end inside the window (ends ${clock(f.window.end)})`;
    words.tone = f.window.pInside < 0.5 ? 'bad' : f.window.pInside < 0.9 ? 'warn' : 'ok';
  }
  const pnr = f.pointOfNoReturn;
  if (pnr && f.basis === 'forward') {
    const gate = pnr.goNoGo;
    const when = pnr.ahead ? `point of no return ${clock(pnr.at)}, ${inFrom(pnr.at)}` : `PAST the point of no return (${clock(pnr.at)})`;
    words.noReturn =
      gate && !gate.decided && gate.pInTime !== undefined
        ? `${when}; go/no-go reached in time on ${percent(gate.pInTime)} of nights`
        : when;
    if (!pnr.ahead && gate && !gate.decided) words.tone = 'bad';
  }
  return words;
}

/** The forecast in one line: `forecast: finish … · 82% … · a back-out now … · point of no return …`. */
export function forecastLine(f: LiveForecast, now: number): string {
  const w = forecastWords(f, now);
  return `forecast: ${[w.finish, w.window, w.backout, w.noReturn].filter(Boolean).join(' · ')}`;
}
