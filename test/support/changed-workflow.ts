/**
 * A deliberately non-deterministic change of the run workflow (a timer before the first
 * step), used to prove the replay test catches such changes.
 */
import { sleep } from '@temporalio/workflow';
import type { RunInput, RunResult } from '../../run/state.js';
import { cutoverRun as current } from '../../workflows/cutover-run.js';

export async function cutoverRun(input: RunInput): Promise<RunResult> {
  await sleep(1);
  return current(input);
}
