/**
 * Encrypts every payload cutover sends to Temporal when `CUTOVER_PAYLOAD_KEY` is set, so the
 * history a shared cluster keeps at rest (step definitions, commands, outputs, decisions)
 * holds no plaintext. AES-256-GCM with a random 12-byte IV per payload; the key id travels in
 * the payload's metadata so a later version can hold several keys and rotate them.
 *
 * Payloads without the `binary/encrypted` encoding pass through decoding: runs started before the
 * key was set go on. A worker's codec marks them (metadata {@link UNENCRYPTED_MARK}), and the run
 * refuses a start or an Update that arrived so (worker/payload-converter.ts tells the workflow): the
 * stock `temporal` CLI sends through `cutover codec-server` (`--codec-endpoint`) instead.
 * The memo is encrypted too (the client runs the codec on it); search attributes are not (the
 * server reads them to search), so they stay readable: cutover puts no secrets there.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

/** The `encoding` metadata of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** The metadata a worker's codec puts on a payload that arrived unencrypted (see {@link EncryptionCodec}). */
export const UNENCRYPTED_MARK = 'cutover-unencrypted';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Thrown when `CUTOVER_PAYLOAD_KEY` is not a 32-byte key in base64 or hex. */
export class PayloadKeyError extends Error {
  constructor() {
    super(
      'CUTOVER_PAYLOAD_KEY must be 32 bytes written as base64 (44 characters) or hex (64 characters), e.g. from `openssl rand -base64 32`; fix or unset it',
    );
    this.name = 'PayloadKeyError';
  }
}

/** Thrown when an encrypted payload cannot be decrypted: another key, or damaged bytes. */
export class PayloadDecryptionError extends Error {
  constructor(
    readonly keyId: string,
    readonly ownKeyId: string,
  ) {
    super(
      keyId === ownKeyId
        ? `an encrypted Temporal payload (key ${keyId}) could not be decrypted: it was damaged or altered`
        : `an encrypted Temporal payload was written with key ${keyId}, but CUTOVER_PAYLOAD_KEY here is key ${ownKeyId}: set the key the run was started with`,
    );
    this.name = 'PayloadDecryptionError';
  }
}

/** Reads a 32-byte key from hex or base64 text; throws {@link PayloadKeyError} otherwise. */
export function parsePayloadKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)
      ? Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64')
      : undefined;
  if (!key || key.length !== 32) throw new PayloadKeyError();
  return key;
}

/**
 * The key's public name: the first 8 bytes of its SHA-256, hex. It says which key wrote a
 * payload without telling anything about the key.
 */
export function payloadKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * A codec that encrypts with `key` and decrypts what that key wrote. With `markUnencrypted` (a worker's), a payload
 * that arrived unencrypted is passed on with the metadata {@link UNENCRYPTED_MARK}, for the run to refuse it.
 */
export class EncryptionCodec implements PayloadCodec {
  readonly keyId: string;

  constructor(
    private readonly key: Buffer,
    private readonly options: { markUnencrypted?: boolean } = {},
  ) {
    if (key.length !== 32) throw new PayloadKeyError();
    this.keyId = payloadKeyId(key);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, this.key, iv);
      // The whole payload (its own metadata too: encoding, message type) is what is sealed.
      const plain = encodePayload(payload);
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: encoder.encode(ENCRYPTED_ENCODING), 'encryption-key-id': encoder.encode(this.keyId) },
        data: new Uint8Array(sealed),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.encoding;
      if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING)
        return this.options.markUnencrypted
          ? { ...payload, metadata: { ...payload.metadata, [UNENCRYPTED_MARK]: encoder.encode('1') } }
          : payload;
      const keyIdBytes = payload.metadata?.['encryption-key-id'];
      const keyId = keyIdBytes ? decoder.decode(keyIdBytes) : 'unknown';
      if (keyId !== this.keyId) throw new PayloadDecryptionError(keyId, this.keyId);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      try {
        const iv = data.subarray(0, IV_BYTES);
        const tag = data.subarray(data.length - TAG_BYTES);
        const decipher = createDecipheriv(ALGORITHM, this.key, iv);
        decipher.setAuthTag(tag);
        const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
        return decodePayload(plain);
      } catch {
        throw new PayloadDecryptionError(keyId, this.keyId);
      }
    });
  }
}

/** The payload codecs for a data converter: one encryption codec with `key`, or none. */
export function payloadCodecs(key: Buffer | undefined, options: { markUnencrypted?: boolean } = {}): PayloadCodec[] {
  return key ? [new EncryptionCodec(key, options)] : [];
}

/**
 * A payload as bytes: its metadata and data as one JSON document (base64 inside). Simple and
 * dependency-free; the SDK's protobuf classes are not needed for one flat message.
 */
function encodePayload(payload: Payload): Buffer {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  );
  return Buffer.from(JSON.stringify({ m: metadata, d: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') }), 'utf8');
}

function decodePayload(bytes: Buffer): Payload {
  const parsed = JSON.parse(bytes.toString('utf8')) as { m: Record<string, string>; d: string };
  return {
    metadata: Object.fromEntries(Object.entries(parsed.m).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
    data: new Uint8Array(Buffer.from(parsed.d, 'base64')),
  };
}
