#!/usr/bin/env node
/**
 * The static checks `npm test` runs beside the tests: the type check, the lint and the format check, side by side
 * (each is one process on one core; in a row they took 80 s of a 2-core machine's time). Each one's output is held
 * and printed when it ends, so the three do not interleave. Run on its own (`node scripts/checks.mjs`), the exit
 * code is non-zero when any of them failed.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const CHECKS = [
  { name: 'typecheck', command: bin('tsc'), args: ['-p', 'tsconfig.test.json'] },
  { name: 'lint', command: bin('eslint'), args: ['.'] },
  { name: 'format', command: bin('prettier'), args: ['--check', '--log-level', 'warn', '.'] },
];

function run({ name, command, args }) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('error', (err) => resolve({ name, ok: false, text: `${name}: could not start ${command}: ${err.message}\n`, seconds: 0 }));
    child.on('close', (code) =>
      resolve({ name, ok: code === 0, text: Buffer.concat(output).toString(), seconds: (Date.now() - started) / 1000 }),
    );
  });
}

/** Runs the three checks side by side; resolves to one line per check (and the output of any that failed). */
export async function runChecks() {
  const results = await Promise.all(CHECKS.map(run));
  const report = results.map((r) => `${r.ok ? '' : r.text}checks: ${r.name} ${r.ok ? 'passed' : 'FAILED'} (${r.seconds.toFixed(0)} s)\n`);
  return { ok: results.every((r) => r.ok), report: report.join('') };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { ok, report } = await runChecks();
  process.stdout.write(report);
  process.exitCode = ok ? 0 : 1;
}
