/**
 * The three scenarios: workers SIGKILLed at seeded moments, the Temporal server SIGKILLed and restarted, the record store locked.
 * Part of the fault scenarios (index.ts says what they are and why they import the way they do).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import type { RecordStore } from '../../../prisma/record-store.js';
import type * as MessagesModule from '../../../workflows/messages.js';
import type * as ParseModule from '../../../runbook/parse.js';
import type * as VersionHashModule from '../../../run/version-hash.js';
import type * as TemporalCliModule from '../../../cli/temporal-cli.js';
import type { RunResult } from '../../../run/state.js';
import { type Child, PROJECT, eventually, fromDist, openRecordStore, startCutover, startProcess } from './processes.js';
import { type FaultRunbook, type Outcome, PEOPLE, expectedOutcome, faultRunbook, outcomeOf, seeded } from './runbook.js';
import { backoutOrderViolations, repeatedKeys, storeMismatches } from './oracles.js';
import { type PeopleLog, type Scene, playPeople, recordedRows, resultOf, scene, sigkill, startWorker, writeRunbook } from './scene.js';

// ---------------------------------------------------------------------------------------------
// Scenario 1: workers SIGKILLed at seeded moments

export interface KillPlan {
  /** Kill once the store holds this many step rows for the run... */
  afterRows: number;
  /** ...and this much later. */
  delayMs: number;
  /** How long the run is left without a worker. */
  downMs: number;
}

/** `count` kill moments spread over a run of about `rows` step rows, from `seed`. */
export function killPlans(seed: number, count: number, rows: number): KillPlan[] {
  const random = seeded(seed);
  return Array.from({ length: count }, () => ({
    afterRows: 1 + Math.floor(random() * rows),
    delayMs: Math.floor(random() * 400),
    downMs: Math.floor(random() * 1500),
  })).sort((a, b) => a.afterRows - b.afterRows);
}

export interface FaultReport {
  runId: string;
  /** Faults inflicted before the run ended. */
  faults: number;
  result: RunResult;
  outcome: Outcome;
  expected: Outcome;
  repeated: string[];
  storeProblems: string[];
  orderProblems: string[];
  people: PeopleLog;
  followerExit: number | null;
  followerOutput: string;
}

/** What a fault may act on: the worker of the moment (it may replace it). */
export interface Deployment {
  scene: Scene;
  worker: Child;
}

/**
 * One run of the 30-step shell runbook hosted by a `cutover worker` process, started by the
 * lead's `cutover rehearse`, with the people played through the CLI; at each planned moment
 * `inflict` does its damage (and repairs it). Returns what the oracles found; the caller asserts.
 */
export async function runThroughFaults(
  address: string,
  name: string,
  plans: KillPlan[],
  seed: number,
  inflict: (plan: KillPlan, deployment: Deployment) => Promise<void>,
  say: (line: string) => void = () => {},
): Promise<FaultReport> {
  const s = await scene(address, name);
  const store = await openRecordStore(s.databaseUrl);
  let deployment: Deployment | undefined;
  let follower: Child | undefined;
  let giveUp = (): void => {};
  const givenUp = new Promise<void>((resolve) => (giveUp = resolve));
  try {
    const runbook = faultRunbook({ name, actions: 'shell', people: true, seed });
    const runId = writeRunbook(s, runbook);
    deployment = { scene: s, worker: await startWorker(s) };
    follower = startCutover(['rehearse', 'runbook.yaml', '--as', PEOPLE.lead], s.env, s.dir);
    const ended = (async () => {
      // The follower starts the workflow: wait for it to exist, then for its result.
      await eventually(
        () => s.client.workflow.getHandle(runId).describe(),
        () => true,
        120_000,
        `run ${runId} to start`,
      );
      for (;;) {
        try {
          return await resultOf(s, runId);
        } catch (err) {
          // The server went away under the long poll: ask again once it is back.
          if ((err as Error).name === 'WorkflowFailedError') throw err;
          await sleep(500);
        }
      }
    })();
    const people = playPeople(s, runId, Promise.race([ended.catch(() => undefined), givenUp]));
    let faults = 0;
    for (const plan of plans) {
      const reached = await Promise.race([
        eventually(
          () => recordedRows(store, runId),
          (n) => n >= plan.afterRows,
          600_000,
          `${plan.afterRows} step rows`,
        ).then(() => true),
        ended.then(() => false),
      ]);
      if (!reached) break;
      await sleep(plan.delayMs);
      const rows = await recordedRows(store, runId);
      await inflict(plan, deployment);
      faults += 1;
      say(`  ${runId}: fault ${faults} after ${rows} rows (+${plan.delayMs} ms), down ${plan.downMs} ms`);
    }
    const result = await Promise.race([
      ended,
      sleep(RUN_DEADLINE_MS).then(async () => {
        throw new Error(
          `${runId} did not end within ${RUN_DEADLINE_MS / 60_000} min of its last fault; ${await reportedProblems(s, runId)}`,
        );
      }),
    ]);
    const log = await people;
    const followerExit = await follower.exited;
    const detail = await store.findRun(runId);
    const storeProblems = storeMismatches(detail, result);
    // A disagreement is rare and only the history shows why: it is kept (the scene's folder goes with the scene).
    if (storeProblems.length > 0) storeProblems.push(await keepHistory(s, runId));
    return {
      runId,
      faults,
      result,
      outcome: outcomeOf(result.state),
      expected: expectedOutcome(runbook),
      repeated: repeatedKeys(s.dir),
      storeProblems,
      orderProblems: detail ? backoutOrderViolations(runbook, detail) : ['no run in the store'],
      people: log,
      followerExit,
      followerOutput: follower.output(),
    };
  } finally {
    // A run that did not end (stuck, or the caller gave up) leaves nothing running behind it.
    giveUp();
    if (follower) await sigkill(follower);
    if (deployment) await sigkill(deployment.worker);
    await store.close();
    await s.close();
  }
}

