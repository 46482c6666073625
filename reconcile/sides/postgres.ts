/**
 * A PostgreSQL side: rows streamed through a server-side cursor (DECLARE ... FETCH in a
 * read-only transaction), so a table of any size crosses the wire a batch at a time.
 *
 * Ordering: text keys are ordered `COLLATE "C"` (bytes of UTF-8), never the database's locale
 * collation, which sorts `a` < `B` < `b` and would not match the other side; keys declared
 * integer are ordered by their bigint value. Values arrive as PostgreSQL's text, except numbers
 * (integers and floats become numbers, bigints too while they are exact) and booleans (1/0, as
 * SQLite stores them); the session runs in UTC so timestamps with a time zone read the same on
 * every machine.
 */
import pg from 'pg';
import { SourceError, DataError } from '../errors.js';
import { integerHashSql } from '../sample.js';
import { quoteIdent, type ColumnInfo, type ReadPlan, type Side } from './side.js';

export interface PostgresRelation {
  table?: string | undefined;
  query?: string | undefined;
}

const INTEGER_TYPES = new Set([20, 21, 23]);

const parsers: Record<number, (text: string) => unknown> = {
  16: (v) => (v === 't' ? 1 : 0),
  20: (v) => {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  },
  21: Number,
  23: Number,
  26: Number,
  700: Number,
  701: Number,
};
const types = {
  getTypeParser: ((oid: number) => parsers[oid] ?? ((v: string) => v)) as unknown as typeof pg.types.getTypeParser,
};

/** Resolves `${env:NAME}` in a setting; throws {@link SourceError} naming a variable that is not set. */
export function resolveEnvRefs(text: string, env: Record<string, string | undefined>, role: 'source' | 'target', field: string): string {
  return text.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined || value === '') {
      throw new SourceError(
        role,
        `\`${role}.${field}\` takes \${env:${name}} from the environment, but ${name} is not set; export it and run again`,
      );
    }
    return value;
  });
}

/**
 * The longest one statement of a comparison may run on the server when nobody says otherwise (an hour, the default
 * timeout of a reconcile step). A client that goes away does not stop a statement the server is busy with: a sort of a
 * large table goes on until it has rows to send, so the session sets its own limit.
 */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 60 * 60 * 1000;

/** Connects to a PostgreSQL side; throws {@link SourceError} with one sentence when it cannot. */
export async function openPostgresSide(
  url: string,
  relation: PostgresRelation,
  role: 'source' | 'target',
  statementTimeoutMs = DEFAULT_STATEMENT_TIMEOUT_MS,
): Promise<Side> {
  let where: string;
  try {
    const parsed = new URL(url);
    where = `PostgreSQL at ${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
  } catch {
    throw new SourceError(role, `\`${role}.url\` is not a connection URL; write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE`);
  }
  const label = `the ${role} (${where})`;
  const client = new pg.Client({
    connectionString: url,
    types,
    connectionTimeoutMillis: 15_000,
    application_name: 'cutover reconcile',
    // Sent as a session setting at connection: the server stops any statement of this session past it.
    statement_timeout: Math.max(1, Math.ceil(statementTimeoutMs)),
  });
  // An error after connecting (the server going away) surfaces on the next query; without a
  // listener it would crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(`SET TIME ZONE 'UTC'`);
  } catch (err) {
    await client.end().catch(() => {});
    throw new SourceError(role, `cannot connect to ${label}: ${describePgError(err)}`);
  }
  return new PostgresSide(client, relation, role, label, statementTimeoutMs);
}

function describePgError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'the connection was refused; check that the server runs and that the host and port in the url are right';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve; check the host in the url';
    case 'ETIMEDOUT':
      return 'no answer from the host; check the host, the port and the network';
    case '28P01':
    case '28000':
      return `${oneLine(err)}; check the user and password in the url`;
    case '3D000':
      return `${oneLine(err)}; check the database name at the end of the url`;
    default:
      return `${oneLine(err)}; check the url`;
  }
}

class PostgresSide implements Side {
  readonly samplesInSql = true;
  private info: ColumnInfo[] | undefined;

