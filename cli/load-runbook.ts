/**
 * Reads a runbook file and validates it, or explains every problem with file:line:column.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatProblem, type Problem } from '../lib/yaml-document/problems.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
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

/** A short content hash of the validated runbook: same meaning, same hash. */
export function hashRunbook(runbook: Runbook): string {
  return runbookDigest(runbook).slice(0, 16);
}

/** The SHA-256 (hex) of the validated runbook's canonical JSON: {@link hashRunbook} is its start. */
export function runbookDigest(runbook: Runbook): string {
  return createHash('sha256').update(canonicalJson(runbook)).digest('hex');
}

/**
 * Whether `runbook` is the version a run recorded as `versionHash`: its digest, or the start of it (at least 64 bits,
 * the short form runs record).
 */
export function isRunbookVersion(runbook: Runbook, versionHash: string): boolean {
  return versionHash.length >= 16 && runbookDigest(runbook).startsWith(versionHash.toLowerCase());
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