/** Writes the run's history (its latest execution's events, as JSON) beside the system's temporary files; says where. */
async function keepHistory(s: Scene, runId: string): Promise<string> {
  try {
    const history = await s.client.workflow.getHandle(runId).fetchHistory();
    const file = path.join(tmpdir(), `cutover-faults-${runId}-${Date.now()}.history.json`);
    writeFileSync(file, JSON.stringify(history));
    return `the run's history is kept in ${file}`;
  } catch (err) {
    return `the run's history could not be kept (${(err as Error).message})`;
  }
}

/** How long a run may take after its last fault before it counts as stuck. */
export const RUN_DEADLINE_MS = 8 * 60_000;

/** What Temporal says is wrong with a run (a workflow task failing, e.g. on a nondeterminism error). */
export async function reportedProblems(s: Scene, runId: string): Promise<string> {
  try {
    const handle = s.client.workflow.getHandle(runId);
    const { raw } = await handle.describe();
    const problems = raw.workflowExecutionInfo?.searchAttributes?.indexedFields?.['TemporalReportedProblems'];
    const history = await handle.fetchHistory();
    const failed = [...(history.events ?? [])].reverse().find((e) => e.workflowTaskFailedEventAttributes);
    return `Temporal reports ${problems?.data ? Buffer.from(problems.data).toString() : 'no problem'}${failed ? `; last workflow task failure (event ${String(failed.eventId)}): ${failed.workflowTaskFailedEventAttributes?.failure?.message}` : ''}`;
  } catch (err) {
    return `Temporal could not be asked why (${(err as Error).message})`;
  }
}

/** Fault 1: SIGKILL the worker, leave the run without one for a while, start a new one. */
export const killWorker = async (plan: KillPlan, d: Deployment): Promise<void> => {
  await sigkill(d.worker);
  await sleep(plan.downMs);
  d.worker = await startWorker(d.scene);
};

/** Fault 2: SIGKILL the Temporal server, leave it down for a while, restart it on its database file. */
export const killServer =
  (server: KillableServer) =>
  async (plan: KillPlan): Promise<void> => {
    await server.kill();
    await sleep(plan.downMs);
    await server.restart();
  };

// ---------------------------------------------------------------------------------------------
// Scenario 2: the Temporal server SIGKILLed and restarted on its database file

