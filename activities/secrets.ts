/**
 * Resolves a step's secret references (`${env:NAME}`, `${file:path}`, see runbook/secret-refs.ts)
 * on the worker, right before its action runs, and masks every resolved value in whatever the
 * activity reports (details, output tails, check details), so the value reaches the command and
 * nothing else: not the store, not the workflow's history, not `status` or the status page.
 */
import { closeSync, fstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Action, Check, Connection } from '../runbook/schema.js';
import { mapConnection, mapReferenceFields, replaceReferences, type SecretReference } from '../runbook/secret-refs.js';
import { isCutoverSecret } from './action-context.js';

/**
 * Values shorter than this are not masked. Masking every `a1` or `yes` in an output would make
 * it unreadable, and the holes it leaves would tell the value anyway; a secret that short is
 * no secret. (They still never reach history or the runbook's pages: only references travel.)
 */
export const MIN_MASKED_LENGTH = 4;

/** Thrown when a reference cannot be resolved on this worker; the message names the reference, never a value. */
export class SecretReferenceError extends Error {
  constructor(
    readonly reference: string,
    reason: string,
  ) {
    super(`${reference} ${reason}; nothing ran`);
    this.name = 'SecretReferenceError';
  }
}

/** A step's parts with their references resolved, and the mask for what it reports. */
export interface ResolvedSecrets<A extends Action> {
  action: A;
  checks: Check[];
  connections: Record<string, Connection>;
  /** `text` with every resolved value of at least {@link MIN_MASKED_LENGTH} characters replaced by `[secret env:NAME]`. */
  redact: (text: string) => string;
  /** True when the step used any reference (nothing to mask otherwise). */
  any: boolean;
}

/** The files that hold cutover's own TLS credentials: a runbook may not read them through `${file:...}`. */
function cutoverSecretFiles(env: NodeJS.ProcessEnv): Set<string> {
  return new Set(
    ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY']
      .map((name) => env[name])
      .filter((v): v is string => !!v)
      .map((file) => path.resolve(file)),
  );
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
function readSecretFile(text: string, name: string, baseDir: string, protectedFiles: Set<string>, env: NodeJS.ProcessEnv): string {
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

/**
 * Resolves every reference of an action, its checks and the runbook's connections. Throws
 * {@link SecretReferenceError} for the first one that cannot be resolved, before anything runs.
 *
 * In a shell command a reference is handed to the command as an environment variable
 * (`${CUTOVER_SECRET_1}`), not pasted into its text: the value stays off the process list and
 * out of the shell's parsing (a `$` or a quote in a password means nothing), so it expands like
 * any `$VAR`: bare or in double quotes, not inside single quotes. Everywhere else (a shell
 * step's `env` values, HTTP url, headers and body, a SQL query, a connection's path) the value
 * replaces the reference as is. HTTP's own `${NAME}` expansion runs afterwards, on the result.
 */
export function resolveSecrets<A extends Action>(
  parts: { action: A; checks: Check[]; connections: Record<string, Connection>; baseDir: string },
  env: NodeJS.ProcessEnv = process.env,
): ResolvedSecrets<A> {
  const values = new Map<string, string>();
  const protectedFiles = cutoverSecretFiles(env);
  const read = (reference: SecretReference): string => {
    if (reference.scheme === 'env') {
      if (isCutoverSecret(reference.name)) {
        throw new SecretReferenceError(
          reference.text,
          "names one of cutover's own secrets (Temporal credentials, the database URL, the payload key, the status page's token), which a runbook may not read; give the step a variable of its own",
        );
      }
      const value = env[reference.name];
      if (value === undefined)
        throw new SecretReferenceError(
          reference.text,
          `is not set in the environment of the worker on ${hostname()}; set it where \`cutover worker\` runs`,
        );
      values.set(value, `env:${reference.name}`);
      return value;
    }
    const value = readSecretFile(reference.text, reference.name, parts.baseDir, protectedFiles, env);
    values.set(value, `file:${reference.name}`);
    return value;
  };

  let counter = 0;
  const resolvePart = <T extends Action | Check>(what: T): T => {
    if (what.kind !== 'shell') return mapReferenceFields(what, (text) => replaceReferences(text, read));
    const extra: Record<string, string> = {};
    const command = replaceReferences(what.command, (reference) => {
      counter += 1;
      const name = `CUTOVER_SECRET_${counter}`;
      extra[name] = read(reference);
      return `\${${name}}`;
    });
    const ownEnv = Object.fromEntries(Object.entries(what.env ?? {}).map(([k, v]) => [k, replaceReferences(v, read)]));
    const envAll = { ...ownEnv, ...extra };
    return { ...what, command, ...(Object.keys(envAll).length > 0 ? { env: envAll } : {}) };
  };

  const action = resolvePart(parts.action);
  const checks = parts.checks.map((check) => resolvePart(check));
  // Only the connections this step queries: a reference in another one (unset on this worker,
  // or in a dry run where nothing queries) is none of this step's business.
  const used = new Set([parts.action, ...parts.checks].flatMap((what) => (what.kind === 'sql' ? [what.connection] : [])));
  const connections = Object.fromEntries(
    Object.entries(parts.connections).map(([name, connection]) => [
      name,
      used.has(name) ? mapConnection(connection, (text) => replaceReferences(text, read)) : connection,
    ]),
  );

  // Longest first, so a value that contains another is masked whole. A multi-line value (a key
  // file) is masked line by line too: an output may show one line of it.
  const masks: Array<[string, string]> = [];
  for (const [value, label] of values) {
    masks.push([value, label]);
    if (value.includes('\n')) for (const line of value.split(/\r?\n/)) masks.push([line.trim(), label]);
  }
  const usable = masks.filter(([value]) => value.length >= MIN_MASKED_LENGTH).sort((a, b) => b[0].length - a[0].length);
  const redact = (text: string): string => {
    let out = text;
    for (const [value, label] of usable) if (out.includes(value)) out = out.split(value).join(`[secret ${label}]`);
    return out;
  };
  return { action, checks, connections, redact, any: values.size > 0 };
}
