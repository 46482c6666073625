#!/usr/bin/env node
// The `cutover` command. It runs the compiled CLI from dist/ (built by `npm run build`, or by the setup step that
// `npm start` and `npm test` run first), so starting it never pays for a TypeScript compiler.
//
// The request commands an approver types on the night (approve, reject, done, backout, resolve) load the same CLI
// from one pre-compiled bundle with its code cache (see bin/cached-bundle.cjs and scripts/setup.mjs): their answer
// should take about as long as the stock `temporal` CLI's, not the time it takes Node to find and compile some three
// hundred files. Every other command, and every command when the bundle is missing, imports dist/cli/main.js.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const bundle = fileURLToPath(new URL('../dist/cli/requests.cjs', import.meta.url));
const REQUEST_COMMANDS = new Set(['approve', 'reject', 'done', 'ack', 'backout', 'resolve']);

if (!existsSync(main)) {
  console.error('cutover is not built yet: run `npm run build` (or `npm start`)');
  process.exit(1);
}
const cli =
  REQUEST_COMMANDS.has(process.argv[2] ?? '') && existsSync(bundle)
    ? createRequire(import.meta.url)('./cached-bundle.cjs').loadCachedBundle(bundle, `${bundle}.cache`)
    : await import(pathToFileURL(main).href);
process.exitCode = await cli.main(process.argv);
