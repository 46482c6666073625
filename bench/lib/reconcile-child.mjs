// One reconciliation in a process of its own, so its peak memory is its own: reads a config file,
// runs the built engine (dist/), prints one JSON line with the result's counts, the wall time and
// the peak resident set size. Used by bench/reconcile.mjs; prints nothing else.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Not support.mjs: it loads the Temporal client, whose memory would count against the reconcile.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (p) => import(path.join(root, 'dist', p));

const file = process.argv[2];
const { parseReconcileConfig } = await dist('reconcile/parse-config.js');
const { reconcile } = await dist('reconcile/reconcile.js');
const parsed = parseReconcileConfig(readFileSync(file, 'utf8'), file);
if (!parsed.ok) {
  console.error(JSON.stringify(parsed.problems));
  process.exit(3);
}
const started = performance.now();
const result = await reconcile(parsed.config, { baseDir: path.dirname(file) });
const ms = performance.now() - started;
const counts = { ...result };
delete counts.examples;
delete counts.key_examples;
process.stdout.write(`${JSON.stringify({ ms, maxRssMB: process.resourceUsage().maxRSS / 1024, ...counts })}\n`);
