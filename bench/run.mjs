#!/usr/bin/env node
// `npm run bench -- NAME [--smoke]`: runs bench/NAME.mjs. Each benchmark measures cutover against its
// named baseline in one run and ends with one line per target:
//   NAME.FIGURE = VALUE (target OP LIMIT) PASS|FAIL
// `--smoke` (or BENCH_SMOKE=1) runs it at tiny sizes: the whole path, speed not judged (SMOKE).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs')
  .map((f) => f.slice(0, -4));
const args = process.argv.slice(2);
// Set before the benchmark's module loads: its sizes are read when it does (bench/lib/support.mjs).
if (args.includes('--smoke')) process.env.BENCH_SMOKE = '1';
const [name, ...rest] = args.filter((a) => a !== '--smoke');
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME [--smoke], with NAME one of: ${available.join(', ')}`);
  process.exit(2);
}
const file = path.join(here, `${name}.mjs`);
if (!existsSync(file)) process.exit(2);
const { main } = await import(file);
const code = await main(rest);
// Exit now rather than when the last timer or handle goes: a benchmark's figures are printed, and a forgotten
// timer (a deadline raced and never cleared) must not keep the process up for minutes.
process.exit(code);