/** A Temporal dev server this process runs on a fixed port and database file, to kill and restart. */
export interface KillableServer {
  address: string;
  /** SIGKILL (no clean shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same port and database file; resolves once it answers. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts `temporal server start-dev` on a free port with its state in `dir/temporal.db`. The server also takes ports of
 * its own next to the one given (its HTTP API), which another process may hold: a server that exits on start is tried
 * again on another free port, and its output is in the error when that does not help.
 */
export async function startKillableServer(dir: string): Promise<KillableServer> {
  mkdirSync(dir, { recursive: true });
  const { findTemporalCli } = await fromDist<typeof TemporalCliModule>('cli/temporal-cli.js');
  const cliPath = findTemporalCli(PROJECT);
  const argsFor = (port: number): string[] => {
    const args = [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--headless',
      '--db-filename',
      path.join(dir, 'temporal.db'),
      '--log-level',
      'error',
    ];
    for (const attribute of ['CutoverRunbook', 'CutoverMode']) args.push('--search-attribute', `${attribute}=Keyword`);
    return args;
  };
  let server: Child | undefined;
  let port = 0;
  /** Starts the server on `port`; resolves true once it answers, false when it exited first. */
  const start = async (): Promise<boolean> => {
    const child = startProcess(cliPath, argsFor(port), { cwd: dir });
    server = child;
    const answered = await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) return 'exited' as const;
        const connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 2000 });
        try {
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          return 'up' as const;
        } finally {
          await connection.close();
        }
      },
      (state) => state !== undefined,
      90_000,
      `the Temporal server at 127.0.0.1:${port}`,
    );
    return answered === 'up';
  };
  for (let attempt = 1; ; attempt += 1) {
    port = await freePort();
    if (await start()) break;
    if (attempt === 3) throw new Error(`the Temporal server exited on start three times; last output: ${server!.output().slice(-2000)}`);
  }
  const address = `127.0.0.1:${port}`;
  const up = async (): Promise<void> => {
    if (!(await start())) throw new Error(`the Temporal server did not start again on ${address}: ${server!.output().slice(-2000)}`);
  };
  return {
    address,
    kill: async () => sigkill(server!),
    restart: up,
    stop: async () => {
      if (server && server.exitCode === null) {
        server.kill('SIGTERM');
        await Promise.race([server.exited, sleep(10_000)]);
        await sigkill(server);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Scenario 3: the record store locked by another process

/**
 * Holds the SQLite file locked for writing (`BEGIN EXCLUSIVE`) from another process for `ms`,
 * as a backup tool or a stuck migration would. Resolves once the lock is taken; the returned
 * child exits when it lets go.
 */
export async function lockStore(databaseUrl: string, ms: number): Promise<Child> {
  const file = databaseUrl.replace(/^file:/, '');
  const script = `
    const Database = require(${JSON.stringify(path.join(PROJECT, 'node_modules', 'better-sqlite3'))});
    const db = new Database(${JSON.stringify(file)}, { timeout: 30000 });
    db.exec('BEGIN EXCLUSIVE');
    console.log('locked');
    setTimeout(() => { db.exec('ROLLBACK'); db.close(); console.log('released'); }, ${ms});
  `;
  const child = startProcess(process.execPath, ['-e', script]);
  await Promise.race([
    eventually(
      () => child.output(),
      (o) => o.includes('locked'),
      60_000,
      'the store lock',
    ),
    child.exited.then((code) => {
      throw new Error(`the locking process exited with ${code}: ${child.output()}`);
    }),
  ]);
  return child;
}

/** Parses a runbook with cutover's own parser (from the build). */
export async function parseRunbook(yaml: string) {
  const { parseRunbook: parse } = await fromDist<typeof ParseModule>('runbook/parse.js');
  const parsed = parse(yaml, 'runbook.yaml');
  if (!parsed.ok) throw new Error(`generated runbook invalid: ${JSON.stringify(parsed.problems)}`);
  return parsed.runbook;
}

/**
 * Starts a run the way `cutover rehearse` does against a cluster (reserve it in the record
 * store, then start the workflow on the scene's task queue), without a process per run: the
 * many-runs scenarios start dozens at once.
 */
export async function startRun(s: Scene, store: RecordStore, runbook: FaultRunbook, baseDir = s.dir): Promise<string> {
  const parsed = await parseRunbook(runbook.yaml);
  // The runbook's real version hash: the workflow checks the text it reads from the store against it.
  const { hashRunbook } = await fromDist<typeof VersionHashModule>('run/version-hash.js');
  const versionHash = hashRunbook(parsed);
  const { runId, number } = await store.reserveRun({
    runbookName: parsed.name,
    mode: 'rehearsal',
    runbookVersion: parsed.version,
    versionHash,
    runbookSource: runbook.yaml,
    startedBy: PEOPLE.lead,
  });
  // The workflow reads the runbook back from the store, as after `cutover rehearse`.
  const messages = await fromDist<typeof MessagesModule>('workflows/messages.js');
  await s.client.workflow.start(messages.RUN_WORKFLOW_TYPE, {
    taskQueue: s.env.CUTOVER_TASK_QUEUE!,
    workflowId: runId,
    args: [{ runId, runNumber: number, versionHash, mode: 'rehearsal', startedBy: PEOPLE.lead, baseDir }],
    memo: { [messages.WORKFLOW_VERSION_MEMO]: messages.WORKFLOW_VERSION },
  });
  return runId;
}
