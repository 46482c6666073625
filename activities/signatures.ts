/**
 * The decision log's crypto as local activities, for the workflow (its sandbox has none): checks a person's signature
 * of a request before the run accepts it, and hashes a log entry (runs from before the workflow hashed itself).
 */
import { sha256, verifyText } from '../common/signatures.js';

/** The signature and chain activities. */
export function createSignatureActivities() {
  return {
    /** The hash of a decision log entry, given its text (see run/decision-log.ts). */
    async chainHash(text: string): Promise<string> {
      return sha256(text);
    },
    /**
     * True when `value` is `key`'s signature of `text` (Ed25519, or a passkey's WebAuthn assertion with its
     * authenticator and client data); false for any mismatch or malformed input.
     */
    async verifySignature(check: {
      text: string;
      key: string;
      value: string;
      authenticatorData?: string;
      clientDataJSON?: string;
    }): Promise<boolean> {
      return verifyText(check.text, check.key, check.value, check);
    },
  };
}
