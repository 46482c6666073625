/**
 * The decision log's crypto with Node's: a person's signature of a request checked against their public key (Ed25519,
 * or a passkey's WebAuthn assertion, ES256), and SHA-256. The worker checks signatures with it (as local activities:
 * the workflow sandbox has no crypto) and `cutover decisions --verify` checks the log offline with the same code.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { passkeyRpId } from '../runbook/public-key.js';

/** The DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The public key object of `ed25519:BASE64` (the raw 32 bytes). */
export function publicKeyFromText(text: string) {
  const raw = Buffer.from(text.replace(/^ed25519:/, ''), 'base64');
  if (raw.length !== 32) throw new Error('an Ed25519 public key has 32 bytes');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** SHA-256 of `text`, hex. */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A passkey's assertion, as a signature carries it (base64url). */
export interface PasskeyAssertion {
  authenticatorData?: string;
  clientDataJSON?: string;
}

/**
 * True when `value` is `key`'s signature of `text`; false for any mismatch or malformed input. An `ed25519:` key's
 * `value` is its Ed25519 signature (base64); a `webauthn:` passkey's is a WebAuthn assertion's signature, checked
 * with the assertion's authenticator data and client data (see {@link verifyPasskey}).
 */
export function verifyText(text: string, key: string, value: string, assertion?: PasskeyAssertion): boolean {
  if (key.startsWith('webauthn:')) return verifyPasskey(text, key, value, assertion ?? {});
  try {
    return verify(null, Buffer.from(text, 'utf8'), publicKeyFromText(key), Buffer.from(value, 'base64'));
  } catch {
    return false;
  }
}

/** The WebAuthn challenge a passkey signs for `text`: base64url of its SHA-256. */
export function passkeyChallenge(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

/** The passkey line of a P-256 public key made for relying party `rpId`: `webauthn:RP_ID:POINT` (see runbook/public-key.ts). */
export function passkeyText(rpId: string, publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.x || !jwk.y) throw new Error('a passkey for cutover is an ES256 (P-256) key');
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  return `webauthn:${rpId}:${point.toString('base64url')}`;
}

/** The public key object of a passkey line. */
function passkeyPublicKey(passkey: string): KeyObject {
  const point = Buffer.from(passkey.slice(passkey.lastIndexOf(':') + 1), 'base64url');
  if (point.length !== 65 || point[0] !== 4) throw new Error('a passkey is an uncompressed P-256 point');
  const x = point.subarray(1, 33).toString('base64url');
  const y = point.subarray(33).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
}

/** The flags of authenticator data: the user was present (touched), and verified (PIN, biometrics). */
const USER_PRESENT = 0x01;
const USER_VERIFIED = 0x04;

/**
 * Why a passkey's assertion is not `passkey`'s signature of `text`, or undefined when it is: the client data says
 * `webauthn.get`, its challenge is {@link passkeyChallenge} of `text`, and its origin is the passkey's relying party
 * (https, or http on localhost); the authenticator data is for that relying party (its SHA-256) with the user present
 * and verified; and the ECDSA P-256 signature of the authenticator data and the client data's hash verifies.
 */
export function passkeyProblem(text: string, passkey: string, value: string, assertion: PasskeyAssertion): string | undefined {
  try {
    const rpId = passkeyRpId(passkey);
    const authData = Buffer.from(assertion.authenticatorData ?? '', 'base64url');
    const clientDataBytes = Buffer.from(assertion.clientDataJSON ?? '', 'base64url');
    if (authData.length < 37) return 'the authenticator data is shorter than 37 bytes';
    const clientData = JSON.parse(clientDataBytes.toString('utf8')) as { type?: unknown; challenge?: unknown; origin?: unknown };
    if (clientData.type !== 'webauthn.get') return `the client data's type is ${JSON.stringify(clientData.type)}, not webauthn.get`;
    if (clientData.challenge !== passkeyChallenge(text)) return "the client data's challenge is not the hash of the request";
    const origin = new URL(String(clientData.origin));
    const host = origin.hostname;
    if (host !== rpId && !host.endsWith(`.${rpId}`)) return `the assertion was made on ${origin.origin}, not for ${rpId}`;
    if (origin.protocol !== 'https:' && !(origin.protocol === 'http:' && host === 'localhost'))
      return `the assertion was made on ${origin.origin}, which is not https`;
    if (!authData.subarray(0, 32).equals(createHash('sha256').update(rpId).digest())) return `the authenticator data is not for ${rpId}`;
    const flags = authData[32]!;
    if ((flags & USER_PRESENT) === 0) return 'the authenticator data says the user was not present';
    if ((flags & USER_VERIFIED) === 0) return 'the authenticator data says the user was not verified';
    const signed = Buffer.concat([authData, createHash('sha256').update(clientDataBytes).digest()]);
    const key = { key: passkeyPublicKey(passkey), dsaEncoding: 'der' as const };
    if (!verify('sha256', signed, key, Buffer.from(value, 'base64url'))) return 'the signature does not verify against the passkey';
    return undefined;
  } catch {
    return 'the assertion is malformed';
  }
}

/** True when the assertion is `passkey`'s signature of `text` (see {@link passkeyProblem}). */
export function verifyPasskey(text: string, passkey: string, value: string, assertion: PasskeyAssertion): boolean {
  return passkeyProblem(text, passkey, value, assertion) === undefined;
}
