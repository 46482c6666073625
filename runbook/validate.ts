/**
 * Semantic validation: the rules that need the whole runbook (unique ids, the dependency graph,
 * roles that exist and have people, connections that exist), checked after the schema accepted
 * the document's shape.
 *
 * Every problem carries a path into the document so the parser can point at a line and column,
 * and a message that is one sentence naming the field and the fix: these sentences are what a
 * cutover lead reads at the terminal.
 *
 * Pure: no Node built-ins and no zod at run time, so the workflow side may use it as well.
 */
import type { Action, Check, ReconcileAction, ReconcileCheck, Runbook, Step } from './schema.js';
import { durationMs, formatDuration, parseDuration } from './duration.js';
import { effectiveDependencies, findCycles, plannedSchedule } from './graph.js';
import { closestMatch, type HintBudget } from '../lib/closest-match.js';
import type { DocumentProblem, ProblemPath } from '../lib/yaml-document/problems.js';
import { findReferences, referenceFields } from './secret-refs.js';
import { checkComparison, checkCsvSpec, checkRelation } from '../reconcile/check-config.js';

/** The outcome of {@link validateRunbook}: errors refuse the runbook, warnings do not. */
export interface RunbookValidation {
  errors: DocumentProblem[];
  warnings: DocumentProblem[];
}

/**
 * Comparisons that the "did you mean" hints of one validation may make. Thousands of unknown
 * names against thousands of step ids would otherwise take minutes (every name against every
 * id); past the budget, messages simply come without a hint.
 */
const HINT_COMPARISONS = 200_000;

/** `; did you mean \`x\`?` when a candidate is close, else the given fallback. */
function hint(word: string, candidates: Iterable<string>, fallback: string, budget?: HintBudget): string {
  const match = closestMatch(word, candidates, budget);
  return match === undefined ? fallback : `; did you mean \`${match}\`?`;
}

