/**
 * Faults on the night, shared by the `test/faults-*.test.ts` files (small counts) and by
 * `bench/survive.mjs` (full counts): a 30-step runbook with parallel streams, manual steps, a
 * gate and a failing last step; separate `cutover worker` processes to SIGKILL and restart; a
 * Temporal dev server to SIGKILL and restart on its database file; a process that holds the
 * record store locked; the people (owners, approvers and the lead) played through the CLI; and
 * the oracles: the outcome a run must end with, the ledger of commands that ran, the record
 * store against the state the workflow returns, and the order of the back-out.
 *
 * Self-contained on purpose: it imports only Node built-ins and `@temporalio/client` at run
 * time, and cutover's own modules from the build (`dist/`), like the CLI the tests run. That
 * lets the bench transpile this one file and use the very same scenarios (see bench/survive.mjs).
 * Project modules are imported for their types only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type * as StoreModule from '../../prisma/store.js';
import type { RunDetail } from '../../prisma/records.js';
import type { RecordStore } from '../../prisma/record-store.js';
import type * as MessagesModule from '../../workflows/messages.js';
import type * as ReadStateModule from '../../common/read-run-state.js';
import type * as ParseModule from '../../runbook/parse.js';
import type * as TemporalCliModule from '../../cli/temporal-cli.js';
import type { RunResult, RunState, StepState } from '../../run/state.js';

// ---------------------------------------------------------------------------------------------
// Where things are

/** The checkout: the folder above this file holding the `package.json` named cutover. */
export const PROJECT = (() => {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'cutover') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no cutover checkout above ${import.meta.dirname}`);
  }
})();

const BIN = path.join(PROJECT, 'bin', 'cutover.js');

/** A module of the build (`dist/`), typed by its source. */
async function fromDist<T>(relative: string): Promise<T> {
  return (await import(pathToFileURL(path.join(PROJECT, 'dist', relative)).href)) as T;
}

export const openRecordStore = async (databaseUrl: string): Promise<RecordStore> =>
  (await fromDist<typeof StoreModule>('prisma/store.js')).openRecordStore({ databaseUrl });

const readRunState = async () => (await fromDist<typeof ReadStateModule>('common/read-run-state.js')).readRunState;

/** Deterministic pseudo-random numbers in [0, 1) from a seed (mulberry32), so a failure can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// The runbook

/** People and the roles they hold, the same in every runbook here. */
export const PEOPLE = { lead: 'alice', dba: 'bob', comms: 'carol', business: 'dana' } as const;
type Role = keyof typeof PEOPLE;

interface StepSpec {
  id: string;
  owner: Role;
  kind: 'work' | 'manual' | 'gate';
  dependsOn: string[];
  undo: boolean;
  phase: string;
}

/** A generated runbook and what the oracles need to know about it. */
export interface FaultRunbook {
  name: string;
  yaml: string;
  /** Step ids in runbook order. */
  order: string[];
  specs: Record<string, StepSpec>;
  /** For each step, every step it depends on, directly, through others or through the phase order. */
  dependsOn: Record<string, Set<string>>;
}

export interface RunbookOptions {
  name: string;
  /**
   * `shell`: each action sleeps a little (so a kill can land mid-command) and appends its
   * `CUTOVER_IDEMPOTENCY_KEY` to `ledger.txt`, and each undo appends its own key. `simulate`:
   * quick simulated actions and undos, nothing on disk.
   */
  actions: 'shell' | 'simulate';
  /** With people: two manual steps and a go/no-go gate. Without: those are ordinary steps. */
  people: boolean;
  /** The step whose action fails (default `final`, the last one). */
  failAt?: string;
  /** A step whose undo fails. */
  failUndoAt?: string;
  seed?: number;
}

/**
 * 30 steps in seven phases: preparation, a freeze, three parallel migration streams (6, 6 and 7
 * steps, one manual step in stream b), a reconciliation with a manual sign-off, a go/no-go gate,
 * two switch-ons in parallel, and hypercare whose last step fails under `backout: automatic`.
 */
export function faultRunbook(options: RunbookOptions): FaultRunbook {
  const random = seeded(options.seed ?? 1);
  const phases: Array<{ id: string; kind: string; steps: StepSpec[] }> = [];
  const phase = (id: string, kind: string, steps: Array<Omit<StepSpec, 'phase'>>) =>
    phases.push({ id, kind, steps: steps.map((s) => ({ ...s, phase: id })) });
  const work = (id: string, dependsOn: string[] = [], undo = true, owner: Role = 'dba') => ({
    id,
    owner,
    kind: 'work' as const,
    dependsOn,
    undo,
  });
  const manual = (id: string, owner: Role, dependsOn: string[] = []) =>
    options.people ? { id, owner, kind: 'manual' as const, dependsOn, undo: false } : work(id, dependsOn, false, owner);
  const stream = (letter: string, length: number, manualAt?: number) =>
    Array.from({ length }, (_, i) => {
      const id = `${letter}${i + 1}`;
      const deps = i === 0 ? [] : [`${letter}${i}`];
      return i + 1 === manualAt ? manual(id, 'dba', deps) : work(id, deps);
    });

  phase('prepare', 'preparation', [work('snapshot'), manual('announce', 'comms', ['snapshot'])]);
  phase('freeze', 'data_freeze', [work('stop-writes')]);
  phase('migrate', 'migration', [...stream('a', 6), ...stream('b', 6, 3), ...stream('c', 7)]);
  phase('reconcile', 'reconciliation', [
    work('count', [], false),
    work('sample', [], false),
    manual('sign-off', 'business', ['count', 'sample']),
  ]);
  // Without people the gate is an ordinary step, and a go/no-go phase must have a gate.
  phase('decide', options.people ? 'go_no_go' : 'reconciliation', [
    options.people ? { id: 'go', owner: 'lead', kind: 'gate', dependsOn: [], undo: false } : work('go', [], false, 'lead'),
  ]);
  phase('switch', 'interface_switch_on', [work('sync'), work('api')]);
  phase('hypercare', 'hypercare', [work('smoke'), work('final', ['smoke'])]);

  const failAt = options.failAt ?? 'final';
  const lines = [
    `name: ${options.name}`,
    'version: 1',
    'lead: lead',
    `roles: { lead: [${PEOPLE.lead}], dba: [${PEOPLE.dba}], comms: [${PEOPLE.comms}], business: [${PEOPLE.business}] }`,
    'backout: { policy: automatic }',
    'phases:',
  ];
  const action = (step: StepSpec, failing: boolean, purpose: 'do' | 'undo'): string => {
    if (options.actions === 'simulate')
      return `{ kind: simulate, duration: ${Math.round(10 + random() * 30)}ms${failing ? ', outcome: failure' : ''} }`;
    // The key is appended when the work is done: a key in the ledger means the change applied.
    const nap = purpose === 'do' ? `sleep 0.${1 + Math.floor(random() * 3)}; ` : '';
    return `{ kind: shell, command: '${nap}echo "$CUTOVER_IDEMPOTENCY_KEY" >> ledger.txt${failing ? '; exit 3' : ''}' }`;
  };
  for (const p of phases) {
    lines.push(`  - id: ${p.id}`, `    kind: ${p.kind}`, '    steps:');
    for (const s of p.steps) {
      const fields = [`id: ${s.id}`, `title: Step ${s.id}`, `owner: ${s.owner}`];
      if (s.kind !== 'gate') fields.push('expected: 1s');
      if (s.dependsOn.length > 0) fields.push(`depends_on: [${s.dependsOn.join(', ')}]`);
      if (s.kind === 'gate') fields.push('gate: { approvers: [lead, business], rule: all }');
      else if (s.kind === 'manual') fields.push('action: { kind: manual, instructions: "Do it by hand" }');
      else fields.push(`action: ${action(s, s.id === failAt, 'do')}`);
      if (s.undo) fields.push(`backout: ${action(s, s.id === options.failUndoAt, 'undo')}`);
      lines.push(`      - { ${fields.join(', ')} }`);
    }
  }

  const specs: Record<string, StepSpec> = {};
  for (const p of phases) for (const s of p.steps) specs[s.id] = s;
  const order = Object.keys(specs);
  // The oracle's own reading of the runbook: explicit dependencies, and every step of an earlier
  // phase (phases run in order), closed transitively.
  const phaseIndex = new Map(phases.flatMap((p, i) => p.steps.map((s) => [s.id, i] as const)));
  const dependsOn: Record<string, Set<string>> = {};
  const closure = (id: string): Set<string> => {
    if (dependsOn[id]) return dependsOn[id];
    const found = new Set<string>();
    for (const other of order) if (phaseIndex.get(other)! < phaseIndex.get(id)!) found.add(other);
    for (const dep of specs[id]!.dependsOn) {
      found.add(dep);
      for (const further of closure(dep)) found.add(further);
    }
    return (dependsOn[id] = found);
  };
  for (const id of order) closure(id);
  return { name: options.name, yaml: `${lines.join('\n')}\n`, order, specs, dependsOn };
}

/**
 * What a run of {@link faultRunbook} must end with, whatever happened to its workers, server
 * or store: every step done except `final`, which fails; the gate approved by both roles; the
 * back-out undoing every step that has an undo, `final` included; the manual steps done by
 * their owners. Compare with {@link outcomeOf}.
 */
export function expectedOutcome(runbook: FaultRunbook): Outcome {
  const steps: Record<string, string> = {};
  for (const id of runbook.order) {
    const s = runbook.specs[id]!;
    const forward = id === 'final' ? 'failed' : 'succeeded';
    steps[id] = s.kind === 'gate' ? forward : `${forward}/${s.undo ? 'undone' : 'not_needed'}`;
  }
  const decisions = runbook.order
    .filter((id) => runbook.specs[id]!.kind === 'manual')
    .map((id) => `complete_manual:${PEOPLE[runbook.specs[id]!.owner]}:${id}`);
  for (const id of runbook.order) {
    if (runbook.specs[id]!.kind === 'gate') decisions.push(`approve:${PEOPLE.lead}:${id}`, `approve:${PEOPLE.business}:${id}`);
  }
  return { status: 'backed_out', trigger: 'step_failed', steps, decisions: decisions.sort() };
}

/** A run's end, with what may legitimately differ after a fault taken out (see {@link outcomeOf}). */
export interface Outcome {
  status: string;
  trigger: string | undefined;
  /** step id -> `status` or `status/back-out status`. */
  steps: Record<string, string>;
  /** `kind:by:target`, sorted, without the lead's resolutions. */
  decisions: string[];
}

/**
 * The parts of a run's final state a person judges it by. Two things may differ after a fault
 * and are normalised: an undo the lead recorded done by hand (`resolved`) after a lost worker,
 * once the ledger showed that it applied, counts as undone like one that succeeded; and the
 * lead's `resolve` decisions themselves are left out (they are checked against the ledger by
 * {@link playPeople} instead).
 */
export function outcomeOf(state: RunState): Outcome {
  const steps: Record<string, string> = {};
  for (const id of state.order) {
    const s = state.steps[id]!;
    const undo = s.backout?.status;
    steps[id] = undo === undefined ? s.status : `${s.status}/${undo === 'succeeded' || undo === 'resolved' ? 'undone' : undo}`;
  }
  return {
    status: state.status,
    trigger: state.backout.trigger,
    steps,
    decisions: state.decisions
      .filter((d) => d.kind !== 'resolve')
      .map((d) => `${d.kind}:${d.by}:${d.target ?? ''}`)
      .sort(),
  };
}

// ---------------------------------------------------------------------------------------------
// Oracles

/** Keys in the ledger file of a run folder, with how many times each was appended. */
export function ledger(dir: string): Map<string, number> {
  const file = path.join(dir, 'ledger.txt');
  const counts = new Map<string, number>();
  if (!existsSync(file)) return counts;
  for (const key of readFileSync(file, 'utf8').split('\n').filter(Boolean)) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/** Keys that were appended more than once: a step or an undo that ran twice. */
export function repeatedKeys(dir: string): string[] {
  return [...ledger(dir)].filter(([, n]) => n > 1).map(([key, n]) => `${key} ran ${n} times`);
}

/**
 * Where the record store disagrees with the final state the workflow returned (Temporal's
 * history): the run row, the state snapshot, each step's attempt rows and back-out rows, and
 * the decision log. Empty when they agree.
 */
export function storeMismatches(detail: RunDetail | null, result: RunResult & { state: RunState }): string[] {
  if (!detail) return [`the store has no run ${result.state.runId}`];
  const problems: string[] = [];
  const same = (what: string, stored: unknown, actual: unknown) => {
    if (canonical(stored) !== canonical(actual)) problems.push(`${what}: store has ${canonical(stored)}, the run ${canonical(actual)}`);
  };
  same('run status', detail.status, result.status);
  same('run outcome', detail.outcome, result.outcome);
  same('run ended at', detail.endedAt, result.state.endedAt);
  same('final state snapshot', detail.state, result.state);
  for (const id of result.state.order) {
    const step = result.state.steps[id]!;
    const rows = detail.steps.filter((r) => r.stepId === id && r.purpose === 'forward').sort((a, b) => a.attempt - b.attempt);
    const undoRows = detail.steps.filter((r) => r.stepId === id && r.purpose === 'backout').sort((a, b) => a.attempt - b.attempt);
    for (const row of [...rows, ...undoRows]) {
      if (row.status === 'running' || row.status === 'waiting' || row.status === 'pending')
        problems.push(`${id} ${row.purpose} attempt ${row.attempt} is still ${row.status} in the store`);
    }
    if (step.status === 'cancelled' && step.attempts === 0) {
      if (rows.length > 0) problems.push(`${id} never started but the store has ${rows.length} attempt(s)`);
    } else {
      same(
        `${id} attempt numbers`,
        rows.map((r) => r.attempt),
        Array.from({ length: step.attempts }, (_, i) => i + 1),
      );
      const last = rows.at(-1);
      // A step the lead recorded done by hand has a last row `resolved`; otherwise the status is the step's.
      const expected =
        step.status === 'succeeded' && last?.status === 'resolved' && step.completedBy === PEOPLE.lead ? 'resolved' : step.status;
      same(`${id} last attempt status`, last?.status, expected);
    }
    const undo = step.backout;
    if (!undo || undo.status === 'not_needed') {
      if (undoRows.length > 0) problems.push(`${id} needed no undo but the store has ${undoRows.length} back-out row(s)`);
    } else {
      same(`${id} back-out status`, undoRows.at(-1)?.status, undo.status);
    }
  }
  same(
    'decisions',
    detail.decisions.map(({ seq: _seq, ...d }) => d),
    result.state.decisions,
  );
  return problems;
}

/** JSON with object keys sorted, so that two equal values print the same. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/**
 * Back-out order from the store's back-out rows: a step's undo may start only after the undos of
 * every step that depends on it (and was undone) ended. One line per violation.
 */
export function backoutOrderViolations(runbook: FaultRunbook, detail: RunDetail): string[] {
  const undo = new Map<string, { start: number; end: number }>();
  for (const row of detail.steps) {
    if (row.purpose !== 'backout' || !row.startedAt) continue;
    const prev = undo.get(row.stepId);
    const start = Date.parse(row.startedAt);
    const end = row.endedAt ? Date.parse(row.endedAt) : Number.POSITIVE_INFINITY;
    undo.set(row.stepId, { start: Math.min(prev?.start ?? start, start), end: Math.max(prev?.end ?? end, end) });
  }
  const problems: string[] = [];
  for (const [id, own] of undo) {
    for (const [other, theirs] of undo) {
      if (runbook.dependsOn[other]?.has(id) && own.start < theirs.end) {
        problems.push(`undo of ${id} started ${theirs.end - own.start} ms before the undo of ${other} (which depends on it) ended`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Processes

/** A child process with its collected output and its exit. */
export type Child = ChildProcess & { output: () => string; exited: Promise<number | null> };

const children = new Set<ChildProcess>();

/** SIGKILLs every process started here that is still running (call it after each test). */
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

/** Starts a process in the background, collecting its output. */
export function startProcess(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; detached?: boolean } = {},
): Child {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd ?? PROJECT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  children.add(child);
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    });
    // Could not start at all (ENOENT...): no 'exit' follows.
    child.on('error', (err) => {
      output += `${err.message}\n`;
      children.delete(child);
      resolve(null);
    });
  });
  return Object.assign(child, { output: () => output, exited });
}

/** Starts `cutover ...args` in the background. */
export function startCutover(args: string[], env: Record<string, string>, cwd: string): Child {
  return startProcess(process.execPath, [BIN, ...args], { env, cwd });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cutover ...args` to its end without blocking this process (the test plays several people at once). */
export async function cutover(args: string[], env: Record<string, string>, cwd: string, timeoutMs = 120_000): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  children.delete(child);
  return { code, stdout, stderr };
}

