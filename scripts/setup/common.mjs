// What every setup step shares: where the project is, the command-line switches, the paths and stamps, how to say
// what is happening, and how to run a command. Plain Node with built-ins only (it runs before node_modules exists).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const args = new Set(process.argv.slice(2));
export const QUIET = args.has('--quiet');
export const FORCE_BUILD = args.has('--build');
// `npm test` also needs a real browser for the status page test.
export const FOR_TESTS = args.has('--test');

export const MIN_NODE = [20, 19];
// Pinned: a changed pin re-installs the project-local binary (see the version stamp below). Keep in step with
// TEMPORAL_CLI_VERSION in cli/temporal-cli.ts.
export const TEMPORAL_CLI_VERSION = '1.9.1';
export const EXE = process.platform === 'win32' ? 'temporal.exe' : 'temporal';
export const TOOLS_BIN = path.join(ROOT, '.tools', 'bin');
export const LOCAL_TEMPORAL = path.join(TOOLS_BIN, EXE);
export const LOCAL_TEMPORAL_STAMP = path.join(TOOLS_BIN, 'temporal.version');
export const LOCK_HASH_STAMP = path.join(ROOT, 'node_modules', '.cutover-lock-hash');
export const PRISMA_SCHEMA = path.join(ROOT, 'prisma', 'schema.prisma');
export const PRISMA_SCRIPT = path.join(ROOT, 'scripts', 'prisma.mjs');
export const PRISMA_STAMP_NAME = '.cutover-schema-hash';
export const DIST = path.join(ROOT, 'dist');
export const BUILD_STAMP = path.join(DIST, '.cutover-build-stamp');
export const SOURCE_DIRS = [
  'lib',
  'reconcile',
  'runbook',
  'run',
  'timing',
  'present',
  'plans',
  'common',
  'notify',
  'workflows',
  'activities',
  'worker',
  'cli',
  'web',
];
export const SOURCE_EXT = /\.(ts|tsx|mts|cts|json)$/;
// better-sqlite3 compiles from source in an install script; its output proves that install scripts ran.
export const NATIVE_SENTINELS = ['node_modules/better-sqlite3/build/Release/better_sqlite3.node'];

/** An expected failure: printed as one sentence, without a stack trace. */
export class SetupError extends Error {}

export const say = (line) => console.log(`setup: ${line}`);
export const sayDone = (line) => {
  if (!QUIET) say(line);
};
export const rel = (file) => path.relative(ROOT, file) || '.';

export function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function isExecutableFile(file) {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs a command; output is captured unless `inherit`, and shown only when the command fails. */
export function run(command, commandArgs, { inherit = false, env = process.env } = {}) {
  const result = spawnSync(command, commandArgs, {
    cwd: ROOT,
    env,
    stdio: inherit ? 'inherit' : 'pipe',
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    ok: result.status === 0,
    missing: result.error?.code === 'ENOENT',
    status: result.status,
    output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim(),
    error: result.error,
  };
}
