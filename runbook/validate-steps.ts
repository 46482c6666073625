/**
 * The rules of one step of a runbook: its owner, what it does or decides, its gate (deadline, criteria, required
 * people, approvers), its retry policy, and its actions, checks and back-out (secret references, reconciliations,
 * HTTP patterns, SQL connections). Pure.
 */
import type { Action, Check, ReconcileAction, ReconcileCheck, Runbook, Step } from './schema.js';
import { durationMs } from './duration.js';
import type { DocumentProblem, ProblemPath } from '../lib/yaml-document/problems.js';
import { findReferences, referenceFields } from './secret-refs.js';
import { checkComparison, checkRelation } from '../reconcile/check-config.js';

import { hint, listOf, need, undefinedRole, type Checking } from './checking.js';

/** A step and where it is in the document. */
export interface StepAt {
  step: Step;
  phaseIndex: number;
  stepIndex: number;
  path: ProblemPath;
}

/** Where each part of a step that can run something lives, for the rules shared by all three. */
/** Why `name` is not a connection of the runbook, with a hint; undefined when it is one. */
function connectionProblem(name: string, connections: Runbook['connections'], budget: { left: number }): string | undefined {
  if (Object.hasOwn(connections, name)) return undefined;
  return (
    `connection \`${name}\` is not defined in \`connections\`` +
    hint(name, Object.keys(connections), '; add it under `connections` with its driver and path', budget)
  );
}

/** The rules of a `reconcile` action or check the schema cannot say alone, located under `path`. */
function reconcileProblems(
  what: ReconcileAction | ReconcileCheck,
  path: ProblemPath,
  connections: Runbook['connections'],
  budget: { left: number },
): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  for (const side of ['source', 'target'] as const) {
    const spec = what[side];
    const problem = connectionProblem(spec.connection, connections, budget);
    if (problem) {
      problems.push({ path: [...path, side, 'connection'], message: problem });
      continue;
    }
    if (connections[spec.connection]!.driver === 'csv') {
      const extra = spec.table !== undefined ? 'table' : spec.query !== undefined ? 'query' : undefined;
      if (extra) {
        problems.push({
          path: [...path, side, extra],
          target: 'key',
          message: `connection \`${spec.connection}\` is a CSV file, which is read whole; remove \`${extra}\``,
        });
      }
    } else {
      problems.push(...checkRelation(spec, side, [...path, side]));
    }
  }
  for (const problem of checkComparison(what)) problems.push({ ...problem, path: [...path, ...problem.path] });
  if ('repeat' in what && what.repeat) {
    if (what.until) {
      problems.push({
        path: [...path, 'repeat'],
        target: 'key',
        message: 'a check cannot both `repeat` (compare on a schedule) and ask again `until` it passes; keep one of them',
      });
    }
    if (durationMs(what.repeat.every) <= 0 || durationMs(what.repeat.every) > durationMs(what.repeat.for)) {
      problems.push({
        path: [...path, 'repeat', 'every'],
        message: `\`every: ${what.repeat.every}\` must be more than nothing and at most \`for: ${what.repeat.for}\`, or the check compares only once`,
      });
    }
  }
  return problems;
}

export function runnables(at: StepAt): { what: Action | Check; path: ProblemPath; label: string }[] {
  const found: { what: Action | Check; path: ProblemPath; label: string }[] = [];
  const { step, path } = at;
  if (step.action) found.push({ what: step.action, path: [...path, 'action'], label: `the action of step \`${step.id}\`` });
  step.checks.forEach((check, i) => {
    found.push({ what: check, path: [...path, 'checks', i], label: `check \`${check.name}\` of step \`${step.id}\`` });
  });
  if (step.backout) found.push({ what: step.backout, path: [...path, 'backout'], label: `the back-out of step \`${step.id}\`` });
  return found;
}

export function allSteps(runbook: Runbook): StepAt[] {
  const steps: StepAt[] = [];
  runbook.phases.forEach((phase, phaseIndex) => {
    phase.steps.forEach((step, stepIndex) => {
      steps.push({ step, phaseIndex, stepIndex, path: ['phases', phaseIndex, 'steps', stepIndex] });
    });
  });
  return steps;
}

