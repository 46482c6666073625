/**
 * A runbook's version hash: SHA-256 of its validated content in canonical JSON (same meaning, same hash). The CLI
 * reserves a run with it, Temporal holds it in the run's input, and the workflow checks the runbook text it reads
 * from the record store against it before it uses it (issue 17): write access to the store must not become code
 * execution on every worker. Runs reserved before the full hash carry its first 16 hex digits (64 bits), which are
 * still checked as such. Pure: the workflow bundles it.
 */
import type { Runbook } from '../runbook/schema.js';
import { sha256Hex } from './digest.js';
import { canonicalJson } from './signed-request.js';

/** How many hex digits the hash of runs reserved before the full hash has. */
const SHORT_HASH = 16;

/** The version hash of `runbook`: SHA-256, 64 hex digits. */
export function hashRunbook(runbook: Runbook): string {
  return sha256Hex(canonicalJson(runbook));
}

/** The hash as people read it: its first 16 hex digits (what older versions stored whole). */
export function shortHash(versionHash: string): string {
  return versionHash.slice(0, SHORT_HASH);
}

/** Whether two version hashes name the same version, one of them perhaps in the short form of older runs. */
export function sameVersion(a: string, b: string): boolean {
  return a === b || ((a.length === SHORT_HASH || b.length === SHORT_HASH) && shortHash(a) === shortHash(b));
}

/**
 * Why `runbook` is not the version `expected` names (a full hash must match whole, a short one its 16 digits), or
 * undefined when it is.
 */
export function runbookMismatch(runbook: Runbook, expected: string): string | undefined {
  const actual = hashRunbook(runbook);
  const matches = expected.length === SHORT_HASH ? shortHash(actual) === expected : actual === expected;
  return matches ? undefined : `hashes to ${expected.length === SHORT_HASH ? shortHash(actual) : actual}, not to ${expected}`;
}
