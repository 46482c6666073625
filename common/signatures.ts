/**
 * The decision log's crypto with Node's: a person's Ed25519 signature of a request checked against their public key,
 * and SHA-256. The worker checks signatures with it (as local activities: the workflow sandbox has no crypto) and
 * `cutover decisions --verify` checks the log offline with the same code.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';

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

/** True when `value` (base64) is `key`'s Ed25519 signature of `text`; false for any mismatch or malformed input. */
export function verifyText(text: string, key: string, value: string): boolean {
  try {
    return verify(null, Buffer.from(text, 'utf8'), publicKeyFromText(key), Buffer.from(value, 'base64'));
  } catch {
    return false;
  }
}
