/**
 * A software passkey for tests that need no browser: a P-256 key pair made with Node's crypto, and WebAuthn
 * assertions made the way an authenticator and a browser make them (authenticator data for the relying party with the
 * user present and verified, client data with the challenge and origin, an ECDSA signature of both in DER). The page
 * tests use Chromium's virtual authenticator instead.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { passkeyChallenge, passkeyText } from '../../common/signatures.js';
import { signedText, type RequestSignature, type SignedKind } from '../../run/signed-request.js';

/** A passkey: its private key, the line the runbook lists, its relying party and credential id. */
export interface TestPasskey {
  privateKey: KeyObject;
  line: string;
  rpId: string;
  credential: string;
}

/** A new passkey for relying party `rpId`. */
export function newPasskey(rpId = 'cutover.example.com'): TestPasskey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, line: passkeyText(rpId, publicKey), rpId, credential: randomBytes(16).toString('base64url') };
}

/** What an assertion may be made with instead of the defaults: to build the wrong ones. */
export interface AssertionOptions {
  at?: string;
  nonce?: string;
  /** The client data's origin (default `https://RP_ID`). */
  origin?: string;
  /** The client data's type (default `webauthn.get`). */
  type?: string;
  /** The challenge (default: the hash of the signed text). */
  challenge?: string;
  /** The relying party the authenticator data names (default the passkey's). */
  rpId?: string;
  /** The authenticator data's flags (default user present and verified). */
  flags?: number;
}

/** The assertion of `challenge` by `passkey`: authenticator data, client data JSON and signature, base64url. */
export function assert(passkey: TestPasskey, challenge: string, options: AssertionOptions = {}) {
  const authenticatorData = Buffer.concat([
    createHash('sha256')
      .update(options.rpId ?? passkey.rpId)
      .digest(),
    Buffer.from([options.flags ?? 0x05]),
    Buffer.from([0, 0, 0, 0]),
  ]);
  const clientDataJSON = Buffer.from(
    JSON.stringify({
      type: options.type ?? 'webauthn.get',
      challenge,
      origin: options.origin ?? `https://${passkey.rpId}`,
      crossOrigin: false,
    }),
  );
  const signature = sign('sha256', Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]), {
    key: passkey.privateKey,
    dsaEncoding: 'der',
  });
  return {
    authenticatorData: authenticatorData.toString('base64url'),
    clientDataJSON: clientDataJSON.toString('base64url'),
    value: signature.toString('base64url'),
  };
}

/** A request's signature by `passkey`, as the page sends it: the assertion of the signed text's hash. */
export function passkeySign(
  passkey: TestPasskey,
  runId: string,
  kind: SignedKind,
  fields: object,
  options: AssertionOptions = {},
): RequestSignature {
  const at = options.at ?? new Date().toISOString();
  const nonce = options.nonce ?? randomBytes(16).toString('base64url');
  const challenge = options.challenge ?? passkeyChallenge(signedText(runId, kind, fields, at, nonce));
  return { key: passkey.line, at, nonce, ...assert(passkey, challenge, options), credential: passkey.credential };
}
