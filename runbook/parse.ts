/**
 * Reads a runbook file: YAML, then the schema, then the semantic rules of `validate.ts`, and
 * turns every problem found on the way into `file:line:column path: message`.
 *
 * All problems are reported at once, sorted by position, so a lead fixes a file in one pass.
 * Stages stop at the first one that fails: schema problems are only meaningful on well-formed
 * YAML, and semantic rules only on a document of the right shape.
 *
 * No Node built-ins: the text comes in as a string, so any side may parse a runbook.
 */
import { sortProblems, type DocumentProblem, type Problem } from '../lib/yaml-document/problems.js';
import { locateProblems, parseYamlDocument } from '../lib/yaml-document/read.js';
import { runbookSchema, type Runbook } from './schema.js';
import { validateRunbook } from './validate.js';

/** The outcome of {@link parseRunbook}. Warnings never stop a run; problems do. */
export type ParseResult = { ok: true; runbook: Runbook; warnings: Problem[] } | { ok: false; problems: Problem[]; warnings: Problem[] };

/**
 * Parses and validates a runbook file's text. `file` is only used in the problems, so they read
 * `file:line:column`. Never throws: a file beyond `YAML_LIMITS` (lib/yaml-document/source.ts) (size, nesting, alias
 * repetition) is refused with one located problem that names the limit.
 */
export function parseRunbook(text: string, file: string): ParseResult {
  const read = parseYamlDocument(text, file, { schema: runbookSchema, expected: RUNBOOK_EXPECTED });
  if (!read.ok) return read;
  const validation = validateRunbook(read.data);
  const semanticWarnings = read.locate(validation.warnings);
  const allWarnings = sortProblems([...read.warnings, ...semanticWarnings]);
  if (validation.errors.length > 0) {
    return { ok: false, problems: read.locate(validation.errors), warnings: allWarnings };
  }
  return { ok: true, runbook: read.data, warnings: allWarnings };
}

const RUNBOOK_EXPECTED = 'a runbook must be a YAML mapping with `name`, `version`, `lead`, `roles` and `phases`';

/**
 * Locates problems found on a parsed runbook (such as `liveRunProblems`) in the file's text, for
 * messages in the same `file:line:column` form as {@link parseRunbook}'s.
 */
export function locateRunbookProblems(text: string, file: string, problems: readonly DocumentProblem[]): Problem[] {
  return locateProblems(text, file, problems);
}
