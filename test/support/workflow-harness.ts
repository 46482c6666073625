/**
 * A real worker on the test run's Temporal server, with the workflow bundle built once for
 * the test run, a unique task queue, and helpers to start runbooks written inline as YAML.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { ActivityStore } from '../../prisma/records.js';
import type { RecordStore } from '../../prisma/record-store.js';
import { parseRunbook } from '../../runbook/parse.js';
import type { EvidenceOverride, RunInput, RunMode, RunResult, RunState } from '../../run/state.js';
import { readRunState } from '../../common/read-run-state.js';
import { RUN_WORKFLOW_TYPE, WORKFLOW_VERSION, WORKFLOW_VERSION_MEMO } from '../../workflows/messages.js';
import { createWorker, installQuietRuntime } from '../../worker/create-worker.js';
import { hashRunbook } from '../../run/version-hash.js';
import { readClosedRun } from './faults/closed-run.js';
import { MemoryStore } from './memory-store.js';
import { temporalAddress } from './temporal.js';

let bundle: Promise<{ code: string }> | undefined;

/** The workflow bundle the test run's global setup built, read once per test file. */
export function workflowBundle(): Promise<{ code: string }> {
  bundle ??= readFile(inject('workflowBundlePath'), 'utf8').then((code) => ({ code }));
  return bundle;
}

export interface Harness {
  client: Client;
  store: MemoryStore;
  taskQueue: string;
  /** A scratch directory: the runbooks' base directory. */
  dir: string;
  start(
    yaml: string,
    options?: {
      mode?: RunMode;
      runId?: string;
      historyBudget?: number;
      autoApprove?: boolean;
      /** The lead's `--override-evidence`, made (and signed, or not) for the run's id. */
      evidenceOverride?: (runId: string) => EvidenceOverride;
      /** The start's memo; by default what `cutover rehearse` puts there that the workflow reads (its code's version). */
      memo?: Record<string, unknown>;
      /**
       * For a live run: whether the runbook has the rehearsal evidence a live run needs in the store (yes, unless
       * false; a live run without it or an override ends before any step).
       */
      rehearsed?: boolean;
    },
  ): Promise<WorkflowHandleWithFirstExecutionRunId>;
  stop(): Promise<void>;
}

/**
 * What goes wrong when the run's history (its latest execution) is replayed on today's workflow code: nothing, when it
 * replays command for command.
 */
export async function replayErrors(handle: WorkflowHandle): Promise<string[]> {
  const errors: string[] = [];
  const replays = Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, [
    { workflowId: handle.workflowId, history: await handle.fetchHistory() },
  ]);
  for await (const replay of replays) if (replay.error) errors.push(replay.error.message);
  return errors;
}

/** A worker of the product that a test takes away and brings back: {@link replaceableWorker}. */
export interface ReplaceableWorker {
  /** Starts a worker on the harness's queue and store (none may be running). */
  start(): Promise<void>;
  /** Shuts the running worker down and waits for it (nothing when none runs). */
  stop(): Promise<void>;
  /** Stops it and closes the connection. */
  close(): Promise<void>;
}

/**
 * Workers for a harness started `withWorker: false`, one at a time, for tests of what a run does while no worker
 * polls (a restart, a rolling upgrade): on the test run's shared server, or on `address`.
 */
export async function replaceableWorker(h: Harness, address: string = temporalAddress()): Promise<ReplaceableWorker> {
  installQuietRuntime();
  const connection = await NativeConnection.connect({ address });
  let current: { worker: Worker; running: Promise<void> } | undefined;
  const stop = async () => {
    if (!current) return;
    const { worker, running } = current;
    current = undefined;
    worker.shutdown();
    await running;
  };
  return {
    async start() {
      if (current) throw new Error('a worker is running already: stop() it first');
      const worker = await createWorker({
        connection,
        namespace: 'default',
        taskQueue: h.taskQueue,
        store: h.store,
        workflows: { workflowBundle: await workflowBundle() },
      });
      current = { worker, running: worker.run() };
    },
    stop,
    async close() {
      await stop();
      await connection.close();
    },
  };
}

/**
 * Starts a worker for this test file, on the test run's shared server or on `address` (a time-skipping test server
 * of the file's own, test/support/time-skipping.ts).
 */
