/**
 * Fault 2: the Temporal server is SIGKILLed mid-run and restarted on its database file, on the
 * same port. The run continues and ends as it would have, with no step run twice and a record
 * that matches. `npm run bench -- survive` does it 5 times.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  killChildren,
  killPlans,
  killServer,
  runThroughFaults,
  startKillableServer,
  type KillableServer,
  useStoreTemplate,
} from './support/faults/index.js';
import { storeTemplatePath } from './support/store-template.js';

// Every scene starts with a migrated store: no scenario here is about migrating.
useStoreTemplate(storeTemplatePath());

let server: KillableServer;
beforeAll(async () => {
  // Its own server: the one every other test file shares must not die.
  server = await startKillableServer(mkdtempSync(path.join(tmpdir(), 'cutover-killable-temporal-')));
});
afterAll(async () => {
  killChildren();
  await server?.stop();
});

const SEED = Number(process.env.FAULTS_SEED ?? 3);

it('a run survives its Temporal server being SIGKILLed and restarted on its database file', async () => {
  const plans = killPlans(SEED, 1, 45);
  const report = await runThroughFaults(server.address, `server-kill-${Date.now().toString(36)}`, plans, SEED, killServer(server), (line) =>
    console.log(line),
  );
  expect(report.faults, 'server kills that landed before the run ended').toBe(plans.length);
  expect(report.people.surprises).toEqual([]);
  expect(report.outcome).toEqual(report.expected);
  expect(report.repeated).toEqual([]);
  expect(report.storeProblems).toEqual([]);
  expect(report.orderProblems).toEqual([]);
  expect(report.followerExit, report.followerOutput).toBe(4);
}, 600_000);
