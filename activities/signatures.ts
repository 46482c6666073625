/**
 * Checks a person's signature of a request with Node's crypto (Ed25519): the workflow cannot
 * (its sandbox has no crypto), so it asks this local activity before it accepts a signed request.
 */
import { createPublicKey, verify } from 'node:crypto';

/** The DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The public key object of `ed25519:BASE64` (the raw 32 bytes). */
export function publicKeyFromText(text: string) {
  const raw = Buffer.from(text.replace(/^ed25519:/, ''), 'base64');
  if (raw.length !== 32) throw new Error('an Ed25519 public key has 32 bytes');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The signature activities. */
export function createSignatureActivities() {
  return {
    /** True when `value` is `key`'s Ed25519 signature of `text`; false for any mismatch or malformed input. */
    async verifySignature(check: { text: string; key: string; value: string }): Promise<boolean> {
      try {
        return verify(null, Buffer.from(check.text, 'utf8'), publicKeyFromText(check.key), Buffer.from(check.value, 'base64'));
      } catch {
        return false;
      }
    },
  };
}
