/**
 * Signed requests: what a person signs when they vote, mark a step done, request a back-out or
 * resolve a failure, and the rules a signature must meet before it is even checked. Pure (no
 * crypto here): the workflow bundle imports it; signing (cli/keys.ts) and checking
 * (common/signatures.ts) use Node's crypto, Ed25519.
 *
 * The signed text is the canonical JSON (keys sorted at every level, no spaces) of
 * `{ at, fields, kind, nonce, run, v: 1 }`, where `fields` is the request as sent without its
 * `signature`. Anyone can rebuild it, so a request can be signed by hand for the stock `temporal`
 * CLI: `openssl pkeyutl -sign -inkey signing-key.pem -rawin -in TEXT_FILE | base64 -w0` (from a
 * file: OpenSSL 3.0 cannot sign Ed25519 from a pipe).
 *
 * A passkey signs the same text another way (issue 19): the browser's WebAuthn assertion, whose challenge is
 * base64url(SHA-256(text)) (`passkeyChallenge` in common/signatures.ts); the signature then carries the assertion's authenticator data
 * and client data beside its ECDSA P-256 signature, and its key is the passkey line the runbook lists.
 */
import type { Decision, EvidenceOverride, RunMode, RunState } from './state.js';
import { PASSKEY_PATTERN, PUBLIC_KEY_PATTERN } from '../runbook/public-key.js';
import type { Runbook } from '../runbook/schema.js';

/** What a signed request carries: the signer's public key, when and with which nonce it was signed, the signature. */
export interface RequestSignature {
  /** `ed25519:` and the raw 32-byte public key in base64, as `cutover keys show` prints it. */
  key: string;
  /** When it was signed (ISO 8601). */
  at: string;
  /** 16 random bytes in base64url: a request is accepted once. */
  nonce: string;
  /** The Ed25519 signature of {@link signedText}, base64; a passkey's: its ECDSA signature (DER) in base64url. */
  value: string;
  /** A passkey's assertion: the authenticator data it signed, base64url. */
  authenticatorData?: string;
  /** A passkey's assertion: the client data JSON it signed (its challenge is {@link signedText}'s hash), base64url. */
  clientDataJSON?: string;
  /** A passkey's assertion: the credential id that made it, base64url (kept for the record; the key is what counts). */
  credential?: string;
}

/** Whether a signature is a passkey's WebAuthn assertion (its key is a `webauthn:` passkey line). */
export function isPasskeySignature(signature: Pick<RequestSignature, 'key'>): boolean {
  return signature.key.startsWith('webauthn:');
}

/** The key the runbook lists for a person that a signature of this kind must be by: their passkey, or their Ed25519 key. */
export function listedKeyFor(
  entry: { key?: string; passkey?: string } | undefined,
  signature: Pick<RequestSignature, 'key'>,
): string | undefined {
  return isPasskeySignature(signature) ? entry?.passkey : entry?.key;
}

/** What the worker's check of a signature needs: the text, the key, the signature, and a passkey's assertion. */
export function signatureCheck(
  text: string,
  signature: RequestSignature,
): { text: string; key: string; value: string; authenticatorData?: string; clientDataJSON?: string } {
  const check = { text, key: signature.key, value: signature.value };
  // An Ed25519 signature's check stays the three fields it always was.
  if (!isPasskeySignature(signature)) return check;
  return { ...check, authenticatorData: signature.authenticatorData, clientDataJSON: signature.clientDataJSON };
}

/** The decisions a person signs. */
export type SignedKind = Extract<
  Decision['kind'],
  'approve' | 'reject' | 'complete_manual' | 'request_backout' | 'resolve' | 'override' | 'incident' | 'acknowledge'
>;

/** The target an evidence override shows in the decision log. */
export const OVERRIDE_TARGET = 'live-evidence';

/**
 * What the lead signs to go live without the rehearsal evidence (`cutover run --live --override-evidence REASON`),
 * and what the decision log shows of it: who, and the reason with what was missing.
 */
