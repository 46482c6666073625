// Loads a CommonJS bundle of cutover with a V8 code cache beside it, so that a short command compiles nothing: the
// bundle of the request commands holds the Temporal client, whose parsing and compiling is a good part of what an
// approver waits for. Written when missing or no longer accepted (another Node version): when that is not possible
// (a read-only install), the bundle is simply compiled as usual.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');
const { pathToFileURL } = require('node:url');

/**
 * The bundle's exports; `cacheFile` is read, and written when it is missing or stale. With `warmOnExit`, the first
 * command rewrites it as it exits (see below).
 */
function loadCachedBundle(file, cacheFile, { warmOnExit = true } = {}) {
  const source = fs.readFileSync(file, 'utf8');
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // A function compiled from a code cache cannot run `import()` (Node 20 loses its loader: "A dynamic import
  // callback was not specified"), so the bundles' few imports of what stays outside them (the Prisma clients, the
  // native SQLite module, the console's modules) go through this function, which lives outside the cache.
  globalThis.__cutoverImport ??= (specifier) =>
    import(specifier.startsWith('.') ? pathToFileURL(path.resolve(path.dirname(file), specifier)).href : specifier);
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    cachedData,
    // The bundle leaves every other command's module outside, loaded with import() as usual.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(path.dirname(file));
  script.runInThisContext()(bundle.exports, (id) => bundle.require(id), bundle, file, path.dirname(file));
  bundle.loaded = true;
  if (cachedData === undefined || script.cachedDataRejected) writeCache(script, cacheFile);
  // A cache written before any command ran holds only what loading compiled; the first command to run here rewrites
  // it with what the command compiled too (the Temporal client's calls), once.
  const warm = `${cacheFile}.warm`;
  if (warmOnExit && !fs.existsSync(warm)) {
    process.once('beforeExit', () => {
      if (writeCache(script, cacheFile)) fs.writeFileSync(warm, '');
    });
  }
  return bundle.exports;
}

/** Writes `script`'s code cache whole (or not at all); false when it cannot be written here. */
function writeCache(script, cacheFile) {
  try {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile);
    return true;
  } catch {
    // Not writable here (a read-only install): the next start compiles again, no worse than without a cache.
    return false;
  }
}

module.exports = { loadCachedBundle };
