#!/usr/bin/env node
/**
 * The static checks `npm test` runs before the tests: the type check, the lint and the format check, side by side
 * (each is one process on one core; in a row they took 80 s of a 2-core machine's time). Each one's output is held
 * and printed when it ends, so the three do not interleave; the exit code is non-zero when any of them failed.
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

const results = await Promise.all(CHECKS.map(run));
for (const r of results) {
  if (!r.ok) process.stdout.write(r.text);
  console.log(`checks: ${r.name} ${r.ok ? 'passed' : 'FAILED'} (${r.seconds.toFixed(0)} s)`);
}
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
