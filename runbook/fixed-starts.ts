/**
 * When a step may start at the earliest, besides its dependencies: its `not_before` (a fixed start), and for a step
 * of an `interface_switch_on` phase, not inside a declared interface freeze (`freeze_windows`). Every time is an
 * offset from the start of the night: the window's start on the night, the run's own start in a rehearsal (a
 * rehearsal moves the night to its start, as gate deadlines do).
 *
 * The plan (graph.ts), the forecast (timing/forecast.ts), the live-start check (change-window.ts) and the run
 * workflow (workflows/fixed-start.ts) ask here, so they agree.
 * Pure and deterministic: the workflow bundle imports it.
 */
import { durationMs } from './duration.js';

/** The part of a runbook the fixed starts need. A full runbook fits. */
export interface FixedStartRunbook {
  readonly window?: { readonly start?: string };
  readonly freeze_windows?: readonly { readonly start: string; readonly end: string; readonly reason?: string }[];
  readonly phases: readonly {
    readonly kind?: string;
    readonly steps: readonly { readonly id: string; readonly not_before?: string }[];
  }[];
}

/** A freeze as offsets from the night's start. */
export interface FreezeOffsets {
  startMs: number;
  endMs: number;
  reason?: string;
}

/** Everything that holds steps back, as offsets from the night's start. */
export interface StartRules {
  /** By step id: its `not_before`, when it has one. */
  notBefore: ReadonlyMap<string, number>;
  /** The interface freezes, in the order written. */
  freezes: readonly FreezeOffsets[];
  /** The steps the freezes hold back: those of `interface_switch_on` phases. */
  frozen: ReadonlySet<string>;
}

/**
 * A `not_before` as an offset from the window's start: `+2h` is 2 hours; a time is its distance from `window.start`
 * (undefined without one: validation refuses that).
 */
export function notBeforeOffsetMs(notBefore: string, windowStart: string | undefined): number | undefined {
  if (notBefore.startsWith('+')) return durationMs(notBefore.slice(1));
  if (windowStart === undefined) return undefined;
  return Date.parse(notBefore) - Date.parse(windowStart);
}

/** What holds the steps of `runbook` back, as offsets from the night's start. */
export function startRules(runbook: FixedStartRunbook): StartRules {
  const windowStart = runbook.window?.start;
  const notBefore = new Map<string, number>();
  const frozen = new Set<string>();
  for (const phase of runbook.phases) {
    for (const step of phase.steps) {
      const offset = step.not_before === undefined ? undefined : notBeforeOffsetMs(step.not_before, windowStart);
      if (offset !== undefined && !notBefore.has(step.id)) notBefore.set(step.id, offset);
      if (phase.kind === 'interface_switch_on') frozen.add(step.id);
    }
  }
  const freezes =
    windowStart === undefined
      ? []
      : (runbook.freeze_windows ?? []).map((f) => ({
          startMs: Date.parse(f.start) - Date.parse(windowStart),
          endMs: Date.parse(f.end) - Date.parse(windowStart),
          ...(f.reason !== undefined ? { reason: f.reason } : {}),
        }));
  return { notBefore, freezes, frozen: freezes.length > 0 ? frozen : new Set() };
}

/** How a live start's window gaps (change-window.ts) name a freeze: the lead's signed override of one lists it so. */
export const FREEZE_GAP_PREFIX = 'the interface freeze ';

/**
 * Whether the lead's signed override of a live start (its `missing` list) went live over an interface freeze: such a
 * run is not then held out of the freezes it was taken into.
 */
export function overridesFreezes(missing: readonly string[] | undefined): boolean {
  return (missing ?? []).some((gap) => gap.startsWith(FREEZE_GAP_PREFIX));
}

/** Whether anything holds any step back: most runbooks have neither fixed starts nor freezes. */
export function holdsAny(rules: StartRules): boolean {
  return rules.notBefore.size > 0 || rules.frozen.size > 0;
}

/**
 * The earliest a step that is ready at `readyMs` may start (offsets from the night's start), and why it waits when
 * it does: its `not_before`, then out of any freeze it would start inside (a freeze that ends inside another moves it
 * on to that one's end).
 */
export function earliestStart(rules: StartRules, id: string, readyMs: number): { startMs: number; freeze?: FreezeOffsets } {
  let startMs = Math.max(readyMs, rules.notBefore.get(id) ?? -Infinity);
  let freeze: FreezeOffsets | undefined;
  if (rules.frozen.has(id)) {
    for (let moved = true; moved;) {
      moved = false;
      for (const f of rules.freezes) {
        if (startMs >= f.startMs && startMs < f.endMs) {
          startMs = f.endMs;
          freeze = f;
          moved = true;
        }
      }
    }
  }
  return freeze ? { startMs, freeze } : { startMs };
}

/**
 * When the night of a run starts, in ms since the epoch: the window's start for a live run that has one, else the
 * run's own start (a rehearsal moves the night to when it started).
 */
export function nightStartMs(runbook: FixedStartRunbook, mode: 'rehearsal' | 'live', runStartedAt: string): number {
  return mode === 'live' && runbook.window?.start !== undefined ? Date.parse(runbook.window.start) : Date.parse(runStartedAt);
}
