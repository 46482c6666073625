#!/usr/bin/env node
// The `cutover` command. It runs the compiled CLI from dist/ (built by `npm run build`, or by the setup step that
// `npm start` and `npm test` run first), so starting it never pays for a TypeScript compiler.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error('cutover is not built yet: run `npm run build` (or `npm start`)');
  process.exit(1);
}
// cli/main.ts runs the command on import.
await import(pathToFileURL(main).href);
