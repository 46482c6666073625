/**
 * The command centre's rota (`rota:`): shifts per role, as offsets from T, the start of the night (the window's start
 * in a live run, the run's own start in a rehearsal, as fixed starts and gate deadlines count). Who is on duty when an
 * event happens is who is told for that role. Pure and free of Node: the workflow bundle uses it to route events, the
 * presentation to show who is on duty now and next, validation to refuse a rota that cannot be read one way.
 */
import { DURATION_PATTERN, durationMs } from './duration.js';

/** `T`, `T-2h`, `T+6h30m`: a time relative to the start of the night. */
export const ROTA_TIME_PATTERN = /^T(?:[+-](?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)?$/;

/** One shift: a person on duty for a role from one time to another (schema in rota-schema.ts). */
export interface RotaShift {
  role: string;
  person: string;
  from: string;
  to: string;
}

/** An offset such as `T-2h` in milliseconds from T. */
export function rotaOffsetMs(text: string): number {
  if (text === 'T') return 0;
  const sign = text[1] === '-' ? -1 : 1;
  const rest = text.slice(2);
  return DURATION_PATTERN.test(rest) ? sign * durationMs(rest) : Number.NaN;
}

/** What the rota needs of a runbook. */
export interface RotaRunbook {
  readonly roles: Readonly<Record<string, readonly string[]>>;
  readonly rota?: readonly RotaShift[];
}

/** The people on duty for `role` at `atMs` (T at `nightStartMs`), or undefined when the rota has no shift for the role. */
export function onDuty(runbook: RotaRunbook, role: string, atMs: number, nightStartMs: number): string[] | undefined {
  const shifts = runbook.rota?.filter((shift) => shift.role === role);
  if (!shifts || shifts.length === 0) return undefined;
  const offset = atMs - nightStartMs;
  return shifts.filter((s) => rotaOffsetMs(s.from) <= offset && offset < rotaOffsetMs(s.to)).map((s) => s.person);
}

/**
 * The runbook with each role held by whoever is on duty at `atMs`: a role with shifts and someone on them is held by
 * them alone; a role without shifts, or between shifts (nobody on duty), keeps the people `roles` names. Routing an
 * event through it tells the people on duty.
 */
export function rolesOnDuty<R extends RotaRunbook>(runbook: R, atMs: number, nightStartMs: number): R {
  if (!runbook.rota || runbook.rota.length === 0) return runbook;
  const roles: Record<string, readonly string[]> = { ...runbook.roles };
  for (const role of Object.keys(roles)) {
    const duty = onDuty(runbook, role, atMs, nightStartMs);
    if (duty && duty.length > 0) roles[role] = duty;
  }
  return { ...runbook, roles };
}

/** Who is on duty for a role now, and the next shift's person and start (ISO), for the screens. */
export interface DutyLine {
  role: string;
  now: string[];
  next?: { person: string; from: string };
}

/** For every role of the rota: who is on duty at `atMs` and who comes next. */
export function dutyLines(runbook: RotaRunbook, atMs: number, nightStartMs: number): DutyLine[] {
  const roles = [...new Set((runbook.rota ?? []).map((s) => s.role))];
  const offset = atMs - nightStartMs;
  return roles.map((role) => {
    const shifts = runbook.rota!.filter((s) => s.role === role);
    const upcoming = shifts.filter((s) => rotaOffsetMs(s.from) > offset).sort((a, b) => rotaOffsetMs(a.from) - rotaOffsetMs(b.from))[0];
    return {
      role,
      now: onDuty(runbook, role, atMs, nightStartMs) ?? [],
      ...(upcoming ? { next: { person: upcoming.person, from: new Date(nightStartMs + rotaOffsetMs(upcoming.from)).toISOString() } } : {}),
    };
  });
}
