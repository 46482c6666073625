// Setup step e: the compiled build in dist/, the pre-bundled workflow code, and the bundles of the commands with
// their V8 code caches. Skipped when every source is older than the stamp and none was added or removed.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { BUILD_STAMP, DIST, FORCE_BUILD, ROOT, SOURCE_DIRS, SOURCE_EXT, SetupError, rel, run, say, sayDone } from './common.mjs';

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

export async function ensureBuild() {
  const sources = listSources();
  if (!FORCE_BUILD && buildIsCurrent(sources)) {
    sayDone('build up to date (dist/)');
    return;
  }
  removeOutputsOfDeletedSources(sources);
  // Taken before compiling: a source saved during the build is then newer than the stamp and triggers the next one.
  const startedAt = new Date();

  say('compiling TypeScript into dist/');
  await compileSources();

  const workflowsIndex = path.join(DIST, 'workflows', 'index.js');
  // Two bundles of the same workflow code: the second takes in the failure converter that workers with
  // CUTOVER_PAYLOAD_KEY load (dist/worker/failure-converter.js), so the failures the workflow raises itself are
  // encrypted like its activities' (the SDK loads a workflow's converters only through its bundle), and their payload
  // converter (dist/worker/payload-converter.js), which tells the workflow what arrived unencrypted.
  const bundles = [
    { file: path.join(DIST, 'workflow-bundle.js') },
    {
      file: path.join(DIST, 'workflow-bundle-encrypted-failures.js'),
      failureConverterPath: path.join(DIST, 'worker', 'failure-converter.js'),
      payloadConverterPath: path.join(DIST, 'worker', 'payload-converter.js'),
    },
  ];
  if (fs.existsSync(workflowsIndex)) {
    say('bundling the workflow code into dist/workflow-bundle.js and dist/workflow-bundle-encrypted-failures.js');
    // Done once here so that starting a worker never runs webpack.
    const worker = createRequire(path.join(ROOT, 'package.json'))('@temporalio/worker');
    const quietLogger = new worker.DefaultLogger('WARN');
    await Promise.all(
      bundles.map(async ({ file, failureConverterPath, payloadConverterPath }) => {
        let bundle;
        try {
          bundle = await worker.bundleWorkflowCode({
            workflowsPath: workflowsIndex,
            logger: quietLogger,
            ...(failureConverterPath ? { failureConverterPath } : {}),
            ...(payloadConverterPath ? { payloadConverterPath } : {}),
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
  await bundleCommands();
  fs.writeFileSync(BUILD_STAMP, `${JSON.stringify({ builtAt: startedAt.toISOString(), files: sources })}\n`);
  fs.utimesSync(BUILD_STAMP, startedAt, startedAt);
}

/**
 * Compiles the files tsconfig.json names into dist/, one module per source, with esbuild: a fresh clone's setup
 * waited 12.5 s (idle 2-core machine) for tsc to type-check while it emitted, a check `npm test` runs anyway
 * (`npm run typecheck`, the same compiler options; `isolatedModules` there makes it refuse anything a file-at-a-time
 * compiler would get wrong). esbuild takes half a second. tsconfig.json stays the one list of what is compiled and how.
 */
async function compileSources() {
  const require = createRequire(path.join(ROOT, 'package.json'));
  let ts;
  let esbuild;
  try {
    ts = require('typescript');
    esbuild = require('esbuild');
  } catch {
    throw new SetupError('TypeScript or esbuild is not installed (node_modules is incomplete): run `npm ci` and rerun.');
  }
  const configFile = path.join(ROOT, 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(configFile, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config || config.errors.length > 0) {
    const why = config?.errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('; ') ?? 'unreadable';
    throw new SetupError(`tsconfig.json: ${why}`);
  }
  const entryPoints = config.fileNames.filter((file) => !file.endsWith('.d.ts'));
  try {
    await esbuild.build({
      entryPoints,
      outdir: DIST,
      outbase: ROOT,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: true,
      tsconfig: configFile,
      logLevel: 'silent',
    });
  } catch (error) {
    const errors = error?.errors?.map((e) =>
      e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text,
    );
    if (errors?.length) console.error(errors.join('\n'));
    throw new SetupError('compiling the TypeScript sources failed: fix the errors above and rerun.');
  }
}

/**
 * The command bundles and their V8 code caches (bin/cutover.js picks one per command; see there why):
 * - `requests.cjs`: the request commands an approver types on the night (approve, reject, done, ack, backout,
 *   resolve) with the Temporal client they use, and nothing else, so that their answer is as quick as can be;
 * - `commands.cjs`: every other command that neither draws the console nor hosts a worker (status, list, gate,
 *   decisions, doctor, web, reconcile...), which otherwise read and compile some five hundred files at each start.
 * Modules left outside a bundle keep their `import()` and load from dist/ as usual.
 */
const COMMAND_BUNDLES = [
  {
    file: path.join(DIST, 'cli', 'requests.cjs'),
    what: 'the request commands',
    // Every other command's module stays outside: this bundle is reached only by the request commands.
    outside: (specifier) => specifier !== '../send-request.js',
  },
  {
    file: path.join(DIST, 'cli', 'commands.cjs'),
    what: 'the other commands',
    // The console (Ink, whose layout engine loads with a top-level await) and the worker (a native bridge and a
    // bundler) cannot live in a CommonJS bundle; bin/cutover.js sends the commands that reach them to dist/.
    outside: (specifier) => /console\/open-console|attach-console|host-worker|start-run|create-worker|@temporalio\/worker/.test(specifier),
  },
];

/** Our compiled modules (dist/, no dependency), as an esbuild filter. */
const OWN_MODULE = new RegExp(`^${DIST.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\\\\/].*\\.js$`);

async function bundleCommands() {
  say('bundling the commands into dist/cli/requests.cjs and dist/cli/commands.cjs');
  const esbuild = createRequire(path.join(ROOT, 'package.json'))('esbuild');
  for (const { file, what, outside } of COMMAND_BUNDLES) {
    const keepOutside = {
      name: 'keep-outside',
      setup(build) {
        build.onResolve({ filter: /.*/ }, (args) =>
          args.kind === 'dynamic-import' && outside(args.path) ? { path: args.path, external: true } : undefined,
        );
        // Our own modules' imports of a package or of a computed path stay outside the bundle: they go through
        // bin/cached-bundle.cjs's __cutoverImport (see there why), as do the outside modules below.
        build.onLoad({ filter: OWN_MODULE }, (args) => ({
          contents: fs.readFileSync(args.path, 'utf8').replace(/\bimport\((?!\s*['"]\.)/g, '__cutoverImport('),
          loader: 'js',
          resolveDir: path.dirname(args.path),
        }));
      },
    };
    let built;
    try {
      built = await esbuild.build({
        entryPoints: [path.join(DIST, 'cli', 'main.js')],
        outfile: file,
        metafile: true,
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        logLevel: 'error',
        plugins: [keepOutside],
        // Native modules, and the generated Prisma clients that find their engine files beside themselves.
        external: ['better-sqlite3', '#prisma/*', '@swc/*'],
        // The sources find the project from their own location; the bundles sit in dist/cli/ like main.js does.
        banner: { js: "const __cutoverModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
        define: { 'import.meta.url': '__cutoverModuleUrl' },
      });
    } catch (error) {
      throw new SetupError(`bundling ${what} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
    // The `import()`s esbuild left, of the modules kept outside (the console, the worker): through the same door.
    const outsideModules = Object.values(built.metafile.outputs).flatMap((output) =>
      output.imports.filter((entry) => entry.kind === 'dynamic-import' && entry.external).map((entry) => entry.path),
    );
    let code = fs.readFileSync(file, 'utf8');
    for (const specifier of new Set(outsideModules)) {
      code = code.replaceAll(`import(${JSON.stringify(specifier)})`, `__cutoverImport(${JSON.stringify(specifier)})`);
    }
    fs.writeFileSync(file, code);
    const cache = `${file}.cache`;
    fs.rmSync(cache, { force: true });
    fs.rmSync(`${cache}.warm`, { force: true });
    // Loading the bundle once (it runs no command by itself) writes its code cache; the first command rewrites it.
    const loader = path.join(ROOT, 'bin', 'cached-bundle.cjs');
    const cached = run(process.execPath, [
      '-e',
      `require(${JSON.stringify(loader)}).loadCachedBundle(${JSON.stringify(file)}, ${JSON.stringify(cache)}, { warmOnExit: false })`,
    ]);
    if (!cached.ok) throw new SetupError(`compiling ${what} failed: ${cached.output.split('\n')[0]}`);
  }
}
