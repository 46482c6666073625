/**
 * A record store that does not answer for a few seconds while a step's checks are written is
 * not a failed step: against a real Temporal server, the checks of a manual step or a wait
 * pass, their results reach the store later through the workflow, and nothing backs out.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CheckOutcome } from '../run/state.js';
import { MemoryStore } from './support/memory-store.js';
import { resultOf, startHarness, type Harness } from './support/workflow-harness.js';

/** A store whose check writes fail `failures` times (a locked SQLite file, a network blip). */
class BlippingRecorder extends MemoryStore {
  checkWrites = 0;
  constructor(private failures: number) {
    super();
  }
  override async recordCheckResults(runId: string, stepId: string, attempt: number, checks: CheckOutcome[]): Promise<void> {
    this.checkWrites += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('database is locked');
    }
    await super.recordCheckResults(runId, stepId, attempt, checks);
  }
}

let h: Harness;
// The checkStep activity tries four times; all four fail, the workflow's own write succeeds.
const store = new BlippingRecorder(4);
beforeAll(async () => {
  h = await startHarness({ store });
});
afterAll(async () => {
  await h?.stop();
});

it('checks whose results could not be written still pass the step; the workflow writes them', async () => {
  const handle = await h.start(`
name: blip
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
backout: { policy: automatic }
phases:
  - id: p
    kind: migration
    steps:
      - id: settle
        title: Let it settle
        owner: dba
        action: { kind: wait, duration: 1s }
        checks:
          - { name: settled, kind: shell, command: "echo settled", expect: { exit_code: 0, output_contains: settled } }
        backout: { kind: shell, command: "touch undone" }
`);
  const result = await resultOf(handle);
  expect(result.status).toBe('completed');
  expect(result.state.backout.status).toBe('not_requested');
  expect(result.state.steps.settle).toMatchObject({
    status: 'succeeded',
    checks: [expect.objectContaining({ name: 'settled', passed: true })],
  });
  expect(existsSync(path.join(h.dir, 'undone'))).toBe(false);
  // Written once the store answered, by the workflow rather than the checks' activity.
  expect(store.checkWrites).toBe(5);
  expect(store.checks).toEqual([
    {
      runId: handle.workflowId,
      stepId: 'settle',
      attempt: 1,
      checks: [expect.objectContaining({ name: 'settled', passed: true, detail: 'exit code 0' })],
    },
  ]);
});
