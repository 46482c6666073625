/**
 * The PostgreSQL driver adapter for the Prisma CLI (`migrate deploy`, `migrate diff`), with the fixes
 * Prisma 6.19 + @prisma/adapter-pg 6.19 need here (see "PostgreSQL through Prisma 6.19 offline" in the
 * design notes). Loaded by prisma/prisma.config.ts only, in the CLI's own process: the application's
 * connection (prisma/connection.ts) needs none of this and gets none of it.
 */
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';

type Adapter = Awaited<ReturnType<PrismaPg['connect']>>;
type Queryable = Pick<Adapter, 'queryRaw'>;

/** A migration-aware adapter factory for the database at `url`. */
export function migrationAdapter(url: string): PrismaPg {
  unrefLongTimers();
  // allowExitOnIdle: idle pooled connections (10 s before pg-pool closes them) must not hold the CLI.
  const factory = new PrismaPg({ connectionString: url, allowExitOnIdle: true });
  const connect = factory.connect.bind(factory);
  factory.connect = async () => fixed(await connect());
  factory.connectToShadowDb = () => connectToShadowDb(factory, url);
  return factory;
}

/**
 * 1. Prisma's migrator reads catalog columns of type `name` (oid 19) and `char` (oid 18), which the
 *    adapter refuses ("Column type 'name' could not be deserialized", prisma/orm#27403). node-postgres
 *    reads both as strings already, so calling them `text` (oid 25) is all it takes.
 * 4. The adapter's `executeScript` splits a script on every `;`, which breaks a migration with a `;` in
 *    a string literal or a function body. PostgreSQL's simple query protocol takes a whole script in
 *    one query (and runs it as one implicit transaction), so that is what it gets.
 */
function fixed<T extends Adapter>(adapter: T): T {
  relabelCatalogColumns(adapter);
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (isolationLevel) => {
    const transaction = await startTransaction(isolationLevel);
    relabelCatalogColumns(transaction);
    return transaction;
  };
  const client = adapter.underlyingDriver();
  adapter.executeScript = async (script) => {
    try {
      await client.query(script);
    } catch (error) {
      // The adapter's own error conversion, so Prisma reports it as it would have.
      (adapter as unknown as { onError(error: unknown): never }).onError(error);
    }
  };
  return adapter;
}

function relabelCatalogColumns(queryable: Queryable): void {
  const io = queryable as unknown as { performIO(query: unknown): Promise<pg.QueryResult> };
  const performIO = io.performIO.bind(queryable);
  io.performIO = async (query) => {
    const result = await performIO(query);
    for (const field of result?.fields ?? []) {
      if (field.dataTypeID === 19 || field.dataTypeID === 18) field.dataTypeID = 25;
    }
    return result;
  };
}

/**
 * 3. `migrate diff --from-migrations` replays the migrations into a shadow database that the adapter
 *    creates on the same server (so the role needs CREATEDB). The adapter's own version connects with
 *    `{ connectionString, database }`, and node-postgres lets the string's database win: the "shadow"
 *    is the main database. Here the shadow pool gets parsed fields with the shadow's name, and it is
 *    dropped after its pool has ended (the adapter drops it first, which fails while connected, and
 *    leaves it behind).
 */
async function connectToShadowDb(factory: PrismaPg, url: string): Promise<Adapter> {
  const main = await factory.connect();
  const database = `cutover_shadow_${randomUUID().replace(/-/g, '')}`;
  await main.executeScript(`CREATE DATABASE "${database}"`);
  const pool = new pg.Pool({ ...parseIntoClientConfig(url), database, allowExitOnIdle: true });
  const shadow = fixed(await new PrismaPg(pool).connect());
  shadow.dispose = async () => {
    await pool.end();
    try {
      await main.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    } finally {
      await main.dispose();
    }
  };
  return shadow;
}

/**
 * 2. After a successful command the CLI would wait about 10 s before exiting: a 10-second timer set
 *    around the migration advisory lock is never cleared (and pg-pool keeps idle connections, with their
 *    own 10 s timer, unless `allowExitOnIdle`). An unref()ed timer does not keep the process alive, and
 *    nothing else in a CLI run waits that long, so long timers are unref()ed in this process.
 */
function unrefLongTimers(): void {
  const original = globalThis.setTimeout;
  if ((original as { cutoverUnref?: boolean }).cutoverUnref) return;
  const patched = ((handler: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) => {
    const timer = original(handler, delay, ...args);
    if ((delay ?? 0) >= 10_000) timer.unref();
    return timer;
  }) as typeof setTimeout;
  Object.assign(patched, original, { cutoverUnref: true });
  globalThis.setTimeout = patched;
}