/** Every rule of one step. */
export function checkStep(c: Checking, at: StepAt): void {
  const { runbook, errors, warnings } = c;
  const { step, path } = at;
  if (c.definedRoles.has(step.owner)) need(c, step.owner, `step \`${step.id}\``);
  else errors.push({ path: [...path, 'owner'], message: undefinedRole(c, 'owner role', step.owner) });

  if (step.action && step.gate) {
    errors.push({
      path: [...path, 'gate'],
      target: 'key',
      message: `step \`${step.id}\` has both an \`action\` and a \`gate\`; a step either does something or asks for a decision, so split it into two steps`,
    });
  } else if (!step.action && !step.gate) {
    errors.push({
      path,
      message: `step \`${step.id}\` has neither an \`action\` nor a \`gate\`; add an \`action\` (kind \`manual\` for work done by hand) or a \`gate\``,
    });
  }

  if (step.gate?.deadline) {
    const deadline = step.gate.deadline;
    const given = (['at', 'after_opening', 'after_window_start'] as const).filter((field) => deadline[field] !== undefined);
    if (given.length !== 1) {
      errors.push({
        path: [...path, 'gate', 'deadline', ...(given.length > 1 ? [given[1]!] : [])],
        ...(given.length > 1 ? { target: 'key' as const } : {}),
        message:
          given.length === 0
            ? 'a deadline needs one of `at` (a time), `after_opening` or `after_window_start` (a duration)'
            : `a deadline has one of \`at\`, \`after_opening\` and \`after_window_start\`, not ${given.map((g) => `\`${g}\``).join(' and ')}; keep one`,
      });
    } else if (deadline.after_window_start !== undefined && runbook.window?.start === undefined) {
      errors.push({
        path: [...path, 'gate', 'deadline', 'after_window_start'],
        message: 'a deadline after the window start needs `window.start`; add it, or use `after_opening` or `at`',
      });
    }
  }
  step.gate?.criteria?.checks_passed?.forEach((phase, k) => {
    const phases = runbook.phases.map((p) => p.id);
    if (!phases.includes(phase)) {
      errors.push({
        path: [...path, 'gate', 'criteria', 'checks_passed', k],
        message: `there is no phase \`${phase}\`` + hint(phase, phases, `; phases: ${phases.join(', ')}`, c.budget),
      });
    }
  });
  step.gate?.require?.forEach((requirement, k) => {
    const people = 'all_of' in requirement ? requirement.all_of : requirement.of;
    const field = 'all_of' in requirement ? 'all_of' : 'of';
    people.forEach((person, j) => {
      const held = Object.entries(runbook.roles)
        .filter(([, members]) => members.includes(person))
        .map(([role]) => role);
      if (!held.some((role) => step.gate!.approvers.includes(role))) {
        errors.push({
          path: [...path, 'gate', 'require', k, field, j],
          message:
            held.length === 0
              ? `${person} is not named in \`roles\`; a required approver must hold one of the gate's approver roles (${step.gate!.approvers.join(', ')})`
              : `${person} holds ${held.join(', ')}, none of the gate's approver roles (${step.gate!.approvers.join(', ')}); add one, or take them out of \`require\``,
        });
      }
    });
    if (!('all_of' in requirement) && requirement.at_least > requirement.of.length) {
      errors.push({
        path: [...path, 'gate', 'require', k, 'at_least'],
        message: `at_least ${requirement.at_least} of ${requirement.of.length} people can never be met; lower it or name more people`,
      });
    }
  });
  if (step.gate) {
    step.gate.approvers.forEach((role, k) => {
      if (c.definedRoles.has(role)) need(c, role, `gate \`${step.id}\``);
      else errors.push({ path: [...path, 'gate', 'approvers', k], message: undefinedRole(c, 'approver role', role) });
    });
    // With `rule: all` each approver role needs its own person: one person votes only once.
    const roles = [...new Set(step.gate.approvers)].filter((role) => (runbook.roles[role] ?? []).length > 0);
    if (step.gate.rule === 'all' && roles.length === step.gate.approvers.length && !distinctPeopleCover(roles, runbook.roles)) {
      errors.push({
        path: [...path, 'gate', 'approvers'],
        message:
          `gate \`${step.id}\` needs one approval from each of ${roles.length > 6 ? listOf(roles, 6) : roles.join(', ')}, but their people overlap so that no ` +
          'set of different people covers every role (a person votes once); add people to these roles, or use `rule: any`',
      });
    }
    const notForGates: [keyof Step, string][] = [
      ['checks', 'checks'],
      ['backout', 'a back-out'],
      ['retry', 'a retry policy'],
    ];
    for (const [field, what] of notForGates) {
      const present = field === 'checks' ? step.checks.length > 0 : step[field] !== undefined;
      if (present) {
        errors.push({
          path: [...path, field],
          target: 'key',
          message: `gate step \`${step.id}\` cannot have ${what}, because a gate only records a decision; remove \`${field}\``,
        });
      }
    }
  } else if (step.expected === undefined) {
    warnings.push({
      path,
      message: `step \`${step.id}\` has no \`expected\` duration; add one (such as \`expected: 10m\`) so rehearsals can be compared with the plan and the window`,
    });
  }

  if (step.retry && step.retry.attempts > 1 && !step.idempotent) {
    errors.push({
      path: [...path, 'retry', 'attempts'],
      message: `step \`${step.id}\` retries up to ${step.retry.attempts} times but is not marked \`idempotent: true\`; a step that is not idempotent must never be retried blindly, so set \`idempotent: true\` if running it twice is safe, or remove \`retry\``,
    });
  }

  for (const { what, path: partPath } of runnables(at)) {
    // Secret references are resolved on the worker; a malformed one is refused here, where it has a line.
    for (const field of referenceFields(what)) {
      for (const problem of findReferences(field.text).problems) errors.push({ path: [...partPath, ...field.path], message: problem });
    }
    if (what.kind === 'reconcile') {
      errors.push(...reconcileProblems(what, partPath, runbook.connections, c.budget));
    } else if (what.kind === 'http' && what.expect?.body_matches !== undefined && regExpError(what.expect.body_matches)) {
      errors.push({
        path: [...partPath, 'expect', 'body_matches'],
        message: `\`body_matches\` is not a valid regular expression (${regExpError(what.expect.body_matches)}); fix the pattern or use \`body_contains\` for plain text`,
      });
    } else if (what.kind === 'sql') {
      const problem = connectionProblem(what.connection, runbook.connections, c.budget);
      if (problem) errors.push({ path: [...partPath, 'connection'], message: problem });
      else if (runbook.connections[what.connection]?.driver === 'csv') {
        errors.push({
          path: [...partPath, 'connection'],
          message: `connection \`${what.connection}\` is a CSV file, which sql steps cannot query; name a sqlite or postgres connection, or compare the file with a \`reconcile\` step`,
        });
      }
    }
  }
}

