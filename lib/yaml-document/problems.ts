/**
 * Problems in a YAML document cutover reads (a runbook, a reconciliation config), located for people and editors:
 * `file:line:column path: message`. Pure.
 */

/** One problem in a YAML file, located for people and editors. */
export interface Problem {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Where in the document, like `phases[1].steps[0].owner`; empty for the file as a whole. */
  path: string;
  message: string;
}

/** A path into a document: mapping keys and list indexes. */
export type ProblemPath = (string | number)[];

/** One thing wrong (or worth a look) in a document, found on its data and located by its path. */
export interface DocumentProblem {
  path: ProblemPath;
  message: string;
  /**
   * `key`: point at the key of the last path segment (`checks:`) rather than at its value; for
   * problems about a field being there at all, or about a mapping entry such as a role.
   */
  target?: 'key';
}

/** `runbook.yaml:12:7 phases[0].steps[1].owner: message` (no path part for file-level problems). */
export function formatProblem(problem: Problem): string {
  const where = `${problem.file}:${problem.line}:${problem.column}`;
  return problem.path === '' ? `${where}: ${problem.message}` : `${where} ${problem.path}: ${problem.message}`;
}

/** Renders a document path the way people write it: `phases[1].steps[0].owner`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** Sorts problems by position; problems on one spot keep the order they were found in. */
export function sortProblems(problems: Problem[]): Problem[] {
  // Array.prototype.sort is stable: problems on one spot keep the order they were found in.
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

export function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