/** A stack trace in a command's output: what a person must never see for an expected failure. */
export const STACK_TRACE = /^\s+at .+\(.*:\d+:\d+\)|^\s+at .+:\d+:\d+$/m;

/** Waits until `fn()` satisfies `predicate`, polling. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  predicate: (value: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await fn();
      if (predicate(last)) return last;
    } catch {
      // Asked while something is down: ask again.
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 1500)}`);
    await sleep(200);
  }
}

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

/** A fresh scene against the Temporal server at `address`, on a task queue of its own. */
export async function scene(address: string, name: string): Promise<Scene> {
  const dir = mkdtempSync(path.join(tmpdir(), `cutover-${name}-`));
  const databaseUrl = `file:${path.join(dir, 'cutover.db')}`;
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

async function resolveIfNeeded(
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
  return { ...result, state: result.state ?? (await (await readRunState())(handle)).state };
}

/** Writes the runbook into the scene's folder; returns the run id its first run gets. */
export function writeRunbook(s: Scene, runbook: FaultRunbook): string {
  writeFileSync(path.join(s.dir, 'runbook.yaml'), runbook.yaml);
  return `${runbook.name}-1`;
}

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
    return {
      runId,
      faults,
      result,
      outcome: outcomeOf(result.state),
      expected: expectedOutcome(runbook),
      repeated: repeatedKeys(s.dir),
      storeProblems: storeMismatches(detail, result),
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

/** How long a run may take after its last fault before it counts as stuck. */
const RUN_DEADLINE_MS = 8 * 60_000;

/** What Temporal says is wrong with a run (a workflow task failing, e.g. on a nondeterminism error). */
async function reportedProblems(s: Scene, runId: string): Promise<string> {
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

async function freePort(): Promise<number> {
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
  const { runId, number } = await store.reserveRun({
    runbookName: parsed.name,
    mode: 'rehearsal',
    runbookVersion: parsed.version,
    versionHash: 'faults',
    runbookSource: runbook.yaml,
    startedBy: PEOPLE.lead,
  });
  // The workflow reads the runbook back from the store, as after `cutover rehearse`.
  const messages = await fromDist<typeof MessagesModule>('workflows/messages.js');
  await s.client.workflow.start(messages.RUN_WORKFLOW_TYPE, {
    taskQueue: s.env.CUTOVER_TASK_QUEUE!,
    workflowId: runId,
    args: [{ runId, runNumber: number, versionHash: 'faults', mode: 'rehearsal', startedBy: PEOPLE.lead, baseDir }],
    memo: { [messages.WORKFLOW_VERSION_MEMO]: messages.WORKFLOW_VERSION },
  });
  return runId;
}
