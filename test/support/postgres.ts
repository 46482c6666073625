/**
 * A real PostgreSQL server for one test file, started by the test itself. One implementation serves the tests and
 * the benchmarks: bench/lib/postgres.mjs (plain ESM, since bench/ runs without a TypeScript step).
 */
export { startPostgres, type TestPostgres } from '../../bench/lib/postgres.mjs';
