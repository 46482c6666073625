/**
 * A `refused` entry of the decision log as people read it. The run logs a refused signed request with the kind of
 * request in the entry's `role` (the requester's role is not known to be theirs: the request was refused), and since
 * the patch `refusal-claimed-key` the key its signature named and whether it verified. An auditor must tell a forged
 * request (a signature that did not verify: the key it names proves nothing) from a person's own request refused for
 * a rule, and neither from an unsigned one. Pure.
 */
import type { Decision } from '../run/state.js';
import { FORGED_OVERRIDE_REASON, FORGED_REQUEST_REASON } from '../run/signed-request.js';

/** The kind of request a refused entry was, in the words of the command that sends it. */
const REQUEST_WORDS: Record<string, string> = {
  approve: 'approve',
  reject: 'reject',
  complete_manual: 'done',
  request_backout: 'back-out',
  resolve: 'resolve',
  override: 'evidence override',
};

/** What a refused entry says. */
export interface RefusalView {
  /** The request refused, as its command names it: `approve`, `done`, `back-out`... */
  request: string;
  /**
   * The signature: `did not verify` (forged or altered: the key proves nothing), `verified` (the person's own request,
   * refused for a rule), or `not checked` (refused before its signature was checked, or logged before the run said).
   */
  signature: 'did not verify' | 'verified' | 'not checked';
  /** The public key the signature named; absent when the entry does not say (logged before the run kept it). */
  key?: string;
  /** Why the run refused it, as the run said; absent for a forged signature, which `signature` says. */
  why?: string;
}

/** The refusal an entry records, or undefined for any other entry. */
export function refusalOf(d: Decision): RefusalView | undefined {
  if (d.kind !== 'refused') return undefined;
  const forged = d.reason === FORGED_REQUEST_REASON || d.reason === FORGED_OVERRIDE_REASON;
  // Before the run kept the key, a refusal other than the override's was logged only after its signature verified.
  const signature = d.claimed
    ? d.claimed.verified
      ? 'verified'
      : 'did not verify'
    : forged
      ? 'did not verify'
      : d.role === 'override'
        ? 'not checked'
        : 'verified';
  return {
    request: REQUEST_WORDS[d.role] ?? d.role,
    signature,
    ...(d.claimed ? { key: d.claimed.key } : {}),
    ...(signature !== 'did not verify' && d.reason ? { why: d.reason } : {}),
  };
}

/** Why a refused entry was refused, with what it says of its signature: `signature did not verify (key ed25519:…)`. */
export function refusalWhy(refusal: RefusalView): string {
  const key = refusal.key ? `key ${refusal.key}` : 'key not recorded';
  if (refusal.signature === 'did not verify') return `signature did not verify (${key})`;
  return `${refusal.why ?? 'no reason recorded'}${refusal.signature === 'verified' ? ` (signed, ${key})` : ''}`;
}

/**
 * A refused entry in one line, without its time: `alice: approve go refused — signature did not verify (key
 * ed25519:…)`, `dana: reject go refused — the gate is closed (signed, key ed25519:…)`.
 */
export function refusalLine(d: Decision, refusal: RefusalView): string {
  return `${d.by}: ${refusal.request}${d.target && refusal.request !== REQUEST_WORDS.override ? ` ${d.target}` : ''} refused — ${refusalWhy(refusal)}`;
}
