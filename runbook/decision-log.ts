/**
 * The decision log as a hash chain: each entry's `hash` is the SHA-256 of the previous entry's
 * hash and this entry (its position and every field but the hash, as canonical JSON), so an
 * entry changed, removed or reordered afterwards breaks the chain from there on; a signed entry
 * also carries the person's signature of their request. Pure: the hash and the signature check
 * come from the caller (Node's crypto in the worker's activity and in `cutover decisions --verify`).
 */
import type { Decision } from './run-state.js';
import { canonicalJson, signedText, type SignedKind } from './signed-request.js';

/** The text an entry's hash is taken of. */
export function chainedText(previousHash: string, seq: number, decision: Decision): string {
  const entry = Object.fromEntries(Object.entries(decision).filter(([key]) => key !== 'hash' && key !== 'seq'));
  return `${previousHash}\n${canonicalJson({ ...entry, seq })}`;
}

/** What checking a log needs from a crypto library. */
export interface LogCrypto {
  sha256(text: string): string;
  /** True when `value` (base64) is `key`'s signature of `text`. */
  verify(text: string, key: string, value: string): boolean;
}

/**
 * Every problem with a run's decision log, one sentence each, naming the entry: a gap in the
 * sequence (an entry removed), a hash that does not follow from the entries before it (an entry
 * changed or reordered), a signature that does not match its request or is not by the key the
 * runbook lists for the person. Empty when the log holds.
 */
export function verifyDecisionLog(
  runId: string,
  entries: readonly (Decision & { seq: number })[],
  keys: Readonly<Record<string, { key: string }>>,
  crypto: LogCrypto,
): string[] {
  const problems: string[] = [];
  let previous = '';
  entries.forEach((entry, i) => {
    const name = `entry ${entry.seq} (${entry.kind.replace('_', ' ')} by ${entry.by}${entry.target ? ` on ${entry.target}` : ''})`;
    if (entry.seq !== i) problems.push(`entry ${i} is missing: the log goes from ${i - 1} to ${entry.seq}`);
    if (entry.hash === undefined) {
      problems.push(`${name} has no hash: it was not recorded by a run that chains its log`);
    } else {
      const expected = crypto.sha256(chainedText(previous, entry.seq, entry));
      if (expected !== entry.hash)
        problems.push(`${name} does not match its hash: it, or an entry before it, was changed, removed or reordered`);
    }
    previous = entry.hash ?? '';
    if (entry.signature) {
      const listed = keys[entry.by]?.key;
      const text = signedText(runId, entry.kind as SignedKind, entry.request ?? {}, entry.signature.at, entry.signature.nonce);
      if (listed !== entry.signature.key) problems.push(`${name} is signed with a key the runbook does not list for ${entry.by}`);
      else if (!crypto.verify(text, entry.signature.key, entry.signature.value))
        problems.push(`${name} does not match its signature: its request was changed`);
      else if (entry.request?.by !== entry.by) problems.push(`${name} was signed by ${String(entry.request?.by)}, not ${entry.by}`);
    }
  });
  return problems;
}
