/**
 * The decision log as a hash chain: each entry's `hash` is the SHA-256 of the previous entry's
 * hash and this entry (its position and every field but the hash, as canonical JSON), so an
 * entry changed, removed or reordered afterwards breaks the chain from there on; a signed entry
 * also carries the person's signature of their request. Pure: the hash and the signature check
 * come from the caller (Node's crypto in the worker's activity and in `cutover decisions --verify`).
 */
import type { Decision } from './state.js';
import { canonicalJson, OVERRIDE_TARGET, signedText, type SignedKind } from './signed-request.js';

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
  keys: Readonly<Record<string, { key?: string }>>,
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
      else {
        const shown = shownButNotSigned(entry);
        if (shown) problems.push(`${name} shows ${shown}: its signature does not cover that`);
      }
    }
  });
  return problems;
}

/** Text, or undefined for absent, null or blank: how the log stores an optional field. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * What a signed entry shows that the request its signature covers does not say, or undefined.
 * The chain has no secret: someone who can write the store can change an entry and hash the chain
 * again. Only the signature ties an entry to its signer, so the fields a reader takes as the
 * person's (the gate or step, the reason, the evidence, `automatic`) must be the ones they signed,
 * as the run derives them from the request. The role is the runbook's, not the signer's claim.
 */
function shownButNotSigned(entry: Decision): string | undefined {
  const request = entry.request as Record<string, unknown>;
  const step = text(request.gateId) ?? text(request.stepId);
  const targets: (string | undefined)[] =
    entry.kind === 'approve' || entry.kind === 'reject'
      ? [text(request.gateId)]
      : entry.kind === 'complete_manual'
        ? [step, `${step} (back-out)`]
        : entry.kind === 'resolve'
          ? [`${step}: ${String(request.action)}`, `${step}: ${String(request.action)} (back-out)`]
          : entry.kind === 'override'
            ? [OVERRIDE_TARGET]
            : [undefined];
  if (!targets.includes(text(entry.target))) return `the target ${JSON.stringify(entry.target ?? null)}`;
  if (text(entry.reason) !== text(request.reason)) return `the reason ${JSON.stringify(entry.reason ?? null)}`;
  if (text(entry.evidence) !== text(request.evidence)) return `the evidence ${JSON.stringify(entry.evidence ?? null)}`;
  // Only votes and manual completions carry `automatic`; the run logs the others as a person's.
  const automatic = ['approve', 'reject', 'complete_manual'].includes(entry.kind) && request.automatic === true;
  if (entry.automatic !== automatic) return `automatic: ${String(entry.automatic)}`;
  return undefined;
}

/**
 * Where the stored log disagrees with the run's own copy (its state in Temporal), one sentence each. The chain alone
 * cannot show that its last entries were removed (what is left still holds), nor an unsigned entry changed and the
 * chain hashed again (it has no secret); the run's copy, out of reach of whoever writes the store, can. Entries the
 * run has not hashed yet (the hash follows the answer) are compared by position only.
 */
export function compareWithRun(stored: readonly Pick<Decision, 'hash'>[], inRun: readonly Pick<Decision, 'hash'>[]): string[] {
  const problems: string[] = [];
  if (stored.length < inRun.length) {
    const missing =
      inRun.length - stored.length === 1 ? `entry ${stored.length} is` : `entries ${stored.length} to ${inRun.length - 1} are`;
    problems.push(
      `the run in Temporal has ${inRun.length} entries and the record store ${stored.length}: ${missing} missing from the store`,
    );
  } else if (stored.length > inRun.length) {
    problems.push(
      `the record store has ${stored.length} entries but the run in Temporal only ${inRun.length}: entries were added to the store`,
    );
  }
  const common = Math.min(stored.length, inRun.length);
  for (let i = 0; i < common; i += 1) {
    const ours = stored[i]!.hash;
    const theirs = inRun[i]!.hash;
    if (ours !== undefined && theirs !== undefined && ours !== theirs) {
      problems.push(`entry ${i} differs from the run's own copy in Temporal: the stored log was changed from there on`);
      break;
    }
  }
  return problems;
}
