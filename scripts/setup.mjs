#!/usr/bin/env node
// Brings a checkout to a runnable state: Node version, npm dependencies, the Temporal CLI, the Prisma client and the
// compiled build with its pre-bundled workflow code. Every step is skipped when already done, so `npm start` and
// `npm test` call this each time at almost no cost.
//
// Plain Node with built-ins only: on a fresh clone it runs before node_modules exists.
//
// Usage: node scripts/setup.mjs [--quiet] [--build] [--test]
//   --quiet  hide the "already set up" lines (work done and failures are always printed)
//   --build  rebuild dist/ even when it looks up to date
//   --test   also what the tests need: Chromium and Temporal's time-skipping test server (Java, from Maven Central)
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { differsOnlyInOtherPlatforms } from './lock-compare.mjs';
import { ensureBuild } from './setup/build.mjs';
import {
  FOR_TESTS,
  LOCK_HASH_STAMP,
  MIN_NODE,
  NATIVE_SENTINELS,
  PRISMA_SCHEMA,
  PRISMA_SCRIPT,
  PRISMA_STAMP_NAME,
  ROOT,
  SetupError,
  isExecutableFile,
  readText,
  rel,
  run,
  say,
  sayDone,
  sha256,
} from './setup/common.mjs';
import { ensureJavaTestServer } from './setup/java-test-server.mjs';
import { ensureTemporalCli } from './setup/temporal-cli.mjs';

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

// better-sqlite3 compiles SQLite from source in its install script, most of a fresh clone's npm ci (80 s here), and
// its build asks for -O3. -O2 is how SQLite's own build and the distributions' packages compile it, and takes 22 s
// less here; later flags win, so this applies only to C files (the binding's C++ keeps its flags). A CFLAGS of the
// user's own is left alone.
const INSTALL_ENV = process.env.CFLAGS === undefined ? { ...process.env, CFLAGS: '-O2' } : process.env;

async function installDependencies(lockFile, hash) {
  // npm ci also refuses a lock that lacks platform packages the registry does not have: this workplace's npm
  // registry has no darwin/win32 builds of @swc/core, so npm never writes them into the lock. A silent dry run (under a
  // second, touches nothing) tells that case apart before the real install, so the log shows no misleading npm error.
  const probe = run(NPM, ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund']);
  if (probe.missing) throw new SetupError('npm was not found on PATH: install Node with npm and rerun.');
  if (probe.ok || !/package\.json and package-lock\.json .*in sync/.test(probe.output)) {
    const ci = run(NPM, ['ci', '--no-audit', '--no-fund'], { inherit: true, env: INSTALL_ENV });
    if (!ci.ok) throw new SetupError(`npm ci failed (exit ${ci.status}): see its output above.`);
    return;
  }
  // `npm install` follows the same lock. If it leaves the lock unchanged, or adds and drops only optional packages
  // for other platforms (which builds the registry serves changes from day to day), the tree installed here is exactly
  // the locked one and the committed lock is put back; any other change means package.json really is ahead of it.
  say('npm ci refuses this lock (platform packages missing from the registry): installing the locked tree with npm install');
  const before = fs.readFileSync(lockFile);
  const install = run(NPM, ['install', '--no-audit', '--no-fund'], { inherit: true, env: INSTALL_ENV });
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
    if (FOR_TESTS) {
      ensureBrowser();
      ensureJavaTestServer();
    }
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
