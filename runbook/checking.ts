/**
 * What the rules of one runbook validation share (validate.ts, validate-steps.ts): the problems found so far, the
 * roles and who needs them, and the words every rule uses (did-you-mean hints, lists). Pure.
 */
import { closestMatch, type HintBudget } from '../lib/closest-match.js';
import type { DocumentProblem } from '../lib/yaml-document/problems.js';
import type { Runbook } from './schema.js';

/**
 * Comparisons that the "did you mean" hints of one validation may make. Thousands of unknown
 * names against thousands of step ids would otherwise take minutes (every name against every
 * id); past the budget, messages simply come without a hint.
 */
export const HINT_COMPARISONS = 200_000;

/** `; did you mean \`x\`?` when a candidate is close, else the given fallback. */
export function hint(word: string, candidates: Iterable<string>, fallback: string, budget?: HintBudget): string {
  const match = closestMatch(word, candidates, budget);
  return match === undefined ? fallback : `; did you mean \`${match}\`?`;
}

/** `a`, `a and b`, `a, b and 2 more`. */
export function listOf(items: readonly string[], max = 3): string {
  if (items.length <= 1) return items.join('');
  if (items.length > max) return `${items.slice(0, max - 1).join(', ')} and ${items.length - max + 1} more`;
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** What the rules of one validation share: the runbook, what they found, and the hints' budget. */
export interface Checking {
  runbook: Runbook;
  errors: DocumentProblem[];
  warnings: DocumentProblem[];
  budget: HintBudget;
  roleNames: string[];
  definedRoles: Set<string>;
  /** Who needs each role, to say why a role without people is a problem. */
  roleNeeds: Map<string, string[]>;
}

/** Notes that `who` needs `role` (a role without people is then an error, not a warning). */
export function need(c: Checking, role: string, who: string): void {
  const list = c.roleNeeds.get(role);
  if (list) list.push(who);
  else c.roleNeeds.set(role, [who]);
}

/** "owner role `x` is not defined in `roles`", with a did-you-mean. */
export function undefinedRole(c: Checking, what: string, role: string): string {
  return (
    `${what} \`${role}\` is not defined in \`roles\`` + hint(role, c.roleNames, '; add it to `roles` with the people who hold it', c.budget)
  );
}
