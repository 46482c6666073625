/**
 * Reads any YAML file cutover takes (a runbook, a reconciliation config): the same limits, the same located
 * `file:line:column` problems, the same wording of schema problems. Never throws. Pure: the text comes in as a
 * string.
 */
import type { z } from 'zod';
import { dedupe, sortProblems, type DocumentProblem, type Problem } from './problems.js';
import { DEFAULT_MESSAGE, describeIssue, dropExplainedMissing, type IssueContext } from './schema-issues.js';
import { sizeProblem, Source } from './source.js';

/** What {@link parseYamlDocument} reads a file as. */
export interface YamlDocumentShape<T> {
  /** The zod schema the document must satisfy; its field names feed the "did you mean" hints. */
  schema: z.ZodType<T>;
  /** Said when the file is empty or not a mapping: "a NAME must be a YAML mapping with ...". */
  expected: string;
}

/**
 * The outcome of {@link parseYamlDocument}. `locate` turns problems found later on the data (by
 * path) into located, sorted problems of the same file.
 */
export type YamlDocumentResult<T> =
  | { ok: true; data: T; warnings: Problem[]; locate: (problems: readonly DocumentProblem[]) => Problem[] }
  | { ok: false; problems: Problem[]; warnings: Problem[] };

/**
 * The YAML and schema stages for any YAML file cutover reads (a runbook, a
 * reconciliation config): the same limits, the same located `file:line:column` problems, the same
 * wording of schema problems. Never throws.
 */
export function parseYamlDocument<T>(text: string, file: string, shape: YamlDocumentShape<T>): YamlDocumentResult<T> {
  const tooBig = sizeProblem(text, file);
  if (tooBig) return { ok: false, problems: [tooBig], warnings: [] };
  const source = new Source(text, file);
  if (source.tooDeep) return { ok: false, problems: [source.tooDeep], warnings: [] };
  const warnings = source.doc.warnings.map((warning) => source.yamlProblem(warning));

  const syntaxProblems = [...source.doc.errors.map((e) => source.yamlProblem(e)), ...source.duplicateKeys()];
  if (syntaxProblems.length > 0) return { ok: false, problems: sortProblems(syntaxProblems), warnings };
  const shapeProblems = source.nodeProblems();
  if (shapeProblems.length > 0) return { ok: false, problems: sortProblems(shapeProblems), warnings };
  // Aliases were checked above (known, not recursive, not a bomb), so yaml's own alias count,
  // which also refuses a file whose hundred steps share one `<<: *defaults`, is off.
  let data: unknown;
  try {
    data = source.doc.toJS({ maxAliasCount: -1 });
  } catch (error) {
    // Not expected after the checks above; should yaml find something else it cannot build,
    // the person still gets a located sentence rather than a stack trace.
    return { ok: false, problems: [source.at([], `invalid YAML: ${error instanceof Error ? error.message : String(error)}`)], warnings };
  }

  // Zod's own messages are replaced (see `describeIssue`); the marker tells them apart from the
  // messages the schema sets itself, which are kept.
  const parsed = shape.schema.safeParse(data, { error: () => DEFAULT_MESSAGE });
  if (!parsed.success) {
    const context: IssueContext = { root: shape.schema, expected: shape.expected };
    const findings = dropExplainedMissing(parsed.error.issues.flatMap((issue) => describeIssue(issue, [], data, context)));
    const problems = findings.map((finding) => source.at(finding.path, finding.message, finding.target));
    return { ok: false, problems: sortProblems(dedupe(problems)), warnings };
  }
  return { ok: true, data: parsed.data, warnings, locate: (problems) => sortProblems(locateIn(source, problems)) };
}

/** Locates problems found on a document's data (by path) in its text, in the same `file:line:column` form. */
export function locateProblems(text: string, file: string, problems: readonly DocumentProblem[]): Problem[] {
  return sortProblems(locateIn(new Source(text, file), problems));
}

function locateIn(source: Source, problems: readonly DocumentProblem[]): Problem[] {
  return problems.map((p) => source.at(p.path, p.message, p.target === 'key' ? 'key' : 'value'));
}