export function overrideRequest(override: Pick<EvidenceOverride, 'by' | 'reason' | 'missing'>): { by: string; reason: string } {
  return { by: override.by, reason: `${override.reason} (missing: ${override.missing.join('; ')})` };
}

/** Why the run refused a request whose signature did not verify against the key it named (a forged or altered one). */
export const FORGED_REQUEST_REASON =
  'the signature does not match the request: it was changed after it was signed, signed for another run, step or decision, or with another key';

/** Why the run refused an evidence override whose signature did not verify against the key it named. */
export const FORGED_OVERRIDE_REASON =
  'the signature does not match the override: it was changed after it was signed, signed for another run, or with another key';

/** A signature older or newer than this, by the run's clock, is refused: sign again. */
export const SIGNATURE_MAX_SKEW_MS = 10 * 60 * 1000;

/** JSON with keys sorted at every level and no spaces: the same text for the same value, anywhere. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The exact text signed for `request` of kind `kind` on run `runId`. */
export function signedText(runId: string, kind: SignedKind, request: object, at: string, nonce: string): string {
  const fields = Object.fromEntries(Object.entries(request).filter(([key]) => key !== 'signature'));
  return canonicalJson({ at, fields, kind, nonce, run: runId, v: 1 });
}

/** A key shortened for messages: its first characters. */
function shortKey(key: string): string {
  return `${key.slice(0, 20)}…`;
}

/**
 * Why a request's signature (or its absence) is refused before it is checked, or undefined. A live
 * run takes only signed requests; a rehearsal too when the runbook says `signatures: required`.
 */
export function refuseSignature(
  runbook: Runbook,
  mode: RunMode,
  state: Pick<RunState, 'decisions'>,
  request: { by: string; signature?: RequestSignature; automatic?: boolean },
  nowMs: number,
): string | undefined {
  const signature = request.signature;
  if (!signature) {
    // What `rehearse --auto-approve` sends is checked by the automatic rule instead.
    if (request.automatic === true && mode === 'rehearsal') return undefined;
    if (mode === 'live')
      return `a live run takes only signed requests, and this one is not signed: ${request.by} runs \`cutover keys init\` once, the runbook lists the key \`cutover keys show\` prints under \`people\`, and cutover signs from then on`;
    if (runbook.signatures === 'required')
      return `this runbook takes only signed requests (\`signatures: required\`), and this one is not signed; run \`cutover keys init\` and list the key under \`people\``;
    return undefined;
  }
  const entry = runbook.people[request.by];
  // A rehearsal that takes unsigned requests takes one it cannot check as unsigned (see `checksSignature`).
  if (!hasListedKey(entry) && !signaturesRequired(runbook, mode)) return undefined;
  const malformed = malformedSignature(signature);
  if (malformed !== undefined) return malformed;
  if (!hasListedKey(entry))
    return `the runbook lists no public key for ${request.by} under \`people\`, so their signature cannot be checked; add the key \`cutover keys show\` prints`;
  const listed = listedKeyFor(entry, signature);
  if (listed === undefined)
    return isPasskeySignature(signature)
      ? `signed with a passkey, and the runbook lists no passkey for ${request.by} (only a key); list the passkey their enrolment printed under \`people\`, or sign with the key`
      : `signed with a key, and the runbook lists only a passkey for ${request.by}; sign from the page with the passkey, or list the key \`cutover keys show\` prints`;
  if (signature.key !== listed)
    return `signed with the ${isPasskeySignature(signature) ? 'passkey' : 'key'} ${shortKey(signature.key)}, not the one the runbook lists for ${request.by} (${shortKey(listed)})`;
  if (state.decisions.some((d) => d.signature?.nonce === signature.nonce))
    return 'this signed request was already used (same nonce); a replay is refused: send a new one';
  const at = Date.parse(signature.at);
  if (!Number.isFinite(at) || Math.abs(at - nowMs) > SIGNATURE_MAX_SKEW_MS)
    return `the request was signed at ${signature.at}, more than ${SIGNATURE_MAX_SKEW_MS / 60_000} minutes from the run's clock; sign it again now (and check this machine's clock)`;
  return undefined;
}

