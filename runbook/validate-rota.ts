/**
 * The rules of acknowledgements, deputies and the rota (issue 20): deputies of roles that exist, people the runbook
 * knows, `ack_within` only where someone waits (a manual step or a gate) and only with channels to escalate on, and
 * a rota whose shifts name a known role and person and neither end before they start nor overlap another shift of
 * the same role. Each problem has a path, so `cutover validate` points at its line. Pure.
 */
import type { ProblemPath } from '../lib/yaml-document/problems.js';
import { hint, type Checking } from './checking.js';
import { rotaOffsetMs } from './rota.js';

function knownPeople(c: Checking): Set<string> {
  return new Set([...Object.values(c.runbook.roles).flat(), ...Object.keys(c.runbook.people)]);
}

function checkPerson(c: Checking, person: string, path: ProblemPath, people: Set<string>): void {
  if (people.has(person)) return;
  c.errors.push({
    path,
    message:
      `\`${person}\` is not a person the runbook knows` +
      hint(person, people, '; name someone who holds a role in `roles` or is listed under `people`', c.budget),
  });
}

function checkRole(c: Checking, role: string, path: ProblemPath, target: 'key' | 'value' = 'value'): void {
  if (c.definedRoles.has(role)) return;
  c.errors.push({
    path,
    ...(target === 'key' ? { target } : {}),
    message: `\`${role}\` is not a role in \`roles\`` + hint(role, c.roleNames, '; name one of the roles under `roles`', c.budget),
  });
}

/** Every rule of `deputies:`, `rota:` and `ack_within`. */
export function checkAcknowledgements(c: Checking): void {
  const { runbook } = c;
  const people = knownPeople(c);
  for (const [role, deputies] of Object.entries(runbook.deputies ?? {})) {
    checkRole(c, role, ['deputies', role], 'key');
    deputies.forEach((person, k) => checkPerson(c, person, ['deputies', role, k], people));
  }
  runbook.phases.forEach((phase, i) =>
    phase.steps.forEach((step, j) => {
      if (step.ack_within === undefined) return;
      const path: ProblemPath = ['phases', i, 'steps', j, 'ack_within'];
      if (!step.gate && step.action?.kind !== 'manual')
        c.errors.push({
          path,
          message: `step \`${step.id}\` has \`ack_within\`, but nobody waits on it: only manual steps and gates are acknowledged; remove it`,
        });
      else if (!runbook.notifications)
        c.errors.push({
          path,
          message: `step \`${step.id}\` escalates after \`ack_within\`, but the runbook has no \`notifications:\` channels to escalate on; add them (docs/notifications.md)`,
        });
    }),
  );
  const rota = runbook.rota ?? [];
  rota.forEach((shift, k) => {
    const path: ProblemPath = ['rota', k];
    checkRole(c, shift.role, [...path, 'role']);
    checkPerson(c, shift.person, [...path, 'person'], people);
    const from = rotaOffsetMs(shift.from);
    const to = rotaOffsetMs(shift.to);
    if (!(from < to)) {
      c.errors.push({
        path: [...path, 'to'],
        message: `the shift of ${shift.person} as ${shift.role} ends at ${shift.to}, not after it starts at ${shift.from}: it is empty; make \`to\` later than \`from\``,
      });
      return;
    }
    const earlier = rota.findIndex(
      (other, m) => m < k && other.role === shift.role && rotaOffsetMs(other.from) < to && from < rotaOffsetMs(other.to),
    );
    if (earlier >= 0) {
      const other = rota[earlier]!;
      c.errors.push({
        path: [...path, 'from'],
        message: `the shift of ${shift.person} as ${shift.role} (${shift.from} to ${shift.to}) overlaps rota entry ${earlier + 1}, ${other.person} (${other.from} to ${other.to}); one person is on duty for a role at a time, so move one end`,
      });
    }
  });
}
