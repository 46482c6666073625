/**
 * Secret references in a runbook: `${env:NAME}` (a variable of the worker's environment) and
 * `${file:path}` (a file on the worker, relative to the runbook's directory). The runbook, its
 * pages in the store and the workflow's history only ever hold the reference; the worker
 * resolves it in the activity, right before the action runs (activities/secrets.ts).
 *
 * Pure: no Node built-ins, so validation (and the workflow side) may use it.
 */
import type { ConnectionSide } from '../reconcile/config.js';
import type { Action, Check, Connection } from './schema.js';

/** One reference as written: `${env:DB_PASSWORD}` is `{ scheme: 'env', name: 'DB_PASSWORD' }`. */
export interface SecretReference {
  scheme: 'env' | 'file';
  name: string;
  /** The reference exactly as written, `${env:DB_PASSWORD}`: what messages name, never the value. */
  text: string;
}

/**
 * Any `${scheme:...}` whose scheme is a lowercase word. Shell's own `${VAR:-x}`, `${VAR:=x}`,
 * `${VAR:?x}` and `${VAR:+x}` (and the HTTP actions' `${NAME:-default}`) are left alone.
 */
const REFERENCE = /\$\{([a-z][a-z0-9_-]*):(?![-=?+])([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The references in `text`, with a sentence for each malformed one. */
export function findReferences(text: string): { references: SecretReference[]; problems: string[] } {
  const references: SecretReference[] = [];
  const problems: string[] = [];
  for (const match of text.matchAll(REFERENCE)) {
    const [whole, scheme, rest] = match as unknown as [string, string, string];
    const name = rest.trim();
    if (scheme === 'env') {
      if (!ENV_NAME.test(name)) {
        problems.push(`\`${whole}\` does not name an environment variable; write \`\${env:NAME}\` with letters, digits and _`);
      } else references.push({ scheme, name, text: whole });
    } else if (scheme === 'file') {
      if (name === '') problems.push(`\`${whole}\` names no file; write \`\${file:path}\`, the path relative to the runbook's folder`);
      else references.push({ scheme, name, text: whole });
    } else {
      problems.push(
        `\`${whole}\` uses an unknown kind of reference \`${scheme}\`; cutover reads secrets from \`\${env:NAME}\` and \`\${file:path}\``,
      );
    }
  }
  return { references, problems };
}

/** The text fields of an action or check that may hold references, each with its path below the action. */
export function referenceFields(what: Action | Check): { path: (string | number)[]; text: string }[] {
  const fields: { path: (string | number)[]; text: string }[] = [];
  switch (what.kind) {
    case 'shell':
      fields.push({ path: ['command'], text: what.command });
      for (const [key, value] of Object.entries(what.env ?? {})) fields.push({ path: ['env', key], text: value });
      break;
    case 'http':
      fields.push({ path: ['url'], text: what.url });
      for (const [key, value] of Object.entries(what.headers ?? {})) fields.push({ path: ['headers', key], text: value });
      if (what.body !== undefined) fields.push({ path: ['body'], text: what.body });
      break;
    case 'sql':
      fields.push({ path: ['query'], text: what.query });
      break;
    case 'reconcile':
      for (const side of ['source', 'target'] as const) {
        const query = what[side].query;
        if (query !== undefined) fields.push({ path: [side, 'query'], text: query });
      }
      break;
    default:
      break;
  }
  return fields;
}

/** Replaces every well-formed reference in `text` with what `resolve` answers for it. */
export function replaceReferences(text: string, resolve: (reference: SecretReference) => string): string {
  return text.replace(REFERENCE, (whole: string, scheme: string, rest: string) => {
    const name = rest.trim();
    if (scheme === 'env' && ENV_NAME.test(name)) return resolve({ scheme, name, text: whole });
    if (scheme === 'file' && name !== '') return resolve({ scheme, name, text: whole });
    return whole;
  });
}

/** Applies `map` to every reference-bearing field of an action or check, returning a copy. */
export function mapReferenceFields<T extends Action | Check>(what: T, map: (text: string) => string): T {
  switch (what.kind) {
    case 'shell':
      return {
        ...what,
        command: map(what.command),
        ...(what.env ? { env: Object.fromEntries(Object.entries(what.env).map(([k, v]) => [k, map(v)])) } : {}),
      };
    case 'http':
      return {
        ...what,
        url: map(what.url),
        ...(what.headers ? { headers: Object.fromEntries(Object.entries(what.headers).map(([k, v]) => [k, map(v)])) } : {}),
        ...(what.body !== undefined ? { body: map(what.body) } : {}),
      };
    case 'sql':
      return { ...what, query: map(what.query) };
    case 'reconcile': {
      const side = (spec: ConnectionSide): ConnectionSide => (spec.query === undefined ? spec : { ...spec, query: map(spec.query) });
      return { ...what, source: side(what.source), target: side(what.target) };
    }
    default:
      return what;
  }
}

/** A connection with its path's references resolved by `map`. */
export function mapConnection(connection: Connection, map: (text: string) => string): Connection {
  return connection.driver === 'postgres' ? { ...connection, url: map(connection.url) } : { ...connection, path: map(connection.path) };
}
