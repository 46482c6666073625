/**
 * Fault 1: the worker hosting a run is SIGKILLed at seeded moments of a 30-step runbook
 * (three parallel streams, two manual steps, a go/no-go gate, a failing last step that backs
 * the whole run out) and a new `cutover worker` takes over. The run must end exactly as it
 * would have without the kills, no completed step may run twice, and the record store must
 * agree with the run Temporal kept. `npm run bench -- survive` does the same with 20 kills.
 */
import { afterEach, expect, it } from 'vitest';
import { killChildren, killPlans, killWorker, runThroughFaults, useStoreTemplate } from './support/faults/index.js';
import { temporalAddress } from './support/temporal.js';
import { storeTemplatePath } from './support/store-template.js';

// Every scene starts with a migrated store: no scenario here is about migrating.
useStoreTemplate(storeTemplatePath());

afterEach(killChildren);

// Seed 7: one kill moment in the forward part of the run. FAULTS_SEED replays another.
const SEED = Number(process.env.FAULTS_SEED ?? 7);

it('a run whose worker is SIGKILLed ends as it would have, runs no step twice, and its record matches Temporal', async () => {
  const plans = killPlans(SEED, 1, 45);
  const report = await runThroughFaults(temporalAddress(), `kill-${Date.now().toString(36)}`, plans, SEED, killWorker, (line) =>
    console.log(line),
  );
  expect(report.faults, 'kills that landed before the run ended').toBe(plans.length);
  expect(report.people.surprises).toEqual([]);
  expect(report.outcome).toEqual(report.expected);
  expect(report.repeated).toEqual([]);
  expect(report.storeProblems).toEqual([]);
  expect(report.orderProblems).toEqual([]);
  // The lead's terminal followed the run through the kills and says it backed out.
  expect(report.followerExit, report.followerOutput).toBe(4);
}, 600_000);
