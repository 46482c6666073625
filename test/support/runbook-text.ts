/**
 * Runbooks written inline in the validation tests, with their line numbers readable off the test's source, and the
 * problems and warnings `parseRunbook` finds in them, as people read them (`file:line:column path: message`).
 */
import { formatProblem } from '../../lib/yaml-document/problems.js';
import { parseRunbook } from '../../runbook/parse.js';

/** Strips the common indentation and the first newline, so line numbers read off the source. */
export function dedent(text: string): string {
  const lines = text
    .replace(/^\n/, '')
    .replace(/\n\s*$/, '\n')
    .split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** Lines 1-7 of most runbooks below; their `phases` start on line 8. */
export const HEAD = dedent(`
  name: demo
  version: 1
  lead: lead
  roles:
    lead: [ana]
    dba: [ben, ana]
  phases:
`);

export const withPhases = (phases: string): string => HEAD + dedent(phases).replace(/^/gm, '  ');

export function problemsOf(text: string): string[] {
  const result = parseRunbook(text, 'runbook.yaml');
  return result.ok ? [] : result.problems.map(formatProblem);
}

export function warningsOf(text: string): string[] {
  return parseRunbook(text, 'runbook.yaml').warnings.map(formatProblem);
}
