#!/usr/bin/env node
// `npm run bench -- NAME`: runs bench/NAME.mjs. Each benchmark measures cutover against its
// named baseline in one run and ends with one line per target:
//   NAME.FIGURE = VALUE (target OP LIMIT) PASS|FAIL
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs')
  .map((f) => f.slice(0, -4));
const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME, with NAME one of: ${available.join(', ')}`);
  process.exit(2);
}
const file = path.join(here, `${name}.mjs`);
if (!existsSync(file)) process.exit(2);
const { main } = await import(file);
process.exitCode = await main(process.argv.slice(3));
