/**
 * Who may act for a role at a time (issue 20): when a role has a `rota`, whoever is on duty for it acts for it (votes
 * as its approver, marks its manual steps done, acknowledges its waits), and the role's other people wait for their
 * shift. The lead's people and the role's `deputies` keep their rights at any hour; a role between shifts (nobody on
 * duty) is acted for by everyone `roles` names, as it is told; a role without a rota is unchanged. Pure: the workflow
 * bundle imports it, with the workflow's clock.
 */
import { onDuty, rotaOffsetMs } from '../runbook/rota.js';
import type { Runbook } from '../runbook/schema.js';

/** Whether `person` keeps their rights for `role` whatever the rota says: they hold the lead role, or deputise for `role`. */
function offRota(book: Runbook, role: string, person: string): boolean {
  return (book.roles[book.lead] ?? []).includes(person) || (book.deputies?.[role] ?? []).includes(person);
}

/**
 * The runbook as it stands for acting at `atMs`: each role with someone on duty is held by them, and by those of its
 * people who hold the lead role or deputise for it; the lead role keeps its people and gains whoever is on duty for
 * it. Roles without a rota, or between shifts, keep the people `roles` names.
 */
export function actingRunbook(book: Runbook, atMs: number, nightMs: number): Runbook {
  if (!book.rota || book.rota.length === 0) return book;
  const roles: Record<string, string[]> = { ...book.roles };
  for (const role of Object.keys(roles)) {
    const duty = onDuty(book, role, atMs, nightMs);
    if (!duty || duty.length === 0) continue;
    const kept = role === book.lead ? roles[role]! : roles[role]!.filter((person) => offRota(book, role, person));
    roles[role] = [...new Set([...duty, ...kept])];
  }
  return { ...book, roles };
}

/**
 * The runbook with everyone who may ever act for a role: its people in `roles` and its people on the rota. A request's
 * own rule reads it (is this an approver of the gate, the owner of the step?); {@link refuseOffDuty} then says whether
 * now is their time.
 */
export function withRotaPeople(book: Runbook): Runbook {
  if (!book.rota || book.rota.length === 0) return book;
  const roles: Record<string, string[]> = { ...book.roles };
  for (const shift of book.rota)
    if (roles[shift.role] && !roles[shift.role]!.includes(shift.person)) roles[shift.role] = [...roles[shift.role]!, shift.person];
  return { ...book, roles };
}

/**
 * Why `person` may not act now for any of `roles` (each of them one they stand for, in `roles` or on the rota, is held
 * by others at `atMs`: see {@link actingRunbook}), or undefined when they may, or stand for none of them (the request's
 * own rule answers that). One sentence naming who is on duty now and until when. A deputy on the rota who does not
 * hold the role in `roles` acts for it on their shift; off it, only as a deputy (they acknowledge: see `keeps`).
 */
export function refuseOffDuty(
  book: Runbook,
  roles: readonly string[],
  person: string,
  atMs: number,
  nightMs: number,
  /** People whose right does not come from a role, and stays at any hour: the deputies and the lead, for an acknowledgement. */
  keeps: readonly string[] = [],
): string | undefined {
  if (!book.rota || book.rota.length === 0 || keeps.includes(person)) return undefined;
  const everyone = withRotaPeople(book);
  const standsFor = roles.filter((role) => (everyone.roles[role] ?? []).includes(person));
  if (standsFor.length === 0) return undefined;
  const acting = actingRunbook(book, atMs, nightMs);
  if (standsFor.some((role) => (acting.roles[role] ?? []).includes(person))) return undefined;
  const role = standsFor[0]!;
  const offset = atMs - nightMs;
  const shifts = book.rota.filter((s) => s.role === role && rotaOffsetMs(s.from) <= offset && offset < rotaOffsetMs(s.to));
  if (shifts.length === 0)
    return `${person} is not on duty for ${role} now: no shift of the rota covers this hour, so ${(book.roles[role] ?? []).join(', ')} act for it`;
  const now = shifts.map((s) => `${s.person} (until ${clock(nightMs + rotaOffsetMs(s.to))})`).join(' and ');
  return `${person} is not on duty for ${role} now: the rota has ${now}; they, a deputy of ${role} or the lead may act`;
}

/** `06:00 UTC`: the time of day of an instant, as the screens show shifts. */
function clock(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 16)} UTC`;
}