/**
 * Why `signature` is not a signature at all, or undefined: what a hand-built request sent through
 * the stock `temporal` CLI gets wrong (a field missing or of the wrong type, a key in another form).
 * Checked before anything reads its fields, so the sender gets a reason rather than a type error.
 */
export function malformedSignature(signature: unknown): string | undefined {
  const expected =
    '{"key":"ed25519:…","at":"ISO time","nonce":"…","value":"base64"} (a passkey\'s also "authenticatorData" and "clientDataJSON", base64url)';
  if (signature === null || typeof signature !== 'object' || Array.isArray(signature))
    return `the request's signature is not an object; send ${expected}`;
  const fields = signature as Record<string, unknown>;
  const missing = ['key', 'at', 'nonce', 'value'].filter((field) => typeof fields[field] !== 'string' || fields[field] === '');
  if (missing.length > 0) return `the request's signature has no ${missing.join(', ')} (each a non-empty string); send ${expected}`;
  const { key, at, nonce, value } = fields as Record<'key' | 'at' | 'nonce' | 'value', string>;
  const passkey = key.startsWith('webauthn:');
  if (passkey ? !PASSKEY_PATTERN.test(key) : !PUBLIC_KEY_PATTERN.test(key))
    return passkey
      ? `the request's signature key is not a passkey as enrolment prints it (\`webauthn:\`, the relying-party id, \`:\` and the public key in base64url)`
      : `the request's signature key is not \`ed25519:\` and 32 bytes in base64, the form \`cutover keys show\` prints`;
  if (!Number.isFinite(Date.parse(at))) return `the request's signature time ${JSON.stringify(at)} is not an ISO 8601 time`;
  if (nonce.length > 100) return "the request's signature nonce is longer than 100 characters; 16 random bytes in base64url will do";
  if (!passkey) return /^[A-Za-z0-9+/]+={0,2}$/.test(value) ? undefined : "the request's signature value is not base64";
  const base64url = /^[A-Za-z0-9_-]+$/;
  for (const field of ['value', 'authenticatorData', 'clientDataJSON'] as const)
    if (typeof fields[field] !== 'string' || !base64url.test(fields[field]))
      return `the request's passkey signature has no \`${field}\` in base64url (the WebAuthn assertion's ${field === 'value' ? 'signature' : field})`;
  if (fields.credential !== undefined && (typeof fields.credential !== 'string' || !base64url.test(fields.credential)))
    return "the request's passkey signature `credential` is not base64url";
  return undefined;
}

/** Whether the run takes only signed requests: a live run always, a rehearsal when the runbook says `signatures: required`. */
export function signaturesRequired(runbook: Runbook, mode: RunMode): boolean {
  return mode === 'live' || runbook.signatures === 'required';
}

/**
 * Whether the run checks this request's signature: it is signed and the runbook lists a key for
 * the person. In a rehearsal that also takes unsigned requests, a signature by someone the
 * runbook lists no key for (a person who made a key for another runbook) counts as no signature:
 * not checked, not kept.
 */
export function checksSignature(runbook: Runbook, request: { by: string; signature?: RequestSignature }): boolean {
  return request.signature !== undefined && hasListedKey(runbook.people[request.by]);
}

/** Whether the runbook lists a key or a passkey for a person. */
function hasListedKey(entry: { key?: string; passkey?: string } | undefined): boolean {
  return entry?.key !== undefined || entry?.passkey !== undefined;
}

/**
 * What a decision keeps of a request whose signature the run checks (see {@link checksSignature}): the signature and
 * the fields it covers (the request without it). Nothing for any other request.
 */
export function signatureFields(
  runbook: Runbook,
  request: { by: string; signature?: RequestSignature },
): { signature?: RequestSignature; request?: Record<string, unknown> } {
  if (!checksSignature(runbook, request)) return {};
  const fields = Object.fromEntries(Object.entries(request).filter(([key]) => key !== 'signature'));
  return { signature: request.signature, request: fields };
}
