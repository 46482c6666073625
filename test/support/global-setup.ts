/**
 * Starts ONE Temporal dev server for the whole test run (headless, its state in a temporary folder) and hands its
 * address to the tests; stops it at the end. With `TEMPORAL_ADDRESS` set, the tests use that server instead, as the
 * product would. Meanwhile it bundles the workflow code once for every test file's workers (webpack takes two
 * seconds of CPU a time, and a file runs in a process of its own), migrates one empty record store that tests copy
 * (store-template.ts), and makes the PostgreSQL data folder each file's server starts from, with a migrated record
 * store database in it (postgres.ts). Everything the run writes to the temporary folder goes in one of its own
 * (run-temp-dir.ts), removed at the end unless a file failed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { findTemporalCli } from '../../cli/temporal-cli.js';
import { startDevServer } from '../../cli/temporal-server.js';
import { openRecordStore } from '../../prisma/store.js';
import { startPostgres } from '../../bench/lib/postgres.mjs';
// Bring in the ProvidedContext keys.
import './temporal.js';
import './store-template.js';
import { releaseRunTempDir, useRunTempDir } from './run-temp-dir.js';
import { MIGRATED_DATABASE } from './postgres.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runDir = useRunTempDir();
  const namespace = process.env['TEMPORAL_NAMESPACE'] || 'default';
  project.provide('temporalNamespace', namespace);
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-test-bundle-'));
  const bundled = bundleWorkflows(path.join(bundleDir, 'workflow-bundle.js'));
  const seeded = seedPostgres();
  project.provide('storeTemplatePath', await migrateTemplate(path.join(bundleDir, 'store-template.db')));
  const external = process.env['TEMPORAL_ADDRESS'];
  let server: Awaited<ReturnType<typeof startDevServer>> | undefined;
  if (external) {
    const [bundlePath, seed] = await Promise.all([bundled, seeded]);
    project.provide('temporalAddress', external);
    project.provide('workflowBundlePath', bundlePath);
    project.provide('postgresSeedDir', seed?.dir ?? '');
  } else {
    const cliPath = findTemporalCli(projectRoot);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-test-temporal-'));
    const [started, bundlePath, seed] = await Promise.all([startDevServer({ cliPath, dataDir, namespace, ui: false }), bundled, seeded]);
    server = started;
    project.provide('temporalAddress', started.address);
    project.provide('workflowBundlePath', bundlePath);
    project.provide('postgresSeedDir', seed?.dir ?? '');
  }
  return async () => {
    await server?.stop();
    const { state } = project.vitest;
    const failed = state.getFiles().some((file) => file.result?.state === 'fail') || state.getUnhandledErrors().length > 0;
    const kept = releaseRunTempDir(runDir, failed);
    if (kept) console.log(`\n${kept}`);
  };
}

/**
 * Runs initdb once, opens (creates and migrates) an empty record store database in it and stops the server cleanly:
 * the data folder every test file's PostgreSQL starts from. Answers nothing when that fails (no PostgreSQL here,
 * say): the files then run initdb and migrate on their own, and fail there if they must.
 */
async function seedPostgres(): Promise<{ dir: string; remove: string } | undefined> {
  let server: Awaited<ReturnType<typeof startPostgres>> | undefined;
  try {
    server = await startPostgres();
    const store = await openRecordStore({ databaseUrl: server.url(MIGRATED_DATABASE), projectRoot });
    await store.close();
    await server.stop({ keepData: true });
    return { dir: server.dataDir, remove: path.dirname(server.dataDir) };
  } catch (error) {
    console.warn(`No PostgreSQL seed for the tests (each file will run initdb and migrate): ${String(error)}`);
    server?.kill();
    return undefined;
  }
}

/** Bundles the workflow code from source (not dist/: a test run sees the code as it is) into `file`. */
async function bundleWorkflows(file: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(projectRoot, 'workflows', 'index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  fs.writeFileSync(file, code);
  return file;
}

/** Opens (creates and migrates) an empty SQLite record store at `file` and closes it, leaving one self-contained file. */
async function migrateTemplate(file: string): Promise<string> {
  const store = await openRecordStore({ databaseUrl: `file:${file}`, projectRoot });
  await store.close();
  for (const side of ['-wal', '-shm', '-journal'])
    if (fs.existsSync(file + side) && fs.statSync(file + side).size > 0) throw new Error(`the store template left ${file}${side} behind`);
  return file;
}
