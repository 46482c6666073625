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
  /** The server's data folder. */
  dataDir: string;
  /**
   * Fast shutdown, then the data folder removed; idempotent. With `keepData`, the folder stays (a clean copy to
   * seed other servers with, see `startPostgres`'s `seed`); it throws if the server did not stop.
   */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** SIGKILL and the data folder removed, synchronously (for an exit handler). */
  kill(): void;
}

export function freePort(): Promise<number>;

export function startPostgres(options?: {
  password?: string;
  /** The data folder of a trusting server stopped with `keepData`: copied instead of running initdb. */
  seed?: string;
}): Promise<TestPostgres>;
