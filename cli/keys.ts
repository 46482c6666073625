/**
 * A person's signing key: `cutover keys init` makes an Ed25519 key pair, `cutover keys show`
 * prints the public key to hand to the lead (who lists it under the runbook's `people`), and the
 * request commands sign every request with it. Node's crypto only.
 *
 * The private key is PKCS#8 PEM in `CUTOVER_KEYS_DIR` (default `$XDG_CONFIG_HOME/cutover`, else
 * `~/.config/cutover`), mode 0600, written whole or not at all; encrypted (PKCS#8, AES-256-CBC, the key
 * derived by scrypt: `key-file.ts`) when a passphrase is given through the environment variable named with
 * `--passphrase-env`, never on the command line. Signing reads it from `CUTOVER_KEY_PASSPHRASE`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { signedText, type RequestSignature, type SignedKind } from '../run/signed-request.js';
import { EXIT, UsageError } from './errors.js';
import type { Output } from './output.js';
import { encryptKey } from './key-file.js';

const KEY_FILE = 'signing-key.pem';
/** Its public half, written beside it by `keys init` (readable by anyone: it is what the runbook lists). */
const PUBLIC_KEY_FILE = 'signing-key.pub';

/** Where the key lives. */
export function keysDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CUTOVER_KEYS_DIR) return path.resolve(env.CUTOVER_KEYS_DIR);
  const config = env.XDG_CONFIG_HOME ? path.resolve(env.XDG_CONFIG_HOME) : path.join(homedir(), '.config');
  return path.join(config, 'cutover');
}

/** The public key as runbooks list it: `ed25519:` and the raw 32 bytes in base64. */
export function publicKeyText(key: KeyObject): string {
  const der = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return `ed25519:${der.subarray(der.length - 32).toString('base64')}`;
}

/** A short fingerprint to read out loud when handing the key over: the first 8 bytes of its SHA-256, in hex pairs. */
export function fingerprint(publicKey: string): string {
  return createHash('sha256').update(publicKey).digest('hex').slice(0, 16).match(/../g)!.join(':');
}

/** `cutover keys init [--passphrase-env VAR] [--force]` */
export function keysInit(options: { passphraseEnv?: string; force?: boolean }, out: Output): number {
  const dir = keysDir();
  const file = path.join(dir, KEY_FILE);
  if (existsSync(file) && !options.force) {
    throw new UsageError(
      `a signing key already exists in ${file}; \`cutover keys show\` prints it, or add --force to replace it (runbooks listing the old one must be updated)`,
    );
  }
  let passphrase: string | undefined;
  if (options.passphraseEnv !== undefined) {
    passphrase = process.env[options.passphraseEnv];
    if (!passphrase) throw new UsageError(`--passphrase-env names ${options.passphraseEnv}, which is not set or empty; export it first`);
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = passphrase ? encryptKey(privateKey, passphrase) : (privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const publicKey = publicKeyText(privateKey);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, pem, { mode: 0o600 });
    chmodSync(temporary, 0o600);
    if (options.force) renameSync(temporary, file);
    else {
      // A link fails if the name exists: of two `keys init` at the same moment, one writes and the other is told.
      linkSync(temporary, file);
      rmSync(temporary, { force: true });
    }
    // The public half beside it, so `keys show` needs no passphrase.
    writeFileSync(`${temporary}.pub`, `${publicKey}\n`, { mode: 0o644 });
    renameSync(`${temporary}.pub`, path.join(dir, PUBLIC_KEY_FILE));
  } catch (err) {
    rmSync(temporary, { force: true });
    rmSync(`${temporary}.pub`, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UsageError(
        `a signing key already exists in ${file} (made a moment ago); \`cutover keys show\` prints it, or add --force to replace it`,
      );
    }
    throw new UsageError(
      `cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set CUTOVER_KEYS_DIR to a folder you can write`,
    );
  }
  out.line(`signing key written to ${file}${passphrase ? ' (encrypted with the passphrase)' : ''}`);
  out.line(`public key (give it to the lead for the runbook's \`people\`): ${publicKey}`);
  out.line(`fingerprint: ${fingerprint(publicKey)}`);
  return EXIT.ok;
}

/** `cutover keys show [--json]` */
export function keysShow(json: boolean, out: Output): number {
  const file = path.join(keysDir(), KEY_FILE);
  const publicKey = readablePublicKey(file);
  if (json) out.json({ file, publicKey, fingerprint: fingerprint(publicKey) });
  else {
    out.line(publicKey);
    out.line(`fingerprint ${fingerprint(publicKey)} (${file})`);
  }
  return EXIT.ok;
}

/**
 * The public key of the signing key in `file`: from the key itself when it can be read (it is the authority), else,
 * for a key encrypted with a passphrase that is not set, from the public key written beside it by `keys init`.
 */
function readablePublicKey(file: string): string {
  try {
    return publicKeyText(loadSigningKey(file));
  } catch (err) {
    const beside = path.join(path.dirname(file), PUBLIC_KEY_FILE);
    if (!process.env.CUTOVER_KEY_PASSPHRASE && existsSync(file) && existsSync(beside) && readFileSync(file, 'utf8').includes('ENCRYPTED')) {
      const text = readFileSync(beside, 'utf8').trim();
      if (/^ed25519:[A-Za-z0-9+/]{43}=$/.test(text)) return text;
    }
    throw err;
  }
}

/** The signing key, or undefined when there is none: requests then go unsigned (and a live run refuses them). */
export function findSigningKey(): KeyObject | undefined {
  const file = path.join(keysDir(), KEY_FILE);
  return existsSync(file) ? loadSigningKey(file) : undefined;
}

function loadSigningKey(file: string): KeyObject {
  if (!existsSync(file)) throw new UsageError(`no signing key in ${file}; make one with \`cutover keys init\``);
  const mode = statSync(file).mode & 0o077;
  if (mode !== 0) {
    throw new UsageError(
      `${file} can be read by others (mode ${(statSync(file).mode & 0o777).toString(8)}); a signing key must be private: chmod 600 it`,
    );
  }
  const pem = readFileSync(file, 'utf8');
  const passphrase = process.env.CUTOVER_KEY_PASSPHRASE;
  try {
    return createPrivateKey(passphrase ? { key: pem, format: 'pem', passphrase } : { key: pem, format: 'pem' });
  } catch (err) {
    const encrypted = pem.includes('ENCRYPTED');
    if (encrypted && !passphrase) throw new UsageError(`${file} is encrypted; set CUTOVER_KEY_PASSPHRASE to its passphrase`);
    if (encrypted) throw new UsageError(`${file} could not be decrypted with CUTOVER_KEY_PASSPHRASE: wrong passphrase`);
    throw new UsageError(
      `${file} is not a signing key cutover can read (${(err as Error).message.split('\n')[0]}); make a new one with \`cutover keys init --force\``,
    );
  }
}

/** Signs `request` of kind `kind` on run `runId`: the signature the run checks against the runbook's key for the person. */
export function signRequest(key: KeyObject, runId: string, kind: SignedKind, request: object): RequestSignature {
  const at = new Date().toISOString();
  const nonce = randomBytes(16).toString('base64url');
  const value = sign(null, Buffer.from(signedText(runId, kind, request, at, nonce), 'utf8'), key).toString('base64');
  return { key: publicKeyText(key), at, nonce, value };
}