/** Why `pattern` is not a JavaScript regular expression, or undefined when it is one. */
function regExpError(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Whether different people can hold one vote for each role: a bipartite matching of roles to
 * people (Hopcroft-Karp), without recursion, since a gate may list thousands of roles and an
 * augmenting path may pass through all of them (a recursive search overflowed the stack at
 * 8000 chained roles).
 */
function distinctPeopleCover(roles: readonly string[], people: Readonly<Record<string, readonly string[]>>): boolean {
  const peopleOf = new Map(roles.map((role) => [role, [...new Set(people[role] ?? [])]]));
  const personOf = new Map<string, string>();
  const roleOf = new Map<string, string>();
  const UNREACHED = Number.POSITIVE_INFINITY;
  let matched = 0;
  for (;;) {
    // Layers from the unmatched roles; `free` says whether an unmatched person is reachable.
    const layer = new Map<string, number>();
    const queue: string[] = [];
    for (const role of roles) {
      if (personOf.has(role)) layer.set(role, UNREACHED);
      else {
        layer.set(role, 0);
        queue.push(role);
      }
    }
    let free = false;
    for (let head = 0; head < queue.length; head += 1) {
      const role = queue[head]!;
      for (const person of peopleOf.get(role)!) {
        const holder = roleOf.get(person);
        if (holder === undefined) free = true;
        else if (layer.get(holder) === UNREACHED) {
          layer.set(holder, layer.get(role)! + 1);
          queue.push(holder);
        }
      }
    }
    if (!free) return matched === roles.length;
    // Augmenting paths along the layers, depth first with an explicit stack.
    const before = matched;
    for (const root of roles) {
      if (personOf.has(root)) continue;
      const frames: { role: string; next: number }[] = [{ role: root, next: 0 }];
      const via: string[] = [];
      while (frames.length > 0) {
        const frame = frames[frames.length - 1]!;
        const candidates = peopleOf.get(frame.role)!;
        if (frame.next >= candidates.length) {
          layer.set(frame.role, UNREACHED); // a dead end for the rest of this phase
          frames.pop();
          via.pop();
          continue;
        }
        const person = candidates[frame.next]!;
        frame.next += 1;
        const holder = roleOf.get(person);
        if (holder === undefined) {
          via.push(person);
          frames.forEach(({ role }, k) => {
            personOf.set(role, via[k]!);
            roleOf.set(via[k]!, role);
          });
          matched += 1;
          break;
        }
        if (layer.get(holder) === layer.get(frame.role)! + 1) {
          via.push(person);
          frames.push({ role: holder, next: 0 });
        }
      }
    }
    if (matched === before) return matched === roles.length;
  }
}
