/**
 * A runbook built from a plan as YAML a person reads and edits: one step a block, its short parts (dependencies, the
 * action, the gate, a role's people, the window) on one line each, as the runbooks in the docs are written.
 */
import { Document, isMap, isScalar, isSeq, visit } from 'yaml';

/** Keys whose value is written on one line. */
const FLOW_KEYS = new Set(['depends_on', 'action', 'backout', 'gate', 'window', 'change_window']);

/** The YAML text of `runbook`, with `comment` (one or more lines) at the top. */
export function runbookYaml(runbook: Record<string, unknown>, comment: string): string {
  const doc = new Document(runbook);
  doc.commentBefore = comment
    .split('\n')
    .map((line) => ` ${line}`)
    .join('\n');
  flowShortParts(doc);
  return doc.toString({ lineWidth: 0 });
}

/** Puts the short parts of a document (see {@link FLOW_KEYS}, a role's people) on one line each. */
export function flowShortParts(doc: Document): void {
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && FLOW_KEYS.has(String(pair.key.value)) && (isMap(pair.value) || isSeq(pair.value))) pair.value.flow = true;
    },
  });
  const roles = doc.get('roles', true);
  if (isMap(roles)) for (const pair of roles.items) if (isSeq(pair.value)) pair.value.flow = true;
}