export async function startHarness(options: { store?: ActivityStore; withWorker?: boolean; address?: string } = {}): Promise<Harness> {
  const address = options.address ?? temporalAddress();
  const client = new Client({ connection: await Connection.connect({ address }) });
  const store = (options.store ?? new MemoryStore()) as MemoryStore;
  const taskQueue = `test-${randomUUID()}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-wf-'));
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let native: NativeConnection | undefined;
  if (options.withWorker !== false) {
    installQuietRuntime();
    native = await NativeConnection.connect({ address });
    worker = await createWorker({
      connection: native,
      namespace: 'default',
      taskQueue,
      store,
      workflows: { workflowBundle: await workflowBundle() },
    });
    running = worker.run();
  }
  return {
    client,
    store,
    taskQueue,
    dir,
    async start(yaml, startOptions = {}) {
      const parsed = parseRunbook(yaml, 'test.yaml');
      if (!parsed.ok)
        throw new Error(`test runbook invalid:\n${parsed.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n')}`);
      const runId = startOptions.runId ?? `${parsed.runbook.name}-${randomUUID().slice(0, 8)}`;
      const mode = startOptions.mode ?? 'rehearsal';
      // The workflow reads the runbook from the store, as it does after `cutover rehearse`, and checks its start
      // against the reservation.
      // The run's version is the runbook's real hash: the workflow checks the text it reads against it.
      const versionHash = hashRunbook(parsed.runbook);
      if (store instanceof MemoryStore) {
        store.reserve(runId, yaml, { mode, versionHash, autoApprove: startOptions.autoApprove === true });
        if (mode === 'live' && startOptions.rehearsed !== false) store.rehearsed(parsed.runbook.name, versionHash);
      }
      // A real store's reservation names the version the run was reserved for: the start says the same, as the CLI's.
      const reserved =
        store instanceof MemoryStore ? undefined : await (store as ActivityStore).runReservation(runId).catch(() => undefined);
      const input: RunInput = {
        runId,
        runNumber: 1,
        versionHash: reserved?.versionHash ?? versionHash,
        mode,
        startedBy: 'test',
        baseDir: dir,
        ...(startOptions.historyBudget ? { historyBudget: startOptions.historyBudget } : {}),
        ...(startOptions.autoApprove ? { autoApprove: true } : {}),
        ...(startOptions.evidenceOverride ? { evidenceOverride: startOptions.evidenceOverride(runId) } : {}),
      };
      const memo = startOptions.memo ?? { [WORKFLOW_VERSION_MEMO]: WORKFLOW_VERSION };
      return client.workflow.start(RUN_WORKFLOW_TYPE, { taskQueue, workflowId: runId, args: [input], memo });
    },
    async stop() {
      worker?.shutdown();
      await running;
      await native?.close();
      await client.connection.close();
    },
  };
}

/** Polls the run's state until `predicate` holds (or fails after `timeoutMs`). */
export async function waitForState(handle: WorkflowHandle, predicate: (state: RunState) => boolean, timeoutMs = 30_000): Promise<RunState> {
  const deadline = Date.now() + timeoutMs;
  let last: RunState | undefined;
  while (Date.now() < deadline) {
    try {
      last = (await readRunState(handle)).state;
    } catch (err) {
      // A run answers once it has read its runbook from the store.
      if (!/still reading its runbook/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `state never matched; last: ${JSON.stringify(last && { status: last.status, steps: Object.values(last.steps).map((s) => [s.id, s.status, s.backout?.status]) })}`,
  );
}

/** The run's result, with its whole final state (read through the queries, as the CLI does). */
export async function resultOf(handle: WorkflowHandle): Promise<RunResult & { state: RunState }> {
  const result = (await handle.result()) as RunResult;
  if (result.state) return { ...result, state: result.state };
  return { ...result, state: (await readClosedRun(handle, () => readRunState(handle))).state };
}

/**
 * Reserves a rehearsal of `yaml` in a real record store, under the runbook's own name and with its real version hash
 * (the workflow checks the text it reads from the store against it), and starts it on the harness.
 */
export async function startReserved(
  h: Harness,
  store: Pick<RecordStore, 'reserveRun'>,
  yaml: string,
  startedBy = 'alice',
): Promise<{ runId: string; handle: WorkflowHandle }> {
  const parsed = parseRunbook(yaml, 'runbook.yaml');
  if (!parsed.ok) throw new Error(`test runbook invalid: ${parsed.problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('; ')}`);
  const { runId } = await store.reserveRun({
    runbookName: parsed.runbook.name,
    mode: 'rehearsal',
    runbookVersion: String(parsed.runbook.version),
    versionHash: hashRunbook(parsed.runbook),
    runbookSource: yaml,
    startedBy,
  });
  return { runId, handle: await h.start(yaml, { runId }) };
}
