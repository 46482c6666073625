/**
 * How a person's public key is written in a runbook's `people` (`ed25519:` and the raw key in base64). Its own
 * module, free of zod, so the workflow bundle can check a key without taking in the runbook schema.
 */

/** A public key as runbooks list it under `people`. */
export const PUBLIC_KEY_PATTERN = /^ed25519:[A-Za-z0-9+/]{43}=$/;
