/**
 * Temporal's time-skipping test server for one test file: the Java build from Maven Central that
 * `node scripts/setup.mjs --test` copies into .tools/java-test-server (the SDK's own download of it comes from a host
 * outside the package registries), started by scripts/temporal-test-server through @temporalio/testing. Timers jump
 * ahead whenever the test waits with `env.sleep` and the worker has nothing in hand, so weeks pass in seconds.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { installQuietRuntime } from '../../worker/create-worker.js';

const LAUNCHER = fileURLToPath(new URL('../../scripts/temporal-test-server', import.meta.url));

/** Starts the time-skipping server (about a second); `teardown()` stops it. */
export async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: path.resolve(LAUNCHER) } },
  });
}
