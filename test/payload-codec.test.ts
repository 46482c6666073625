/**
 * The payload codec that keeps Temporal history free of plaintext when CUTOVER_PAYLOAD_KEY is
 * set: what it encrypts it reads back, another key fails clearly, plain payloads pass.
 */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeFor } from '../cli/errors.js';
import { readSettings } from '../cli/settings.js';
import { ENCRYPTED_ENCODING, EncryptionCodec, parsePayloadKey, payloadKeyId } from '../common/payload-codec.js';

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
const plain = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);

describe('the encryption codec', () => {
  const key = randomBytes(32);
  const codec = new EncryptionCodec(key);

  it('encrypts a payload so neither its data nor its encoding can be read, and decodes it back', async () => {
    const original = plain({ command: 'psql -c "UPDATE accounts SET frozen = true"' });
    const [sealed] = await codec.encode([original]);
    expect(text(sealed!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(sealed!.metadata!['encryption-key-id'])).toBe(payloadKeyId(key));
    expect(text(sealed!.data)).not.toContain('UPDATE accounts');
    expect(text(sealed!.data)).not.toContain('json/plain');
    const [back] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(back!)).toEqual({ command: 'psql -c "UPDATE accounts SET frozen = true"' });
    expect(text(back!.metadata!.encoding)).toBe('json/plain');
  });

  it('gives the same payload different bytes each time (a fresh IV per payload)', async () => {
    const [a, b] = await codec.encode([plain('same'), plain('same')]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('passes payloads without the encrypted encoding through (the stock temporal CLI, runs from before the key)', async () => {
    const original = plain({ approve: 'go' });
    const [back] = await codec.decode([original]);
    expect(back).toBe(original);
  });

  it('refuses a payload written with another key, naming both key ids', async () => {
    const [sealed] = await new EncryptionCodec(randomBytes(32)).encode([plain('secret plan')]);
    await expect(codec.decode([sealed!])).rejects.toThrow(
      /written with key [0-9a-f]{16}, but CUTOVER_PAYLOAD_KEY here is key [0-9a-f]{16}/,
    );
  });

  it('refuses a payload whose bytes were altered', async () => {
    const [sealed] = await codec.encode([plain('secret plan')]);
    const data = Buffer.from(sealed!.data!);
    data[data.length - 20]! ^= 1;
    await expect(codec.decode([{ ...sealed!, data: new Uint8Array(data) }])).rejects.toThrow(
      /could not be decrypted: it was damaged or altered/,
    );
  });
});

describe('CUTOVER_PAYLOAD_KEY', () => {
  const key = randomBytes(32);

  it('is read as base64 or hex', () => {
    expect(parsePayloadKey(key.toString('base64')).equals(key)).toBe(true);
    expect(parsePayloadKey(key.toString('hex')).equals(key)).toBe(true);
    expect(readSettings({ CUTOVER_PAYLOAD_KEY: key.toString('base64') }, '/tmp').payloadKey?.equals(key)).toBe(true);
    expect(readSettings({}, '/tmp').payloadKey).toBeUndefined();
  });

  it('of the wrong length or alphabet is a configuration error (exit 6) in one sentence', () => {
    for (const bad of [randomBytes(16).toString('base64'), 'not a key!', key.toString('hex').slice(2)]) {
      let caught: unknown;
      try {
        readSettings({ CUTOVER_PAYLOAD_KEY: bad }, '/tmp');
      } catch (err) {
        caught = err;
      }
      expect(exitCodeFor(caught)).toBe(EXIT.environment);
      expect((caught as Error).message).toMatch(/^CUTOVER_PAYLOAD_KEY must be 32 bytes .*; fix or unset it$/);
    }
  });
});