  constructor(
    private readonly client: pg.Client,
    private readonly relation: PostgresRelation,
    readonly role: 'source' | 'target',
    readonly label: string,
    private readonly statementTimeoutMs: number,
  ) {}

  private from(): string {
    const { table, query } = this.relation;
    if (table !== undefined) return table.split('.').map(quoteIdent).join('.');
    return `(${query!.trim().replace(/;\s*$/, '')})`;
  }

  private refused(err: unknown, what: string): Error {
    const e = err as { code?: string };
    const field = this.relation.table !== undefined ? 'table' : 'query';
    if (e.code === '42P01')
      return new SourceError(
        this.role,
        `${this.label} has no table \`${this.relation.table ?? '?'}\` (${oneLine(err)}); check \`${this.role}.${field}\``,
      );
    if (e.code === '57014') {
      return new SourceError(
        this.role,
        `${this.label} stopped the ${what} after ${Math.round(this.statementTimeoutMs / 1000)} s (statement_timeout, the comparison's timeout); give the step a longer \`timeout\` or read less`,
      );
    }
    if (e.code === '22P02' || e.code === '22003') {
      return new DataError(
        this.role,
        `${this.label} holds a key that cannot be read as its declared type (${oneLine(err)}); declare the key as text or fix the row`,
      );
    }
    return new SourceError(this.role, `${this.label} refused the ${what}: ${oneLine(err)}; check \`${this.role}.${field}\``);
  }

  async columns(): Promise<ColumnInfo[]> {
    if (this.info) return this.info;
    try {
      const result = await this.client.query({ text: `SELECT * FROM ${this.from()} AS q LIMIT 0`, rowMode: 'array' });
      this.info = result.fields.map((f) => ({ name: f.name, integer: INTEGER_TYPES.has(f.dataTypeID) }));
    } catch (err) {
      throw this.refused(err, this.relation.table !== undefined ? 'table' : 'query');
    }
    return this.info;
  }

  async *read(plan: ReadPlan): AsyncIterable<unknown[][]> {
    const info = await this.columns();
    const integer = new Set(info.filter((c) => c.integer).map((c) => c.name));
    const select: string[] = [];
    const order: string[] = [];
    for (const key of plan.keys) {
      const column = `q.${quoteIdent(key.column)}`;
      if (key.type === 'integer') {
        // The raw value is read, so a 7.5 is refused by name instead of becoming 8 in a CAST.
        select.push(column);
        order.push(integer.has(key.column) ? column : `CAST(${column} AS bigint)`);
      } else {
        select.push(`CAST(${column} AS text)`);
        order.push(`CAST(${column} AS text) COLLATE "C"`);
      }
    }
    for (const c of plan.columns) select.push(`q.${quoteIdent(c)}`);
    let where = '';
    if (plan.sample) {
      const key = plan.keys[0]!;
      const expr = integer.has(key.column) ? `q.${quoteIdent(key.column)}::bigint` : `CAST(q.${quoteIdent(key.column)} AS bigint)`;
      where = ` WHERE ${integerHashSql(expr, plan.sample.params)} < ${plan.sample.threshold}`;
    }
    const sql = `SELECT ${select.join(', ')} FROM ${this.from()} AS q${where} ORDER BY ${order.join(', ')}`;
    let open = false;
    try {
      try {
        await this.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        open = true;
        await this.client.query(`DECLARE cutover_reconcile NO SCROLL CURSOR FOR ${sql}`);
      } catch (err) {
        throw this.refused(err, 'read');
      }
      for (;;) {
        let rows: unknown[][];
        try {
          rows = (await this.client.query({ text: `FETCH FORWARD ${plan.batchSize} FROM cutover_reconcile`, rowMode: 'array' }))
            .rows as unknown[][];
        } catch (err) {
          throw this.refused(err, 'read');
        }
        if (rows.length === 0) break;
        yield rows;
        if (rows.length < plan.batchSize) break;
      }
    } finally {
      if (open) await this.client.query('ROLLBACK').catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.replace(/[.\s]+$/, '');
}
