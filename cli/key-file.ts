/**
 * The passphrase-encrypted form of a signing key file: PKCS#8 `ENCRYPTED PRIVATE KEY` with PBES2, the key derived by
 * scrypt (RFC 7914 section 7) and the key sealed with AES-256-CBC. `KeyObject.export` can only derive with PBKDF2 at
 * OpenSSL's 2,048 iterations, cheap to guess at; scrypt at N=2^14, r=8, p=5 is one of OWASP's recommended settings
 * and stays within the 32 MiB OpenSSL allows a key file's scrypt, so Node (`createPrivateKey`) and the `openssl`
 * command (`openssl pkey -passin env:VAR`) both read it, as they read keys written in the older PBKDF2 form.
 *
 * Node has no encoder for this structure, so the few DER elements are written here.
 */
import { createCipheriv, randomBytes, scryptSync, type KeyObject } from 'node:crypto';

/** scrypt's cost: N (CPU and memory: 128 * N * r bytes = 16 MiB), r (block size), p (passes). */
export const SCRYPT_COST = { N: 2 ** 14, r: 8, p: 5 } as const;

const OID = {
  pbes2: '2a864886f70d01050d', // 1.2.840.113549.1.5.13
  scrypt: '2b06010401da47040b', // 1.3.6.1.4.1.11591.4.11
  aes256cbc: '60864801650304012a', // 2.16.840.1.101.3.4.1.42
} as const;

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), length(body.length), body]);
const sequence = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));
const oid = (hex: string): Buffer => tlv(0x06, Buffer.from(hex, 'hex'));
const octets = (bytes: Buffer): Buffer => tlv(0x04, bytes);
function integer(n: number): Buffer {
  const bytes: number[] = [];
  let rest = n;
  do {
    bytes.unshift(rest & 0xff);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

/** The PEM text of `key` encrypted with `passphrase` (scrypt + AES-256-CBC, PKCS#8). */
export function encryptKey(key: KeyObject, passphrase: string): string {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const { N, r, p } = SCRYPT_COST;
  // OpenSSL gives the passphrase's bytes to scrypt as they are: UTF-8 here, as `-passin` reads it.
  const derived = scryptSync(Buffer.from(passphrase, 'utf8'), salt, 32, { N, r, p, maxmem: 256 * N * r });
  const cipher = createCipheriv('aes-256-cbc', derived, iv);
  const data = Buffer.concat([cipher.update(key.export({ type: 'pkcs8', format: 'der' })), cipher.final()]);
  const der = sequence(
    sequence(
      oid(OID.pbes2),
      sequence(
        sequence(oid(OID.scrypt), sequence(octets(salt), integer(N), integer(r), integer(p), integer(32))),
        sequence(oid(OID.aes256cbc), octets(iv)),
      ),
    ),
    octets(data),
  );
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${body}-----END ENCRYPTED PRIVATE KEY-----\n`;
}
