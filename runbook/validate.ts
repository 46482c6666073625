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
import type { Runbook } from './schema.js';
import { formatDuration, parseDuration } from './duration.js';
import { effectiveDependencies, findCycles, plannedSchedule } from './graph.js';
import type { DocumentProblem, ProblemPath } from '../lib/yaml-document/problems.js';
import { findReferences } from './secret-refs.js';
import { checkCsvSpec } from '../reconcile/check-config.js';

import { hint, HINT_COMPARISONS, listOf, need, undefinedRole, type Checking } from './checking.js';
import { allSteps, checkStep, runnables, type StepAt } from './validate-steps.js';
import { checkNotifications } from './validate-notifications.js';
import { checkAcknowledgements } from './validate-rota.js';
import { checkHypercare, postGoLiveOwnerProblems } from './validate-hypercare.js';

/** The outcome of {@link validateRunbook}: errors refuse the runbook, warnings do not. */
export interface RunbookValidation {
  errors: DocumentProblem[];
  warnings: DocumentProblem[];
}

/**
 * Checks the rules that need the whole runbook. The runbook must already have passed
 * `runbookSchema` (defaults applied). Returns every problem found, in document order.
 */
export function validateRunbook(runbook: Runbook): RunbookValidation {
  const roleNames = Object.keys(runbook.roles);
  const c: Checking = {
    runbook,
    errors: [],
    warnings: [],
    budget: { left: HINT_COMPARISONS },
    roleNames,
    definedRoles: new Set(roleNames),
    roleNeeds: new Map(),
  };
  if (c.definedRoles.has(runbook.lead)) need(c, runbook.lead, 'the `lead`');
  else c.errors.push({ path: ['lead'], message: undefinedRole(c, 'lead role', runbook.lead) });
  const steps = allSteps(runbook);
  const stepById = checkIds(c, steps);
  const orderable = checkDependencies(c, steps, stepById);
  for (const at of steps) checkStep(c, at);
  checkHypercare(c);
  checkPeople(c);
  checkConnections(c);
  checkPhases(c);
  checkRoles(c);
  checkWindow(c, orderable);
  checkFixedStarts(c, steps);
  checkNotifications(c);
  checkAcknowledgements(c);
  return { errors: c.errors, warnings: c.warnings };
}

/** Unique phase and step ids; returns each step id's first use, the step the graph knows. */
function checkIds(c: Checking, steps: readonly StepAt[]): Map<string, StepAt> {
  const { runbook, errors } = c;
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
  return stepById;
}

/**
 * Dependencies that can be ordered: known steps in this or an earlier phase. The others are reported here and left
 * out of the cycle search, so one mistake gives one message. Returns the orderable graph.
 */
function checkDependencies(c: Checking, steps: readonly StepAt[], stepById: ReadonlyMap<string, StepAt>): Record<string, string[]> {
  const { runbook, errors, budget } = c;
  const stepIds = [...stepById.keys()];
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

  return orderable;
}

/** Everyone with a key under `people` holds a role (people listed only for their addresses need none). */
function checkPeople(c: Checking): void {
  const { runbook, errors, budget } = c;
  const named = new Set(Object.values(runbook.roles).flat());
  for (const [person, entry] of Object.entries(runbook.people)) {
    if ((entry.key !== undefined || entry.passkey !== undefined) && !named.has(person)) {
      errors.push({
        path: ['people', person],
        target: 'key',
        message:
          `${person} has a key under \`people\` but holds no role; add them to \`roles\` or remove the key` +
          hint(person, [...named], '', budget),
      });
    }
  }
}

/** Connections: CSV settings, secret references and PostgreSQL URLs. */
function checkConnections(c: Checking): void {
  const { runbook, errors } = c;
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
}

/** A go/no-go phase has a gate. */
function checkPhases(c: Checking): void {
  const { runbook, errors } = c;
  runbook.phases.forEach((phase, i) => {
    if (phase.kind === 'go_no_go' && !phase.steps.some((step) => step.gate)) {
      errors.push({
        path: ['phases', i, 'kind'],
        message: `go_no_go phase \`${phase.id}\` has no gate step; add a step with a \`gate\` so the approvers decide go or no-go`,
      });
    }
  });
}

/** Roles without people: an error where someone needs the role, a warning otherwise. */
function checkRoles(c: Checking): void {
  const { runbook, errors, warnings, roleNames, roleNeeds } = c;
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
}

/**
 * The window, when the graph has a plan at all. The plan orders the graph with the phase barriers, so a dependency on
 * a later phase (reported in checkDependencies, left out of `orderable`) is a cycle there even when `orderable` has
 * none.
 */
function checkWindow(c: Checking, orderable: Record<string, string[]>): void {
  const { runbook, warnings } = c;
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
}

/**
 * Fixed starts and the windows they are measured in: a time needs the window's start (a rehearsal moves it by the
 * distance from there), and every period ends after it begins.
 */
function checkFixedStarts(c: Checking, steps: readonly StepAt[]): void {
  const { runbook, errors } = c;
  const hasStart = runbook.window?.start !== undefined;
  for (const at of steps) {
    const notBefore = at.step.not_before;
    if (notBefore !== undefined && !notBefore.startsWith('+') && !hasStart) {
      errors.push({
        path: [...at.path, 'not_before'],
        message: `\`not_before: ${notBefore}\` is a time, which needs \`window.start\` (a rehearsal moves it by its distance from there); add \`start\` to \`window\`, or write it as +DURATION after the window starts`,
      });
    }
  }
  const periods: [ProblemPath, { start: string; end: string }][] = [
    ...(runbook.change_window ? [[['change_window'], runbook.change_window] as [ProblemPath, { start: string; end: string }]] : []),
    ...(runbook.freeze_windows ?? []).map((f, i) => [['freeze_windows', i], f] as [ProblemPath, { start: string; end: string }]),
  ];
  for (const [path, { start, end }] of periods) {
    if (Date.parse(end) <= Date.parse(start))
      errors.push({ path: [...path, 'end'], message: `\`end: ${end}\` is not after \`start: ${start}\`; a period ends after it begins` });
  }
  if ((runbook.freeze_windows ?? []).length > 0 && !hasStart) {
    errors.push({
      path: ['freeze_windows'],
      target: 'key',
      message:
        '`freeze_windows` needs `window.start`: a rehearsal moves each freeze by its distance from the window start; add `start` to `window`',
    });
  }
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
    for (const person of people) if (!hasKey(runbook.people[person]) && !needKeys.has(person)) needKeys.set(person, { what, path });
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
  // The run goes on into hypercare: every interface, system and KPI needs its owner after go-live.
  problems.push(...postGoLiveOwnerProblems(runbook));
  for (const [person, { what, path }] of needKeys) {
    problems.push({
      path,
      message: `${person} is ${what}, and a live run takes only signed requests, but \`people\` lists no key for ${person}; they run \`cutover keys init\`, and the key \`cutover keys show\` prints goes under \`people\``,
    });
  }
  return problems;
}

/** Whether a person can sign: the runbook lists an Ed25519 key or a passkey for them. */
function hasKey(entry: { key?: string; passkey?: string } | undefined): boolean {
  return entry?.key !== undefined || entry?.passkey !== undefined;
}
