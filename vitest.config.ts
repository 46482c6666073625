import { defineConfig } from 'vitest/config';
import SlowestFirst from './test/support/sequencer.js';

export default defineConfig({
  test: {
    environment: 'node',
    // RECORD_HISTORIES=1 runs only the recorder of the histories the replay test uses.
    include: process.env.RECORD_HISTORIES === '1' ? ['test/support/record-histories.ts'] : ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Workflow tests run against a real Temporal server and a real worker on a busy 2-core box.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Stopping the shared dev server waits for its graceful shutdown (SIGKILL after 10 s).
    teardownTimeout: 30_000,
    // One Temporal dev server for the whole run; tests read its address with temporalAddress().
    globalSetup: ['test/support/global-setup.ts'],
    // Child processes rather than threads: the Temporal worker's native bridge and better-sqlite3 are happier with
    // a process each, and a crash takes down only its own file.
    pool: 'forks',
    // Three files at a time on two cores: most of a file's time is waiting (on Temporal, timers, child processes),
    // 900 s of CPU in a 750 s run at two; the third uses the waits. The tests wait on conditions, never on idleness.
    maxWorkers: 3,
    // The slowest files first, also on a fresh clone that has no timings yet (test/support/sequencer.ts).
    sequence: { sequencer: SlowestFirst },
  },
});