/** `a`, `a and b`, `a, b and 2 more`. */
function listOf(items: readonly string[], max = 3): string {
  if (items.length <= 1) return items.join('');
  if (items.length > max) return `${items.slice(0, max - 1).join(', ')} and ${items.length - max + 1} more`;
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

interface StepAt {
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

function runnables(at: StepAt): { what: Action | Check; path: ProblemPath; label: string }[] {
  const found: { what: Action | Check; path: ProblemPath; label: string }[] = [];
  const { step, path } = at;
  if (step.action) found.push({ what: step.action, path: [...path, 'action'], label: `the action of step \`${step.id}\`` });
  step.checks.forEach((check, i) => {
    found.push({ what: check, path: [...path, 'checks', i], label: `check \`${check.name}\` of step \`${step.id}\`` });
  });
  if (step.backout) found.push({ what: step.backout, path: [...path, 'backout'], label: `the back-out of step \`${step.id}\`` });
  return found;
}

function allSteps(runbook: Runbook): StepAt[] {
  const steps: StepAt[] = [];
  runbook.phases.forEach((phase, phaseIndex) => {
    phase.steps.forEach((step, stepIndex) => {
      steps.push({ step, phaseIndex, stepIndex, path: ['phases', phaseIndex, 'steps', stepIndex] });
    });
  });
  return steps;
}

/**
 * Checks the rules that need the whole runbook. The runbook must already have passed
 * `runbookSchema` (defaults applied). Returns every problem found, in document order.
 */
export function validateRunbook(runbook: Runbook): RunbookValidation {
  const errors: DocumentProblem[] = [];
  const warnings: DocumentProblem[] = [];
  const steps = allSteps(runbook);
  const roleNames = Object.keys(runbook.roles);
  const definedRoles = new Set(roleNames);
  /** Who needs each role, to say why a role without people is a problem. */
  const roleNeeds = new Map<string, string[]>();
  const need = (role: string, who: string): void => {
    const list = roleNeeds.get(role);
    if (list) list.push(who);
    else roleNeeds.set(role, [who]);
  };

  const budget: HintBudget = { left: HINT_COMPARISONS };
  const undefinedRole = (what: string, role: string): string =>
    `${what} \`${role}\` is not defined in \`roles\`` + hint(role, roleNames, '; add it to `roles` with the people who hold it', budget);

  if (definedRoles.has(runbook.lead)) need(runbook.lead, 'the `lead`');
  else errors.push({ path: ['lead'], message: undefinedRole('lead role', runbook.lead) });

  // Ids. The first use of an id is the step the graph knows; later ones are the duplicates.
  const firstPhase = new Map<string, number>();
  runbook.phases.forEach((phase, i) => {
    const first = firstPhase.get(phase.id);
    if (first === undefined) firstPhase.set(phase.id, i);
    else {
      errors.push({
        path: ['phases', i, 'id'],
        message: `duplicate phase id \`${phase.id}\`: an earlier phase already uses it; give each phase its own id`,
      });
    }
  });
  const stepById = new Map<string, StepAt>();
  for (const at of steps) {
    const first = stepById.get(at.step.id);
    if (first === undefined) stepById.set(at.step.id, at);
    else {
      const where = runbook.phases[first.phaseIndex]!.id;
      errors.push({
        path: [...at.path, 'id'],
        message: `duplicate step id \`${at.step.id}\`: phase \`${where}\` already has a step with this id; step ids must be unique across the runbook, so rename one`,
      });
    }
  }
  const stepIds = [...stepById.keys()];

  // Dependencies that can be ordered: known steps in this or an earlier phase. The others are
  // reported here and left out of the cycle search, so one mistake gives one message.
  const orderable: Record<string, string[]> = {};
  for (const at of steps) {
    const { step } = at;
    const own = stepById.get(step.id) === at;
    const deps: string[] = [];
    step.depends_on.forEach((dep, k) => {
      const path = [...at.path, 'depends_on', k];
      const target = stepById.get(dep);
      if (target === undefined) {
        errors.push({
          path,
          message:
            `\`depends_on\` names unknown step \`${dep}\`` +
            hint(dep, stepIds, '; use the id of a step in this or an earlier phase', budget),
        });
      } else if (target.phaseIndex > at.phaseIndex) {
        const later = runbook.phases[target.phaseIndex]!.id;
        errors.push({
          path,
          message: `step \`${step.id}\` depends on \`${dep}\` of the later phase \`${later}\`, but phases run in order; move one of the two steps or drop this dependency`,
        });
      } else if (own) {
        deps.push(dep);
      }
    });
    if (own) orderable[step.id] = deps;
  }
  for (const cycle of findCycles(orderable)) {
    const [first, second] = [cycle[0]!, cycle[1] ?? cycle[0]!];
    const at = stepById.get(first)!;
    const k = at.step.depends_on.indexOf(second);
    errors.push({
      path: [...at.path, 'depends_on', k],
      message: `dependency cycle ${[...cycle, first].join(' -> ')}: each step waits for the next, so none can start; remove one of these dependencies`,
    });
  }

  // Steps.
  for (const at of steps) {
    const { step, path } = at;
    if (definedRoles.has(step.owner)) need(step.owner, `step \`${step.id}\``);
    else errors.push({ path: [...path, 'owner'], message: undefinedRole('owner role', step.owner) });

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
          message: `there is no phase \`${phase}\`` + hint(phase, phases, `; phases: ${phases.join(', ')}`, budget),
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
        if (definedRoles.has(role)) need(role, `gate \`${step.id}\``);
        else errors.push({ path: [...path, 'gate', 'approvers', k], message: undefinedRole('approver role', role) });
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
        errors.push(...reconcileProblems(what, partPath, runbook.connections, budget));
      } else if (what.kind === 'http' && what.expect?.body_matches !== undefined && regExpError(what.expect.body_matches)) {
        errors.push({
          path: [...partPath, 'expect', 'body_matches'],
          message: `\`body_matches\` is not a valid regular expression (${regExpError(what.expect.body_matches)}); fix the pattern or use \`body_contains\` for plain text`,
        });
      } else if (what.kind === 'sql') {
        const problem = connectionProblem(what.connection, runbook.connections, budget);
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

  const named = new Set(Object.values(runbook.roles).flat());
  for (const person of Object.keys(runbook.people)) {
    if (!named.has(person)) {
      errors.push({
        path: ['people', person],
        target: 'key',
        message:
          `${person} has a key under \`people\` but holds no role; add them to \`roles\` or remove the key` +
          hint(person, [...named], '', budget),
      });
    }
  }

  for (const [name, connection] of Object.entries(runbook.connections)) {
    if (connection.driver === 'csv') errors.push(...checkCsvSpec(connection, ['connections', name]));
    const field = connection.driver === 'postgres' ? 'url' : 'path';
    const text = connection.driver === 'postgres' ? connection.url : connection.path;
    for (const problem of findReferences(text).problems) errors.push({ path: ['connections', name, field], message: problem });
    if (connection.driver === 'postgres' && !/^postgres(ql)?:\/\/[^/?#]/i.test(connection.url)) {
      errors.push({
        path: ['connections', name, 'url'],
        message: 'expected a postgres:// or postgresql:// URL, e.g. postgres://app:${env:APP_DB_PASSWORD}@db.internal:5432/crm',
      });
    }
  }

  // Phases.
  runbook.phases.forEach((phase, i) => {
    if (phase.kind === 'go_no_go' && !phase.steps.some((step) => step.gate)) {
      errors.push({
        path: ['phases', i, 'kind'],
        message: `go_no_go phase \`${phase.id}\` has no gate step; add a step with a \`gate\` so the approvers decide go or no-go`,
      });
    }
  });

  // Roles without people: an error where someone needs the role, a warning otherwise.
  for (const role of roleNames) {
    if (runbook.roles[role]!.length > 0) continue;
    const needs = roleNeeds.get(role);
    if (needs) {
      errors.push({
        path: ['roles', role],
        target: 'key',
        message: `role \`${role}\` has no people but ${listOf(needs)} ${needs.length === 1 ? 'needs' : 'need'} it; list who holds it, such as \`${role}: [alice]\``,
      });
    } else {
      warnings.push({
        path: ['roles', role],
        target: 'key',
        message: `role \`${role}\` has no people and nothing uses it; list who holds it or remove it`,
      });
    }
  }

  // The window, when the graph has a plan at all. The plan orders the graph with the phase
  // barriers, so a dependency on a later phase (reported above, left out of `orderable`) is a
  // cycle there even when `orderable` has none.
  if (runbook.window && Object.keys(orderable).length > 0 && findCycles(effectiveDependencies(runbook)).length === 0) {
    const windowMs = parseDuration(runbook.window.length);
    const { criticalPathMs } = plannedSchedule(runbook);
    if (windowMs !== undefined && criticalPathMs > windowMs) {
      warnings.push({
        path: ['window', 'length'],
        message: `the planned critical path takes ${formatDuration(criticalPathMs)} but the window is only ${formatDuration(windowMs)}; run more steps in parallel, shorten them, or ask for a longer window`,
      });
    }
  }

  return { errors, warnings };
}

/**
 * Why a runbook may not run live: every action, check and back-out of kind `simulate`. A
 * simulated step only pretends, so a live cutover with one would report work that never
 * happened; the CLI refuses `--live` while this list is not empty.
 */
export function liveRunProblems(runbook: Runbook): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  for (const at of allSteps(runbook)) {
    for (const { what, path, label } of runnables(at)) {
      if (what.kind === 'simulate') {
        problems.push({
          path: [...path, 'kind'],
          message: `${label} is simulated; replace it with a real action before a live run`,
        });
      }
    }
  }
  // A live run takes only signed requests: everyone who may have to answer needs a key.
  const needKeys = new Map<string, { what: string; path: ProblemPath }>();
  const need = (people: readonly string[], what: string, path: ProblemPath) => {
    for (const person of people) if (!runbook.people[person] && !needKeys.has(person)) needKeys.set(person, { what, path });
  };
  need(runbook.roles[runbook.lead] ?? [], `the lead (${runbook.lead}), who backs out and resolves`, ['lead']);
  for (const at of allSteps(runbook)) {
    const { step, path } = at;
    if (step.gate) {
      const voters = step.gate.approvers.flatMap((role) => runbook.roles[role] ?? []);
      need(voters, `an approver of gate \`${step.id}\``, [...path, 'gate', 'approvers']);
    }
    if (step.action?.kind === 'manual' || step.backout?.kind === 'manual') {
      need(runbook.roles[step.owner] ?? [], `an owner of manual step \`${step.id}\``, [...path, 'owner']);
    }
  }
  for (const [person, { what, path }] of needKeys) {
    problems.push({
      path,
      message: `${person} is ${what}, and a live run takes only signed requests, but \`people\` lists no key for ${person}; they run \`cutover keys init\`, and the key \`cutover keys show\` prints goes under \`people\``,
    });
  }
  return problems;
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
