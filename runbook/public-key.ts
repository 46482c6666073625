/**
 * How a person's public keys are written in a runbook's `people`: `key` is `ed25519:` and the raw key in base64
 * (`cutover keys show`); `passkey` is `webauthn:`, the relying-party id the passkey was made for, and its P-256 public
 * key as the 65-byte uncompressed point in base64url (what `cutover web` enrolment prints). Its own module, free of
 * zod, so the workflow bundle can check a key without taking in the runbook schema.
 */

/** A public key as runbooks list it under `people`. */
export const PUBLIC_KEY_PATTERN = /^ed25519:[A-Za-z0-9+/]{43}=$/;

/**
 * A passkey (WebAuthn, ES256) as runbooks list it under `people`: `webauthn:RP_ID:POINT`. The relying-party id is a
 * host name (what the browser binds the passkey to; the run checks the assertion was made for it); POINT is 0x04, x
 * and y in base64url without padding (87 characters).
 */
export const PASSKEY_PATTERN = /^webauthn:[a-z0-9](?:[a-z0-9.-]{0,98}[a-z0-9])?:B[A-P][A-Za-z0-9_-]{85}$/;

/** The relying-party id a passkey line names (`webauthn:RP_ID:POINT`). */
export function passkeyRpId(passkey: string): string {
  return passkey.split(':')[1] ?? '';
}
