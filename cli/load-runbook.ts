/**
 * Reads a runbook file and validates it, or explains every problem with file:line:column.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatProblem, type Problem } from '../lib/yaml-document/problems.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import { hashRunbook } from '../run/version-hash.js';
import { InvalidRunbookError, UsageError } from './errors.js';

export interface LoadedRunbook {
  /** Absolute path of the file. */
  file: string;
  /** Directory relative paths in the runbook are resolved from. */
  baseDir: string;
  source: string;
  runbook: Runbook;
  /** Identifies this version of the runbook's content (comments and layout do not count). */
  versionHash: string;
  warnings: Problem[];
}

/** Reads `file`; throws {@link InvalidRunbookError} listing every problem. */
export function loadRunbook(file: string): LoadedRunbook {
  const absolute = path.resolve(file);
  let source: string;
  try {
    if (statSync(absolute).isDirectory()) throw new UsageError(`${file} is a directory; give the runbook's YAML file`);
    source = readFileSync(absolute, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `runbook file ${file} does not exist` : `cannot read runbook file ${file} (${code ?? (err as Error).message})`,
    );
  }
  const shown = path.relative(process.cwd(), absolute) || absolute;
  const parsed = parseRunbook(source, shown);
  if (!parsed.ok) throw new InvalidRunbookError(shown, parsed.problems.map(formatProblem), parsed.problems);
  return {
    file: absolute,
    baseDir: path.dirname(absolute),
    source,
    runbook: parsed.runbook,
    versionHash: hashRunbook(parsed.runbook),
    warnings: parsed.warnings,
  };
}

/** The version hash (run/version-hash.ts), here for the tests and benchmarks that import it from the CLI. */
export { hashRunbook };
