/**
 * Starts ONE Temporal dev server for the whole test run (headless, its state in a temporary folder) and hands its
 * address to the tests; stops it at the end. With `TEMPORAL_ADDRESS` set, the tests use that server instead, as the
 * product would.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { findTemporalCli } from '../../cli/temporal-cli.js';
import { startDevServer } from '../../cli/temporal-server.js';
// Brings in the ProvidedContext keys.
import './temporal.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const namespace = process.env['TEMPORAL_NAMESPACE'] || 'default';
  project.provide('temporalNamespace', namespace);
  const external = process.env['TEMPORAL_ADDRESS'];
  if (external) {
    project.provide('temporalAddress', external);
    return undefined;
  }
  const cliPath = findTemporalCli(projectRoot);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-test-temporal-'));
  const server = await startDevServer({ cliPath, dataDir, namespace, ui: false });
  project.provide('temporalAddress', server.address);
  return async () => {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
