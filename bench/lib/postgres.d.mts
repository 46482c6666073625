// Types of postgres.mjs, for the TypeScript tests that import it (through test/support/postgres.ts).

export interface TestPostgres {
  port: number;
  /** The postmaster's process id (its backends are its children). */
  pid: number | undefined;
  /**
   * `postgresql://USER:PASSWORD@127.0.0.1:PORT/<database>`, as the superuser `postgres` unless `user`
   * is given (the store creates the database on first use).
   */
  url(database: string, user?: { name: string; password: string }): string;
  /** What the server wrote to its log so far. */
  log(): string;
  /** Fast shutdown, then the data folder removed; idempotent. */
  stop(): Promise<void>;
  /** SIGKILL and the data folder removed, synchronously (for an exit handler). */
  kill(): void;
}

export function freePort(): Promise<number>;

export function startPostgres(options?: { password?: string }): Promise<TestPostgres>;
