/**
 * Reading a `${file:...}` reference, confined to the runbook's folder and the worker's declared secret folders, by
 * real path, never /proc, /sys or /dev: one rule for a step's references (activities/secrets.ts) and a notification
 * channel's (notify/channel-secrets.ts). And the one rule for the data files a step opens (a SQLite database, a CSV
 * file): never under /proc, /sys or /dev, never one of cutover's own credential files.
 */
import { closeSync, fstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

/** Thrown when a reference cannot be resolved on this worker; the message names the reference, never a value. */
export class SecretReferenceError extends Error {
  constructor(
    readonly reference: string,
    /** What is wrong with it, without the reference: `notify/` words its own failures from it. */
    readonly reason: string,
  ) {
    super(`${reference} ${reason}; nothing ran`);
    this.name = 'SecretReferenceError';
  }
}

/** The files that hold cutover's own TLS credentials: a runbook may not read them through `${file:...}`. */
export function cutoverSecretFiles(env: NodeJS.ProcessEnv): Set<string> {
  return new Set(
    ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY']
      .map((name) => env[name])
      .filter((v): v is string => !!v)
      .map((file) => path.resolve(file)),
  );
}

/**
 * Why a step may not open `file` as data (a SQLite database, a CSV file), or undefined when it may: a comparison's
 * mismatch examples and a query's errors quote what they read, so `/proc/self/environ` or the worker's TLS key opened
 * as data would reach the record. Decided on the real path; a file that is not there is left to the open to report.
 */
export function dataFileRefusal(file: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return undefined;
  }
  if (NEVER_READ.some((root) => inside(real, root)))
    return `${file} is under /proc, /sys or /dev (${real}), which a runbook never reads as data on the worker on ${hostname()}`;
  const own = [
    ...cutoverSecretFiles(env),
    ...Object.entries(env)
      .filter(([name, value]) => /^(TEMPORAL|CUTOVER)_\w+_FILE$/.test(name) && value)
      .map(([, value]) => path.resolve(value!)),
  ];
  for (const secret of own) {
    let secretReal = secret;
    try {
      secretReal = realpathSync(secret);
    } catch {
      // Not there: nothing to protect.
    }
    if (real === secretReal)
      return `${file} is one of cutover's own credential files on the worker on ${hostname()}, which a runbook never reads`;
  }
  return undefined;
}

/** Folders no `${file:...}` may read, even when declared: the kernel's views of processes and devices (`/proc/self/environ` is the worker's environment). */
const NEVER_READ = ['/proc', '/sys', '/dev'];

/**
 * The folders a `${file:...}` may read on this worker, as real paths: the runbook's folder and the secret folders the
 * worker declares in `CUTOVER_SECRET_DIRS` (colon-separated). A declared folder that does not exist is left out.
 */
export function secretFolders(baseDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const declared = (env.CUTOVER_SECRET_DIRS ?? '').split(':').filter((dir) => dir.trim() !== '');
  const folders: string[] = [];
  for (const dir of [baseDir, ...declared]) {
    try {
      folders.push(realpathSync(path.resolve(dir)));
    } catch {
      // Not there on this worker: nothing to read in it.
    }
  }
  return folders;
}

/** True when `file` (a real path) is `folder` or inside it. */
function inside(file: string, folder: string): boolean {
  const rel = path.relative(folder, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Reads a `${file:...}` reference, confined to {@link secretFolders}: the path is resolved to its real path first, so
 * neither `../` nor a symbolic link leads out, and `/proc`, `/sys` and `/dev` are refused wherever they are reached
 * from. Only a regular file of text is read; what a refusal says names the reference and the folders, never content.
 */
export function readSecretFile(text: string, name: string, baseDir: string, protectedFiles: Set<string>, env: NodeJS.ProcessEnv): string {
  const asked = path.resolve(baseDir, name);
  let real: string;
  try {
    real = realpathSync(asked);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new SecretReferenceError(
      text,
      `cannot be read on the worker on ${hostname()} (${asked}: ${code}); the path is relative to the runbook's folder`,
    );
  }
  if (protectedFiles.has(asked) || protectedFiles.has(real)) {
    throw new SecretReferenceError(
      text,
      "is one of cutover's own credential files (TEMPORAL_TLS_CERT or TEMPORAL_TLS_KEY), which a runbook may not read",
    );
  }
  const folders = secretFolders(baseDir, env);
  if (NEVER_READ.some((root) => inside(real, root)) || !folders.some((folder) => inside(real, folder))) {
    throw new SecretReferenceError(
      text,
      `is outside the folders a runbook may read on the worker on ${hostname()} (${real}); a \${file:} reference reads the runbook's folder or a folder listed in CUTOVER_SECRET_DIRS, never /proc, /sys or /dev`,
    );
  }
  let raw: Buffer;
  let fd: number;
  try {
    fd = openSync(real, 'r');
  } catch (err) {
    throw new SecretReferenceError(
      text,
      `cannot be read on the worker on ${hostname()} (${real}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
    );
  }
  try {
    if (!fstatSync(fd).isFile()) throw new SecretReferenceError(text, `is not a regular file on the worker on ${hostname()} (${real})`);
    raw = readFileSync(fd);
  } finally {
    closeSync(fd);
  }
  // A NUL cannot be passed to a command or a header, and the error that says so would print the value.
  if (raw.includes(0)) throw new SecretReferenceError(text, `holds NUL bytes (${real}): a secret file holds text`);
  // One trailing newline is the file's end, not part of the secret (`echo token > file`).
  return raw.toString('utf8').replace(/\r?\n$/, '');
}
