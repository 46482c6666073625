/**
 * Faults on the night, shared by the `test/faults-*.test.ts` files (small counts) and by
 * `bench/survive.mjs` (full counts): a 30-step runbook with parallel streams, manual steps, a
 * gate and a failing last step; separate `cutover worker` processes to SIGKILL and restart; a
 * Temporal dev server to SIGKILL and restart on its database file; a process that holds the
 * record store locked; the people (owners, approvers and the lead) played through the CLI; and
 * the oracles: the outcome a run must end with, the ledger of commands that ran, the record
 * store against the state the workflow returns, and the order of the back-out.
 *
 * Self-contained on purpose: these files import only Node built-ins and `@temporalio/client` at
 * run time, and cutover's own modules from the build (`dist/`), like the CLI the tests run. That
 * lets the bench transpile this folder and use the very same scenarios (see bench/survive.mjs).
 * Project modules are imported for their types only.
 */
export * from './processes.js';
export * from './runbook.js';
export * from './oracles.js';
export * from './scene.js';
export * from './scenarios.js';
