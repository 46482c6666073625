/**
 * cutover's own secrets (the Temporal API key, the record store's URL, the payload key, the status page's and the codec
 * server's tokens, a signing key's passphrase), read once when a process starts: from `NAME`, or from the file `NAME_FILE` names, so
 * they need not be in any environment at all. A value that came from the environment is then blanked in the
 * process's initial environment block, which Linux shows to every process of the same user as `/proc/PID/environ`:
 * a runbook's command (`cat /proc/$PPID/environ`) finds nothing there. The value stays in the process's memory.
 */
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';

/** The names of cutover's own secrets that may be given as `NAME` or `NAME_FILE`. */
export const OWN_SECRET_NAMES = [
  'TEMPORAL_API_KEY',
  'CUTOVER_DATABASE_URL',
  'CUTOVER_PAYLOAD_KEY',
  'CUTOVER_WEB_TOKEN',
  'CUTOVER_CODEC_TOKEN',
  'CUTOVER_KEY_PASSPHRASE',
] as const;

/** cutover's own secrets and the settings that name where they are: no runbook command or reference sees them. */
const OWN_SECRETS = /^(TEMPORAL_(API_KEY|TLS_.*)|CUTOVER_(DATABASE_URL|PAYLOAD_KEY|WEB_TOKEN|CODEC_TOKEN|KEY_PASSPHRASE)(_FILE)?)$/;

/** True for the names of cutover's own secrets (and their `_FILE` variants). */
export function isOwnSecret(name: string): boolean {
  return OWN_SECRETS.test(name);
}

/** `env` less cutover's own secrets: for the processes cutover starts for itself (a database server, a comparison). */
export function withoutOwnSecrets(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && !isOwnSecret(entry[0])),
  );
}

/** Thrown when a `NAME_FILE` setting cannot be used: both forms set, or a file that cannot be read. */
export class OwnSecretFileError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(message);
    this.name = 'OwnSecretFileError';
  }
}

/**
 * Reads every `NAME_FILE` into `NAME` (one trailing newline dropped), then blanks the secrets that came from the
 * environment in `/proc/self/environ`. Call it once, first thing: later reads of `process.env.NAME` see the value.
 * Returns the names whose values are now in the process (from either form).
 */
export function takeOwnSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  const taken: string[] = [];
  const fromEnvironment: string[] = [];
  for (const name of OWN_SECRET_NAMES) {
    const file = env[`${name}_FILE`];
    if (file !== undefined && file !== '') {
      if (env[name] !== undefined && env[name] !== '') {
        throw new OwnSecretFileError(name, `${name} and ${name}_FILE are both set: keep one (the file keeps it out of the environment)`);
      }
      let value: string;
      try {
        value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
        throw new OwnSecretFileError(name, `${name}_FILE names ${file}, which cannot be read (${code}): fix the path or its permissions`);
      }
      env[name] = value;
      taken.push(name);
    } else if (env[name] !== undefined && env[name] !== '') {
      taken.push(name);
      fromEnvironment.push(name);
    }
  }
  if (env === process.env && fromEnvironment.length > 0) blankInitialEnvironment(fromEnvironment);
  return taken;
}

/**
 * Overwrites `NAME=value` of each name with NUL bytes in the block the kernel serves as `/proc/self/environ`. First each
 * value is set again (libc then keeps a copy of its own, so `process.env` still reads it). Linux only, best effort:
 * where `/proc/self/mem` cannot be written the block stays as it was (docs/security.md says what that leaves open).
 */
function blankInitialEnvironment(names: readonly string[]): void {
  let fd: number | undefined;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces), numbered from 3: env_start is field 50, env_end 51.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[50 - 3]);
    const end = Number(fields[51 - 3]);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) return;
    for (const name of names) {
      const value = process.env[name];
      if (value !== undefined) process.env[name] = value;
    }
    fd = openSync('/proc/self/mem', 'r+');
    const block = Buffer.alloc(end - start);
    readSync(fd, block, 0, block.length, start);
    for (const name of names) {
      let at = block.indexOf(`${name}=`);
      while (at >= 0) {
        const entryEnd = block.indexOf(0, at);
        const stop = entryEnd < 0 ? block.length : entryEnd;
        // Only a whole entry: the name at the block's start or right after a NUL.
        if (at === 0 || block[at - 1] === 0) {
          block.fill(0, at, stop);
          writeSync(fd, block, at, stop - at, start + at);
        }
        at = block.indexOf(`${name}=`, stop);
      }
    }
  } catch {
    // Not Linux, or /proc/self/mem is not writable here: nothing more this process can do about it.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
