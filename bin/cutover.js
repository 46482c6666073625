#!/usr/bin/env node
// The `cutover` command. It runs the compiled CLI from dist/ (built by `npm run build`, or by the setup step that
// `npm start` and `npm test` run first), so starting it never pays for a TypeScript compiler.
//
// Most commands load the same CLI from a pre-compiled bundle with its V8 code cache (see bin/cached-bundle.cjs and
// scripts/setup/build.mjs): they read two files instead of some five hundred, and compile next to nothing.
// - The request commands an approver types on the night (approve, reject, done, ack, backout, resolve) have a bundle
//   of their own, holding only them and the Temporal client: their answer should take about as long as the stock
//   `temporal` CLI's.
// - The commands that draw the console or host a worker (rehearse, run, attach, worker) import dist/cli/main.js:
//   neither Ink nor the worker's native bridge fits in a bundle. So does every command when a bundle is missing.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const REQUEST_COMMANDS = new Set(['approve', 'reject', 'done', 'ack', 'backout', 'resolve']);
const CONSOLE_OR_WORKER_COMMANDS = new Set(['rehearse', 'run', 'attach', 'worker']);

if (!existsSync(main)) {
  console.error('cutover is not built yet: run `npm run build` (or `npm start`)');
  process.exit(1);
}
const command = process.argv[2] ?? '';
const bundle = CONSOLE_OR_WORKER_COMMANDS.has(command)
  ? undefined
  : fileURLToPath(new URL(REQUEST_COMMANDS.has(command) ? '../dist/cli/requests.cjs' : '../dist/cli/commands.cjs', import.meta.url));
const cli =
  bundle !== undefined && existsSync(bundle)
    ? createRequire(import.meta.url)('./cached-bundle.cjs').loadCachedBundle(bundle, `${bundle}.cache`)
    : await import(pathToFileURL(main).href);
process.exitCode = await cli.main(process.argv);
