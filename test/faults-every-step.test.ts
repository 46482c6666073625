/**
 * Fault 4: a failure injected at every step of the 30-step runbook in turn (30 runs, a few at a
 * time through one `cutover worker`): each run backs out, undoing what ran in reverse
 * dependency order, as the record store's back-out rows show. And an undo that fails halts the
 * back-out for a person: nothing that step depends on is undone until the lead resolves it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RecordStore } from '../prisma/record-store.js';
import {
  backoutOrderViolations,
  cutover,
  eventually,
  faultRunbook,
  killChildren,
  liveState,
  openRecordStore,
  PEOPLE,
  resultOf,
  scene,
  STACK_TRACE,
  startRun,
  startWorker,
  storeMismatches,
  type Child,
  type Scene,
  useStoreTemplate,
} from './support/faults/index.js';
import { temporalAddress } from './support/temporal.js';
import { storeTemplatePath } from './support/store-template.js';

// Every scene starts with a migrated store: no scenario here is about migrating.
useStoreTemplate(storeTemplatePath());

let s: Scene;
let store: RecordStore;
let worker: Child;
beforeAll(async () => {
  s = await scene(temporalAddress(), 'every-step');
  store = await openRecordStore(s.databaseUrl);
  worker = await startWorker(s);
});
afterAll(async () => {
  worker?.kill('SIGINT');
  await worker?.exited;
  killChildren();
  await store?.close();
  await s?.close();
});

/** Runs at once: enough to overlap, few enough for two shared cores. */
const IN_FLIGHT = 6;

it('a failure at any of the 30 steps backs the run out, undoing what ran in reverse dependency order', async () => {
  const ids = faultRunbook({ name: 'probe', actions: 'simulate', people: false }).order;
  expect(ids).toHaveLength(30);
  const problems: string[] = [];
  const check = async (failAt: string, seed: number) => {
    const runbook = faultRunbook({ name: `fail-at-${failAt}`, actions: 'simulate', people: false, failAt, seed });
    const runId = await startRun(s, store, runbook);
    const result = await resultOf(s, runId);
    const detail = await store.findRun(runId);
    const say = (what: string) => problems.push(`failing ${failAt}: ${what}`);
    if (result.status !== 'backed_out' || result.state.backout.trigger !== 'step_failed') say(`ended ${result.status} (${result.outcome})`);
    for (const id of runbook.order) {
      const step = result.state.steps[id]!;
      const ran = step.status === 'succeeded' || step.status === 'failed';
      if (id === failAt && step.status !== 'failed') say(`${id} is ${step.status}, not failed`);
      if (runbook.dependsOn[id]!.has(failAt) && step.status !== 'cancelled') say(`${id} depends on ${failAt} but is ${step.status}`);
      const undo = step.backout?.status;
      if (ran && runbook.specs[id]!.undo && undo !== 'succeeded') say(`${id} ran but its undo is ${undo}`);
      if (!ran && undo !== undefined) say(`${id} did not run but has an undo ${undo}`);
    }
    for (const p of storeMismatches(detail, result)) say(p);
    for (const p of detail ? backoutOrderViolations(runbook, detail) : ['not in the store']) say(p);
  };
  // A few runs in flight at any time: the next starts as soon as one ends.
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < ids.length) {
        const i = next++;
        await check(ids[i]!, i);
      }
    }),
  );
  expect(problems).toEqual([]);
}, 600_000);

it('an undo that fails halts the back-out for the lead; nothing it depends on is undone until resolved', async () => {
  const runbook = faultRunbook({ name: 'stuck-undo', actions: 'simulate', people: false, failAt: 'final', failUndoAt: 'a4' });
  const runId = await startRun(s, store, runbook);
  const waiting = await eventually(
    () => liveState(s, runId),
    (st) => st?.steps.a4!.backout?.status === 'waiting',
    90_000,
    'the undo of a4 to wait',
  );
  expect(waiting!.status).toBe('waiting');
  expect(waiting!.steps.a4!.resolution).toMatchObject({ scope: 'backout', kind: 'failed' });
  // Give the back-out time to do everything it may do meanwhile (the other streams), then look.
  await eventually(
    () => liveState(s, runId),
    (st) => !Object.values(st!.steps).some((x) => x.backout?.status === 'running'),
    60_000,
    'the rest of the back-out to settle',
  );
  const undoneWhileWaiting = (await store.findRun(runId))!.steps
    .filter((r) => r.purpose === 'backout' && r.stepId !== 'a4')
    .map((r) => r.stepId);
  expect(undoneWhileWaiting.filter((id) => runbook.dependsOn.a4!.has(id))).toEqual([]);
  // The other streams do not depend on a4: their undos did not wait.
  expect(undoneWhileWaiting).toEqual(expect.arrayContaining(['c7', 'b6', 'final']));
  const status = await cutover(['status', runId], s.env, s.dir);
  expect(status.stdout).toMatch(/a4\s+waiting/);

  const resolved = await cutover(['resolve', runId, 'a4', '--done', '--as', PEOPLE.lead, '--reason', 'rows removed by hand'], s.env, s.dir);
  expect(resolved.code, resolved.stderr).toBe(0);
  expect(resolved.stderr).not.toMatch(STACK_TRACE);
  const result = await resultOf(s, runId);
  expect(result.status).toBe('backed_out');
  expect(result.state.steps.a4!.backout?.status).toBe('resolved');
  for (const id of ['a3', 'a2', 'a1', 'stop-writes', 'snapshot']) expect(result.state.steps[id]!.backout?.status, id).toBe('succeeded');
  const detail = await store.findRun(runId);
  expect(storeMismatches(detail, result)).toEqual([]);
  expect(backoutOrderViolations(runbook, detail!)).toEqual([]);
}, 300_000);
