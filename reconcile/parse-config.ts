/**
 * Reads a reconciliation config file: YAML and the schema through the runbook parser's own
 * stages (same limits, same `file:line:column path: message` problems), then the rules that need
 * the whole config. Pure: the text comes in as a string.
 */
import type { Problem } from '../lib/yaml-document/problems.js';
import { parseYamlDocument } from '../lib/yaml-document/read.js';
import { checkConfig } from './check-config.js';
import { reconcileConfig, type ReconcileConfig } from './config.js';

/** The outcome of {@link parseReconcileConfig}. */
export type ConfigParseResult = { ok: true; config: ReconcileConfig; warnings: Problem[] } | { ok: false; problems: Problem[] };

const EXPECTED = 'a reconciliation config must be a YAML mapping with `source`, `target` and `key`';

/** Parses and checks a config file's text; `file` is only used in the problems. Never throws. */
export function parseReconcileConfig(text: string, file: string): ConfigParseResult {
  const read = parseYamlDocument(text, file, { schema: reconcileConfig, expected: EXPECTED });
  if (!read.ok) return { ok: false, problems: read.problems };
  const problems = checkConfig(read.data);
  if (problems.length > 0) return { ok: false, problems: read.locate(problems) };
  return { ok: true, config: read.data, warnings: read.warnings };
}
