#!/usr/bin/env node
/**
 * `npm test` after the setup: the static checks (scripts/checks.mjs) and vitest side by side. Most of the suite waits
 * on Temporal, timers and child processes rather than the CPU, so the checks' minute of CPU fits beside it instead
 * of before it. Vitest's output streams as usual; the checks' lines come after it, with the output of any check that
 * failed. Arguments go to vitest (`npm test -- test/web.test.ts`). Exit code: vitest's when it failed, else 1 when a
 * check failed, else 0.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChecks } from './checks.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vitest = path.join(root, 'node_modules', '.bin', 'vitest');

const checks = runChecks();
const tests = new Promise((resolve) => {
  const child = spawn(vitest, ['run', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  child.on('error', (err) => {
    console.error(`test: could not start ${vitest}: ${err.message}; run \`node scripts/setup.mjs\``);
    resolve(1);
  });
  child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
});

const [testCode, { ok, report }] = await Promise.all([tests, checks]);
process.stdout.write(`\n${report}`);
process.exitCode = testCode !== 0 ? testCode : ok ? 0 : 1;
