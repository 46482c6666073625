/**
 * `cutover reconcile CONFIG [--json]`: the comparison of a migration sample, outside any run.
 * Exit 0 within the config's limits, 4 outside them, 2 for a config file that cannot be read,
 * 3 for an invalid one (every problem with file:line:column), 6 when a side cannot be reached or
 * read (one sentence naming it).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatProblem } from '../lib/yaml-document/problems.js';
import { DataError, ReconcileCancelledError, SourceError } from '../reconcile/errors.js';
import { formatResult } from '../reconcile/format.js';
import { parseReconcileConfig } from '../reconcile/parse-config.js';
import { reconcile } from '../reconcile/reconcile.js';
import { CutoverError, EnvironmentError, EXIT, InterruptedError, UsageError } from './errors.js';
import type { Output } from './output.js';

/** Thrown when a reconciliation config file has problems; the message lists every one. */
export class InvalidReconcileConfigError extends CutoverError {
  override readonly exitCode: number = EXIT.invalidRunbook;
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.join('\n'));
  }
}

/** `cutover reconcile CONFIG [--json]` */
export async function runReconcile(file: string, json: boolean, out: Output): Promise<number> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    if (statSync(absolute).isDirectory()) throw new UsageError(`${file} is a directory; give the reconciliation config's YAML file`);
    text = readFileSync(absolute, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `config file ${file} does not exist` : `cannot read config file ${file} (${code ?? (err as Error).message})`,
    );
  }
  const shown = path.relative(process.cwd(), absolute) || absolute;
  const parsed = parseReconcileConfig(text, shown);
  if (!parsed.ok) throw new InvalidReconcileConfigError(shown, parsed.problems.map(formatProblem));
  for (const warning of parsed.warnings) out.warn(`warning: ${formatProblem(warning)}`);

  // Ctrl-C stops the reading cleanly (cursors closed, the CSV sort file removed).
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const labels = { source: '', target: '' };
  try {
    const result = await reconcile(parsed.config, { baseDir: path.dirname(absolute), signal: stop.signal });
    labels.source = describe(parsed.config.source);
    labels.target = describe(parsed.config.target);
    if (json) out.json(result);
    else for (const line of formatResult(result, labels)) out.line(line);
    return result.within_limits ? EXIT.ok : EXIT.backedOut;
  } catch (err) {
    if (err instanceof SourceError || err instanceof DataError) throw new EnvironmentError(err.message);
    if (err instanceof ReconcileCancelledError) throw new InterruptedError(err.message);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function describe(spec: Parameters<typeof reconcile>[0]['source']): string {
  const what =
    'table' in spec && spec.table !== undefined ? `table ${spec.table}` : 'query' in spec && spec.query !== undefined ? 'query' : '';
  if (spec.driver === 'postgres') return `${postgresPlace(spec.url)}${what ? `, ${what}` : ''}`;
  return `${spec.driver === 'sqlite' ? 'SQLite' : 'CSV'} file ${spec.path}${what ? `, ${what}` : ''}`;
}

/** Where a PostgreSQL side is, never with its password: host, port and database. */
function postgresPlace(url: string): string {
  if (url.includes('${env:')) return 'PostgreSQL (url from the environment)';
  try {
    const parsed = new URL(url);
    return `PostgreSQL ${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}
