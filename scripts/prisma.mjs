#!/usr/bin/env node
/**
 * Runs the project's own Prisma CLI (node_modules/prisma, 6.19) offline, with prisma/prisma.config.ts.
 *
 *   node scripts/prisma.mjs generate
 *   node scripts/prisma.mjs migrate deploy
 *   node scripts/prisma.mjs migrate diff --from-migrations prisma/migrations \
 *     --to-schema-datamodel prisma/schema.prisma --script
 *
 * Other scripts import `runPrisma(args, { env })` instead of spawning npx, so they get the same
 * environment. Plain Node ESM with built-ins only: it must work before anything is built or generated.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the project root (the folder holding package.json). */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const cliPath = path.join(projectRoot, 'node_modules', 'prisma', 'build', 'index.js');
const configPath = path.join(projectRoot, 'prisma', 'prisma.config.ts');

/**
 * The environment Prisma 6.19 needs to stay offline.
 *
 * On start the CLI makes sure native engines (schema engine binary, query engine library) exist, and
 * downloads them from binaries.prisma.sh when they don't: a host this workplace cannot reach, so every
 * command would fail before doing anything. It skips the download when PRISMA_SCHEMA_ENGINE_BINARY /
 * PRISMA_QUERY_ENGINE_LIBRARY name existing files. With `engine: "js"` in prisma.config.ts and
 * `engineType = "client"` in the schema neither native engine is ever executed (the schema engine and
 * the query compiler are WebAssembly), so any existing file serves; we name prisma's own package.json,
 * which is always there and is plainly not an engine if something ever did try to load it.
 * (`prisma version` is the one command that does run them, to print their versions: it fails here.)
 *
 * @param {NodeJS.ProcessEnv} [base] environment to extend (default: this process's)
 * @returns {NodeJS.ProcessEnv}
 */
export function prismaEnv(base = process.env) {
  const placeholder = path.join(projectRoot, 'node_modules', 'prisma', 'package.json');
  return {
    ...base,
    PRISMA_SCHEMA_ENGINE_BINARY: placeholder,
    PRISMA_QUERY_ENGINE_LIBRARY: placeholder,
    // Both of these phone home (update check, telemetry): pointless and slow without a network.
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  };
}

/**
 * Runs the Prisma CLI with `args` (e.g. `['migrate', 'deploy']`) from the project root and resolves with
 * its exit code and captured output. Never rejects for a non-zero exit: the caller decides what it means.
 *
 * @param {readonly string[]} args CLI arguments after `prisma`; `--config` is added unless given
 * @param {{ env?: NodeJS.ProcessEnv, stdio?: 'pipe' | 'inherit' }} [options]
 *   `env` is merged over this process's environment; `stdio: 'inherit'` streams to this terminal
 *   (stdout/stderr are then empty strings)
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
export function runPrisma(args, { env, stdio = 'pipe' } = {}) {
  if (!existsSync(cliPath)) {
    return Promise.resolve({
      code: 1,
      stdout: '',
      stderr: `The Prisma CLI is missing at ${cliPath}: run \`npm install\` in ${projectRoot} first.\n`,
    });
  }
  const fullArgs = args.includes('--config') ? [...args] : [...args, '--config', configPath];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...fullArgs], {
      cwd: projectRoot,
      env: prismaEnv({ ...process.env, ...env }),
      stdio: stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => resolve({ code: 1, stdout, stderr: stderr + String(error) + '\n' }));
    child.on('close', (code, signal) =>
      resolve({ code: code ?? 1, stdout, stderr: signal ? `${stderr}Prisma was killed by ${signal}.\n` : stderr }),
    );
  });
}

// Run as a command (not when imported by another script).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { code } = await runPrisma(process.argv.slice(2), { stdio: 'inherit' });
  process.exitCode = code;
}
