/**
 * A KPI's freshness check during hypercare: its source (a SQL query, or an HTTP endpoint) gives the latest data time
 * of the report, and the run decides whether that is within the KPI's SLA (run/hypercare.ts). The check never fails
 * the activity: a source that cannot tell is an answer too (the KPI is then not fresh), with one line saying why.
 */
import path from 'node:path';
import type { FreshnessReading } from '../run/hypercare.js';
import { durationMs } from '../runbook/duration.js';
import type { FreshnessSource, Kpi } from '../runbook/hypercare.js';
import type { Action, Connection } from '../runbook/schema.js';
import { expandEnv } from './http-request.js';
import { resolveSecrets } from './secrets.js';
import { runSqlStatement } from './sql-process.js';

/** What the workflow sends for one KPI. */
export interface FreshnessRequest {
  runId: string;
  kpi: Pick<Kpi, 'id' | 'source'>;
  connections: Record<string, Connection>;
  baseDir: string;
}

/** Longest one freshness check may take unless its source says otherwise. */
const DEFAULT_FRESHNESS_TIMEOUT_MS = 30_000;

/** The freshness activity. */
export function createFreshnessActivities(deps: { fetch?: typeof fetch } = {}) {
  return {
    /** The latest data time of a KPI's report, or why it could not be told. `at` is the workflow's to set. */
    async checkFreshness(request: FreshnessRequest): Promise<Omit<FreshnessReading, 'at'>> {
      const kpiId = request.kpi.id;
      try {
        const latest = await latestDataTime(request, deps.fetch ?? fetch);
        return { kpiId, latest };
      } catch (err) {
        return { kpiId, error: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}

async function latestDataTime(request: FreshnessRequest, fetchFn: typeof fetch): Promise<string> {
  const source = request.kpi.source;
  const action = asAction(source);
  const secrets = resolveSecrets({ action, checks: [], connections: request.connections, baseDir: request.baseDir });
  try {
    return source.kind === 'sql'
      ? await fromSql(secrets.action as Extract<Action, { kind: 'sql' }>, secrets.connections, request.baseDir)
      : await fromHttp(secrets.action as Extract<Action, { kind: 'http' }>, source, fetchFn);
  } catch (err) {
    throw new Error(secrets.redact(err instanceof Error ? err.message : String(err)), { cause: err });
  }
}

/** The source as the action the secret resolution knows. */
function asAction(source: FreshnessSource): Action {
  if (source.kind === 'sql') return { kind: 'sql', connection: source.connection, query: source.query };
  return {
    kind: 'http',
    method: 'GET',
    url: source.url,
    ...(source.headers ? { headers: source.headers } : {}),
    ...(source.timeout ? { timeout: source.timeout } : {}),
  };
}

async function fromSql(
  action: Extract<Action, { kind: 'sql' }>,
  connections: Record<string, Connection>,
  baseDir: string,
): Promise<string> {
  const connection = connections[action.connection];
  if (!connection || connection.driver === 'csv') throw new Error(`connection ${action.connection} cannot answer a query`);
  const answer = await runSqlStatement({
    target:
      connection.driver === 'sqlite'
        ? { driver: 'sqlite', file: path.resolve(baseDir, connection.path), readonly: true }
        : { driver: 'postgres', url: connection.url, readonly: true },
    query: action.query,
    timeoutMs: DEFAULT_FRESHNESS_TIMEOUT_MS,
  });
  if (answer.kind !== 'rows') {
    const why = 'message' in answer ? answer.message : answer.kind.replace('_', ' ');
    throw new Error(`the query on ${action.connection} gave no time: ${why}`);
  }
  if (answer.rowCount === 0 || answer.first === null || answer.first === undefined)
    throw new Error(`the query on ${action.connection} found no data`);
  return asTime(answer.first, `the query on ${action.connection}`);
}

async function fromHttp(
  action: Extract<Action, { kind: 'http' }>,
  source: Extract<FreshnessSource, { kind: 'http' }>,
  fetchFn: typeof fetch,
): Promise<string> {
  const url = expandEnv(action.url);
  const headers = Object.fromEntries(Object.entries(action.headers ?? {}).map(([k, v]) => [k, expandEnv(v)]));
  const timeoutMs = action.timeout ? durationMs(action.timeout) : DEFAULT_FRESHNESS_TIMEOUT_MS;
  const response = await fetchFn(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const body = (await response.text()).slice(0, 1_000_000);
  if (!response.ok) throw new Error(`GET ${url} answered HTTP ${response.status}`);
  if (!source.field) return asTime(body.trim(), `GET ${url}`);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new Error(`GET ${url} did not answer JSON, so has no field ${source.field}`);
  }
  for (const part of source.field.split('.')) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (value === undefined || value === null) throw new Error(`GET ${url} answered without ${source.field}`);
  return asTime(value, `${source.field} of GET ${url}`);
}

/** A time as an ISO string: an ISO text, a Date, or seconds (or milliseconds) since 1970. */
function asTime(value: unknown, what: string): string {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number' || typeof value === 'bigint') {
    const n = Number(value);
    ms = n < 1e12 ? n * 1000 : n;
  } else if (typeof value === 'string')
    ms = Date.parse(
      /^\d{4}-\d\d-\d\d \d/.test(value) ? `${value.replace(' ', 'T')}${/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? '' : 'Z'}` : value,
    );
  else ms = Number.NaN;
  if (!Number.isFinite(ms)) throw new Error(`${what} gave ${JSON.stringify(String(value)).slice(0, 80)}, which is not a time`);
  return new Date(ms).toISOString();
}
