/**
 * A deployment for one scenario: a Temporal server, a record store, workers, and the people played through the CLI.
 * Part of the fault scenarios (index.ts says what they are and why they import the way they do).
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { RecordStore } from '../../../prisma/record-store.js';
import type { RunResult, RunState, StepState } from '../../../run/state.js';
import { type Child, STACK_TRACE, cutover, eventually, readRunState, startCutover } from './processes.js';
import { type FaultRunbook, PEOPLE, type Role } from './runbook.js';
import { ledger } from './oracles.js';
import { readClosedRun } from './closed-run.js';

// ---------------------------------------------------------------------------------------------
// A deployment: a Temporal server, a record store, workers and the people

/** A folder for one scenario: its runbook, its ledger, its record store, and the environment every process shares. */
export interface Scene {
  dir: string;
  env: Record<string, string>;
  databaseUrl: string;
  client: Client;
  close(): Promise<void>;
}

let storeTemplate: string | undefined;

/**
 * Scenes from now on start with a copy of `file`, an empty record store with every migration applied (the tests'
 * store-template.ts), instead of an empty file their first command migrates: `prisma migrate deploy` is two seconds of
 * CPU in a process of its own, and no scenario is about migrating. The bench does not call it.
 */
export function useStoreTemplate(file: string): void {
  storeTemplate = file;
}

/** A fresh scene against the Temporal server at `address`, on a task queue of its own. */
export async function scene(address: string, name: string): Promise<Scene> {
  const dir = mkdtempSync(path.join(tmpdir(), `cutover-${name}-`));
  const databaseUrl = `file:${path.join(dir, 'cutover.db')}`;
  if (storeTemplate) copyFileSync(storeTemplate, path.join(dir, 'cutover.db'));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('TEMPORAL_') && !k.startsWith('CUTOVER_')) env[k] = v;
  Object.assign(env, {
    CUTOVER_HOME: path.join(dir, '.cutover'),
    CUTOVER_DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: address,
    CUTOVER_TASK_QUEUE: `${name}-${path.basename(dir)}`,
  });
  const client = new Client({ connection: await Connection.connect({ address }) });
  return { dir, env, databaseUrl, client, close: () => client.connection.close() };
}

/** Starts a `cutover worker` and waits until it polls. */
export async function startWorker(s: Scene, timeoutMs = 90_000): Promise<Child> {
  const worker = startCutover(['worker'], s.env, s.dir);
  await Promise.race([
    eventually(
      () => worker.output(),
      (o) => o.includes('Ctrl-C stops it'),
      timeoutMs,
      'the worker to start',
    ),
    worker.exited.then((code) => {
      throw new Error(`the worker exited with ${code} before it started: ${worker.output()}`);
    }),
  ]);
  return worker;
}

/** SIGKILLs a process and waits until it is gone. */
export async function sigkill(child: Child): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await child.exited;
}

/** The live state, or undefined when nobody answers (no worker, no server) within a few seconds. */
export async function liveState(s: Scene, runId: string): Promise<RunState | undefined> {
  const read = await readRunState();
  try {
    return await s.client.withDeadline(Date.now() + 4000, async () => (await read(s.client.workflow.getHandle(runId))).state);
  } catch {
    return undefined;
  }
}

/** Steps in the record store for a run (0 before the run is reserved). */
export async function recordedRows(store: RecordStore, runId: string): Promise<number> {
  return (await store.findRun(runId))?.steps.length ?? 0;
}

/** What the people did while {@link playPeople} ran. */
export interface PeopleLog {
  actions: string[];
  /** The lead's decisions about outcome-unknown steps, with what the ledger said. */
  resolutions: string[];
  /** Anything a person met that the scenario does not expect: a real failure, a CLI error. */
  surprises: string[];
}

/**
 * Plays every person of a run through the CLI until `stop` resolves: the owner of a waiting
 * manual step marks it done, each approver role still awaited on an open gate approves, and
 * the lead resolves steps the worker was lost in.
 *
 * How the lead decides about an outcome-unknown step (or undo): by looking at what it changed,
 * as a lead would check the target system. Each command appends its idempotency key to the
 * ledger as its last act, so a key in the ledger means it applied: `resolve --done`; no key
 * means it never got that far: `resolve --retry`. Looking is safe because the outcome is
 * declared unknown only after the heartbeat timeout (30 s), and a command outlives its worker
 * (own process group) for at most 0.3 s, so by then it has finished or will never run.
 * A step that could not start is retried (nothing ran). Any other failure is a surprise.
 */
