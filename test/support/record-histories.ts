/**
 * Records the histories that test/workflow-replay.test.ts replays. Run only on purpose, for a
 * deliberate, versioned workflow change: `RECORD_HISTORIES=1 npx vitest run` (the config then
 * runs this file alone, against the test Temporal server). Before re-recording, move the
 * current files into histories/earlier/ under a new name: they keep proving that runs started
 * by the older workflow still finish.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { HISTORIES, SCENARIOS } from './history-scenarios.js';
import { startHarness, type Harness } from './workflow-harness.js';

describe('recording histories', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.stop());
  for (const [name, drive] of Object.entries(SCENARIOS)) {
    it(`records ${name}`, async () => {
      const workflowId = await drive(h);
      const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
      mkdirSync(HISTORIES, { recursive: true });
      const H = temporal.api.history.v1.History;
      writeFileSync(
        path.join(HISTORIES, `${name}.json`),
        `${JSON.stringify(H.toObject(H.fromObject(history), { longs: String, enums: String, bytes: String }))}\n`,
      );
    });
  }
});
