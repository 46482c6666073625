/**
 * The workflow hashes its decision log and gate evidence with run/digest.ts (plain JavaScript); `decisions
 * --verify` checks them with Node's crypto. Both must give the same digest for any text.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../run/digest.js';

const node = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('sha256Hex', () => {
  it('is SHA-256: the standard test vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
  it("gives Node's digest for any text, any script, any length", () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
        expect(sha256Hex(text)).toBe(node(text));
      }),
      { numRuns: 300, seed: 11 },
    );
    const long = 'décision ✔ 決定 '.repeat(10_000);
    expect(sha256Hex(long)).toBe(node(long));
  });
});