export async function playPeople(
  s: Scene,
  runId: string,
  stop: Promise<unknown>,
  log: PeopleLog = { actions: [], resolutions: [], surprises: [] },
): Promise<PeopleLog> {
  let stopped = false;
  void stop.finally(() => (stopped = true));
  const asked = new Map<string, number>();
  // A request answered by the run shows in the next state; one that was lost (a worker died
  // under it) is asked again after a while.
  const ask = async (what: string, args: string[]): Promise<void> => {
    const last = asked.get(what);
    if (last !== undefined && Date.now() - last < 20_000) return;
    asked.set(what, Date.now());
    const result = await cutover(args, s.env, s.dir, 90_000);
    log.actions.push(`${what} -> ${result.code}`);
    // 7: refused, e.g. a vote that already counted when the first answer was lost.
    if (result.code !== 0 && result.code !== 7)
      log.surprises.push(`${args.join(' ')} exited ${result.code}: ${result.stderr.trim().split('\n')[0]}`);
    if (STACK_TRACE.test(result.stderr)) log.surprises.push(`${args.join(' ')} printed a stack trace: ${result.stderr}`);
  };
  while (!stopped) {
    const state = await liveState(s, runId);
    if (state) {
      const keys = ledger(s.dir);
      for (const id of state.order) {
        const step = state.steps[id]!;
        if (step.status === 'waiting' && step.waitingFor === 'manual') {
          await ask(`done ${id}`, ['done', runId, id, '--as', PEOPLE[step.owner as Role] ?? PEOPLE.lead]);
        }
        if (step.gate?.status === 'open') {
          for (const role of step.gate.awaiting) {
            const person = PEOPLE[role as Role];
            if (person && !step.gate.votes.some((v) => v.by === person))
              await ask(`approve ${id} ${person}`, ['approve', runId, id, '--as', person, '--reason', 'ready']);
          }
        }
        await resolveIfNeeded(s, runId, step, keys, ask, log);
      }
    }
    await Promise.race([stop, sleep(300)]);
  }
  return log;
}

export async function resolveIfNeeded(
  s: Scene,
  runId: string,
  step: StepState,
  keys: Map<string, number>,
  ask: (what: string, args: string[]) => Promise<void>,
  log: PeopleLog,
): Promise<void> {
  const r = step.resolution;
  if (!r) return;
  const key = r.scope === 'forward' ? step.idempotencyKey : `${step.idempotencyKey}/backout`;
  const what = `resolve ${step.id} ${r.scope} since ${r.since}`;
  if (r.kind === 'failed') {
    if (!log.surprises.some((x) => x.startsWith(what))) log.surprises.push(`${what}: ${r.scope} failed: ${r.error}`);
    return;
  }
  const applied = r.kind === 'unknown' && keys.has(key);
  const decision = applied ? '--done' : '--retry';
  if (!log.resolutions.some((x) => x.startsWith(what)))
    log.resolutions.push(`${what}: ${r.kind}, ledger ${keys.has(key) ? 'has' : 'lacks'} ${key}: ${decision}`);
  await ask(what, [
    'resolve',
    runId,
    step.id,
    decision,
    '--as',
    PEOPLE.lead,
    '--reason',
    applied ? 'the ledger shows it applied' : 'it did not apply',
  ]);
}

/** The run's result and its final state, both from Temporal (the state through the run's queries). */
export async function resultOf(s: Scene, runId: string): Promise<RunResult & { state: RunState }> {
  const handle: WorkflowHandle = s.client.workflow.getHandle(runId);
  const result = (await handle.result()) as RunResult;
  if (result.state) return { ...result, state: result.state };
  const read = await readRunState();
  return { ...result, state: (await readClosedRun(handle, () => read(handle))).state };
}

/** Writes the runbook into the scene's folder; returns the run id its first run gets. */
export function writeRunbook(s: Scene, runbook: FaultRunbook): string {
  writeFileSync(path.join(s.dir, 'runbook.yaml'), runbook.yaml);
  return `${runbook.name}-1`;
}
