/**
 * Resolves a step's secret references (`${env:NAME}`, `${file:path}`, see runbook/secret-refs.ts)
 * on the worker, right before its action runs, and masks every resolved value in whatever the
 * activity reports (details, output tails, check details), so the value reaches the command and
 * nothing else: not the store, not the workflow's history, not `status` or the status page.
 */
import { hostname } from 'node:os';
import type { Action, Check, Connection } from '../runbook/schema.js';
import { mapConnection, mapReferenceFields, replaceReferences, type SecretReference } from '../runbook/secret-refs.js';
import { isCutoverSecret } from './action-context.js';
import { cutoverSecretFiles, readSecretFile, SecretReferenceError } from '../common/secret-file.js';

export { secretFolders, SecretReferenceError } from '../common/secret-file.js';

/**
 * Values shorter than this are not masked. Masking every `a1` or `yes` in an output would make
 * it unreadable, and the holes it leaves would tell the value anyway; a secret that short is
 * no secret. (They still never reach history or the runbook's pages: only references travel.)
 */
export const MIN_MASKED_LENGTH = 4;

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
