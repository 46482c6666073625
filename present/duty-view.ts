/**
 * Who is on what, as the screens say it: the people who acknowledged a wait (`on it: ana since 03:12 UTC`), and the
 * rota's people on duty now and next (`dba: ana on duty; next cy from 06:00 UTC`). Pure: `status`, the console and
 * the page render these words.
 */
import { waitingOnPeople } from '../run/acknowledge.js';
import type { StepState } from '../run/state.js';
import { nightStartMs } from '../runbook/fixed-starts.js';
import { dutyLines, type DutyLine, type RotaShift } from '../runbook/rota.js';

const hhmm = (iso: string) => `${iso.slice(11, 16)} UTC`;

/** `on it: ana since 03:12 UTC, ben since 03:14 UTC` for a step that waits for people and was acknowledged; else undefined. */
export function onItText(step: Pick<StepState, 'acks' | 'status' | 'waitingFor' | 'completedBy'>): string | undefined {
  const waiting = waitingOnPeople(step as StepState);
  const acks = waiting === undefined ? [] : (step.acks ?? []).filter((ack) => ack.for === waiting);
  if (acks.length === 0) return undefined;
  return `on it: ${acks.map((ack) => `${ack.by} since ${hhmm(ack.at)}`).join(', ')}`;
}

/** `dba: ana on duty; next cy from 06:00 UTC`, or `dba: nobody on duty; next …`. */
export function dutyText(line: DutyLine): string {
  const now = line.now.length > 0 ? `${line.now.join(', ')} on duty` : 'nobody on duty';
  return `${line.role}: ${now}${line.next ? `; next ${line.next.person} from ${hhmm(line.next.from)}` : ''}`;
}

/**
 * Who the rota has on duty for each role at `now`, and who is next, one line a role (`dba: ana on duty; next cy from
 * 06:00 UTC`); none without a rota. T is the night's start as the run counts it (the window's in a live run, the run's
 * own start in a rehearsal).
 */
export function dutyNow(
  rota: { shifts: readonly RotaShift[]; windowStart?: string } | undefined,
  run: { mode: 'rehearsal' | 'live'; startedAt: string },
  now: number,
): string[] {
  if (!rota || rota.shifts.length === 0) return [];
  const night = nightStartMs({ phases: [], ...(rota.windowStart ? { window: { start: rota.windowStart } } : {}) }, run.mode, run.startedAt);
  return dutyLines({ roles: {}, rota: rota.shifts }, now, night).map(dutyText);
}
