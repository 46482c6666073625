/**
 * `cutover validate FILE [--json]` and `cutover schema`: a runbook checked, every problem with file:line:column, and
 * the runbook format as JSON Schema for editors.
 */
import { formatProblem } from '../lib/yaml-document/problems.js';
import { runbookJsonSchema } from '../runbook/json-schema.js';
import { EXIT, InvalidRunbookError } from './errors.js';
import { loadRunbook } from './load-runbook.js';
import type { Output } from './output.js';
import { shortHash } from '../run/version-hash.js';

/** `cutover validate FILE [--json]` */
export function validateRunbook(file: string, json: boolean, out: Output): number {
  if (!json) {
    const loaded = loadRunbook(file);
    for (const warning of loaded.warnings) out.warn(`warning: ${formatProblem(warning)}`);
    const steps = loaded.runbook.phases.reduce((n, p) => n + p.steps.length, 0);
    out.line(
      `${file}: valid — ${loaded.runbook.name} v${loaded.runbook.version}, ${loaded.runbook.phases.length} phases, ${steps} steps (${shortHash(loaded.versionHash)})`,
    );
    return EXIT.ok;
  }
  // JSON: the same problems, machine-readable, and the exit code still says valid or not.
  try {
    const loaded = loadRunbook(file);
    out.json({ file, valid: true, versionHash: loaded.versionHash, problems: [], warnings: loaded.warnings });
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof InvalidRunbookError)) throw err;
    out.json({ file, valid: false, problems: err.details, warnings: [] });
    return EXIT.invalidRunbook;
  }
}

/** `cutover schema`: the JSON Schema of the runbook format, for editors. */
export function schema(out: Output): number {
  out.json(runbookJsonSchema());
  return EXIT.ok;
}
