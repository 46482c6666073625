/**
 * Follows a run with plain line-by-line output (the Ink console comes later): one line per
 * step transition, gate vote and back-out event, each saying what to do when a person is
 * needed. With `--auto-approve` it also answers gates and manual steps as the runbook's first
 * eligible person, recorded as automatic.
 */
import { setMaxListeners } from 'node:events';
import type { WorkflowHandle } from '@temporalio/client';
import type { ReconcileSummary } from '../reconcile/result.js';
import { describeSummary } from '../reconcile/format.js';
import { formatDuration } from '../runbook/duration.js';
import { decisionLine, MARK, RESOLUTION_WORDS, statusWord, STEP_SYMBOL } from '../present/run-view.js';
import { HYPERCARE_EXIT_ID } from '../run/hypercare.js';
import type { RunResult, RunState, StepState } from '../run/state.js';
import type { Runbook } from '../runbook/schema.js';
import { peopleIn, unmetRequirements } from '../run/transitions.js';
import { commandName } from './command-name.js';
import { readRunState, type ReadState } from '../common/read-run-state.js';
import { waitsForPool } from './task-queues.js';
import type { PersonRequest } from '../common/person-requests.js';
import { NoAnswerError, RunBusyError } from './errors.js';
import { DEFAULT_UPDATE_TIMEOUT_MS, deliverRequest } from './send-request.js';

/** What `--auto-approve` sends in a person's name. */
type AutoRequest = Extract<PersonRequest, { kind: 'approve' | 'done' }>;

export interface FollowOptions {
  runbook: Runbook;
  autoApprove: boolean;
  write: (line: string) => void;
  /** How often to ask the run for its state. */
  pollMs?: number;
  /** Stops following (the run goes on): ends the wait for the result before the connection closes. */
  signal?: AbortSignal;
  /**
   * Whether to wait again for the run's result after `err`, Temporal having failed to answer for `failingForMs`
   * (a restarting embedded server, a network blip). Without it, the first error ends the follow.
   */
  retry?: (err: unknown, failingForMs: number) => boolean;
  /**
   * The pools that running steps are pinned to but no live worker polls (see task-queues.ts). Asked every
   * {@link POOL_PROBE_MS} while a pinned step runs, so the lead learns why it stands still.
   */
  unservedPools?: (state: RunState) => Promise<string[]>;
  /** How long each request `--auto-approve` sends may wait for the run's answer (CUTOVER_UPDATE_TIMEOUT). */
  requestTimeoutMs?: number;
  /**
   * Read the run and write what changes (default true). False only waits for the result: the console
   * shows the run, and reading its whole state here as well would double what a large run costs to watch.
   */
  watch?: boolean;
}

/** How often following asks whether the pools of running pinned steps have a worker. */
const POOL_PROBE_MS = 10_000;

const CLI = commandName();

const clock = (iso?: string): string => (iso ? iso.slice(11, 19) : '--:--:--');

/** Follows the run until it ends; returns its result. */
export async function followRun(handle: WorkflowHandle, options: FollowOptions): Promise<RunResult> {
  const { write, runbook } = options;
  let ended = false;
  const waitForResult = async (): Promise<RunResult> => {
    let failingSince: number | undefined;
    for (;;) {
      const asked = Date.now();
      try {
        return (await handle.result()) as RunResult;
      } catch (err) {
        // A wait that lasted a while was answered meanwhile: this is a new outage, not the old one going on.
        if (Date.now() - asked > 60_000) failingSince = undefined;
        failingSince ??= asked;
        if (options.signal?.aborted || !options.retry?.(err, Date.now() - failingSince)) throw err;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  };
  // The SDK adds an abort listener to the signal for each long poll of the result and keeps them
  // until the wait ends: a rehearsal waiting an hour at a gate collects a hundred. Harmless, but
  // Node would print a leak warning on the lead's screen after the eleventh.
  if (options.signal) setMaxListeners(0, options.signal);
  const result = (options.signal ? handle.client.withAbortSignal(options.signal, waitForResult) : waitForResult()).finally(() => {
    ended = true;
  });
  // Keep the rejection for the caller; stop polling either way.
  result.catch(() => undefined);
  const seen = new Map<string, string>();
  const comparisons = new Map<string, string>();
  const answered = new Set<string>();
  let lastBackout = 'not_requested';
  let votesSeen = 0;
  const warned = new Set<string>();

  /** Writes what changed since the last look, oldest first (steps, decisions, back-out). */
  const report = (state: RunState): void => {
    const lines: Array<{ at: string; text: string }> = [];
    // First, so that at equal times the back-out is announced before what it cancels.
    if (state.backout.status !== lastBackout) {
      if (lastBackout === 'not_requested') {
        const b = state.backout;
        lines.push({
          at: b.requestedAt ?? '',
          text: `${clock(b.requestedAt)}  ${MARK.backout} BACK-OUT (${b.trigger ? statusWord(b.trigger) : 'requested'}${b.requestedBy ? ` by ${b.requestedBy}` : ''}): ${b.reason ?? ''}`,
        });
      }
      lastBackout = state.backout.status;
      if (state.backout.status === 'completed') {
        lines.push({ at: state.backout.endedAt ?? '', text: `${clock(state.backout.endedAt)}  ${MARK.backout} back-out complete` });
      }
    }
    for (const id of state.order) {
      const step = state.steps[id]!;
      // A step with nothing to undo changes nothing a person needs to read.
      const backout = step.backout?.status === 'not_needed' ? '' : (step.backout?.status ?? '');
      const key = `${step.status}|${step.waitingFor ?? ''}|${backout}|${step.resolution?.since ?? ''}|${step.heldUntil ?? ''}`;
      if (seen.get(id) === key) continue;
      const before = seen.get(id);
      seen.set(id, key);
      if (before === undefined && step.status === 'pending' && !step.heldUntil) continue;
      const text = describeStep(step, state);
      const at = backout
        ? (step.resolution?.since ?? step.backout?.endedAt ?? step.backout?.startedAt)
        : (step.resolution?.since ?? step.endedAt ?? step.startedAt);
      if (text) lines.push({ at: at ?? '', text });
      // What a comparison found, once per result: a hypercare check that repeats reports every round.
      for (const found of describeReconciliations(step, state.runId)) {
        if (comparisons.get(found.key) === found.version) continue;
        comparisons.set(found.key, found.version);
        lines.push({ at: found.at, text: found.text });
      }
    }
    for (; votesSeen < state.decisions.length; votesSeen += 1) {
      const d = state.decisions[votesSeen]!;
      lines.push({ at: d.at, text: `${clock(d.at)}  ${MARK.decision} ${decisionLine(d)}` });
    }
    lines.push(...gateWarnings(state, warned));
    // Oldest first: a decision made between two polls lands in its place.
    lines.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    for (const line of lines) write(line.text);
  };

  /**
   * Sends what `--auto-approve` answers for a person, as `cutover approve` and `cutover done` would (same request,
   * same deadline, same errors), and writes why when the run did not take it. A request the run did not answer in time,
   * or had no room for, is asked again when the run next shows it still waiting for it.
   */
  const autoSend = async (key: string, request: AutoRequest, what: string): Promise<void> => {
    answered.add(key);
    try {
      await deliverRequest(handle, request, { timeoutMs: options.requestTimeoutMs ?? DEFAULT_UPDATE_TIMEOUT_MS });
    } catch (err) {
      if (err instanceof NoAnswerError || err instanceof RunBusyError) answered.delete(key);
      write(`          could not ${what} as ${request.as}: ${(err as Error).message.split('\n')[0]}`);
    }
  };

  const autoAnswer = async (state: RunState): Promise<void> => {
    for (const id of state.order) {
      const step = state.steps[id]!;
      if (step.gate?.status === 'open') {
        const voted = new Set(step.gate.votes.map((v) => v.by));
        const roles = step.gate.rule === 'any' ? step.gate.approvers.slice(0, 1) : step.gate.awaiting;
        for (const role of roles) {
          const person = peopleIn(runbook, role).find((p) => !voted.has(p));
          const key = `gate:${id}:${role}`;
          if (!person || answered.has(key)) continue;
          voted.add(person);
          const request = {
            kind: 'approve',
            gateId: id,
            as: person,
            role,
            reason: 'auto-approved (--auto-approve)',
            automatic: true,
          } as const;
          await autoSend(key, request, `auto-approve ${id}`);
        }
      }
      const manualForward = step.status === 'waiting' && step.waitingFor === 'manual';
      const manualBackout = step.backout?.status === 'manual' || (step.backout?.status === 'waiting' && !step.resolution);
      if (manualForward || manualBackout) {
        const key = `manual:${id}:${manualForward ? 'forward' : 'backout'}`;
        const person = peopleIn(runbook, step.owner)[0];
        if (!person || answered.has(key)) continue;
        const request = { kind: 'done', stepId: id, as: person, reason: 'auto-completed (--auto-approve)', automatic: true } as const;
        await autoSend(key, request, `auto-complete ${id}`);
      }
    }
    // The hypercare exit gate, once its criteria hold: approved like any gate (workflows/hypercare.ts).
    for (const [key, request] of exitApprovals(state, runbook, answered)) await autoSend(key, request, `auto-approve ${HYPERCARE_EXIT_ID}`);
  };

  // Each pool is announced when it is found without a worker, and again only after a worker had come meanwhile.
  const unservedSaid = new Set<string>();
  let probedAt = 0;
  const probePools = async (state: RunState): Promise<void> => {
    if (!options.unservedPools || Date.now() - probedAt < POOL_PROBE_MS) return;
    const pinned = Object.values(state.steps).filter(waitsForPool);
    if (pinned.length === 0) return;
    probedAt = Date.now();
    const unserved = await options.unservedPools(state).catch(() => undefined);
    if (!unserved) return;
    for (const pool of [...unservedSaid]) if (!unserved.includes(pool)) unservedSaid.delete(pool);
    for (const pool of unserved) {
      if (unservedSaid.has(pool)) continue;
      unservedSaid.add(pool);
      const waiting = pinned.filter((s) => s.runsOn === pool).map((s) => s.id);
      write(
        `${clock(new Date().toISOString())}  ${MARK.waiting} pool ${pool} has no worker, so ${waiting.join(', ')} ${waiting.length === 1 ? 'waits' : 'wait'}: ` +
          `start \`${CLI} worker --pool ${pool}\` on that machine`,
      );
    }
  };

  let last: ReadState | undefined;
  const watch = options.watch ?? true;
  if (!watch) await result.catch(() => undefined);
  while (!ended) {
    let read: ReadState | undefined;
    try {
      read = await readRunState(handle, last);
    } catch {
      // The run may have just ended; the loop condition decides.
    }
    if (read && read !== last) {
      last = read;
      report(read.state);
      if (options.autoApprove) await autoAnswer(read.state);
    }
    if (last) await probePools(last.state);
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, options.pollMs ?? 400))]);
  }
  const final = await result;
  if (!watch) return final;
  // The last changes since the previous poll (a finished run still answers its queries).
  const finalState =
    final.state ??
    (await readRunState(handle).then(
      (r) => r.state,
      () => last?.state,
    ));
  if (finalState) report(finalState);
  return final;
}

/** Warnings about open gates, each once: their deadline 15 and 5 minutes ahead, and a point of no return passed. */
function gateWarnings(state: RunState, warned: Set<string>): Array<{ at: string; text: string }> {
  const lines: Array<{ at: string; text: string }> = [];
  // An open gate's deadline, once when 15 and once when 5 minutes are left.
  for (const id of state.order) {
    const gate = state.steps[id]!.gate;
    if (gate?.status !== 'open' || !gate.closesAt) continue;
    const left = Date.parse(gate.closesAt) - Date.now();
    const crossed = DEADLINE_WARNINGS.filter((minutes) => left > 0 && left <= minutes * 60_000).map((minutes) => `${id}@${minutes}`);
    if (crossed.length === 0 || crossed.every((key) => warned.has(key))) continue;
    for (const key of crossed) warned.add(key);
    lines.push({
      at: new Date().toISOString(),
      text: `${clock(new Date().toISOString())}  ${MARK.warning} gate ${id} closes in ${formatDuration(left)} (${clock(gate.closesAt)}); undecided it means ${gate.onDeadline ?? 'no-go'}`,
    });
  }
  // Once per open gate: the point of no return passed while people still decide.
  for (const id of state.order) {
    const gate = state.steps[id]!.gate;
    const noReturn = gate?.pointOfNoReturn;
    if (gate?.status !== 'open' || !noReturn || Date.parse(noReturn.at) > Date.now() || warned.has(`${id}@noreturn`)) continue;
    warned.add(`${id}@noreturn`);
    lines.push({
      at: new Date().toISOString(),
      text: `${clock(new Date().toISOString())}  ${MARK.warning} gate ${id}: past the point of no return (${clock(noReturn.at)}): a go now leaves no room to back out inside the window (ends ${clock(noReturn.windowEnd)})`,
    });
  }
  return lines;
}

/** One line for a step's new status, with the command to type when a person is needed. */
export function describeStep(step: StepState, state: RunState): string | undefined {
  const name = `${step.phaseId}/${step.id}`.padEnd(32);
  const who = `owner ${step.owner}`;
  const planned = formatDuration(step.plannedDurationMs);
  const took = step.startedAt && step.endedAt ? formatDuration(Date.parse(step.endedAt) - Date.parse(step.startedAt)) : undefined;
  if (step.backout && step.backout.status !== 'pending' && step.backout.status !== 'not_needed') {
    switch (step.backout.status) {
      case 'running':
        return `${clock(step.backout.startedAt)}  ${MARK.backout} ${name} undoing   owner ${step.owner}`;
      case 'succeeded':
        return `${clock(step.backout.endedAt)}  ${MARK.backout} ${name} undone`;
      case 'resolved':
        return `${clock(step.backout.endedAt)}  ${MARK.backout} ${name} back-out recorded as done by hand`;
      case 'manual':
        return `${clock(step.backout.startedAt)}  ${MARK.waiting} ${name} back-out is manual, waiting for ${step.owner}: ${CLI} done ${state.runId} ${step.id} --as <person>`;
      case 'waiting':
        return step.resolution
          ? `${clock(step.resolution.since)}  ${MARK.failed} ${name} back-out FAILED: ${step.resolution.error}${outputLines(step.backout.outputTail)}\n` +
              `          waiting for the lead: ${CLI} resolve ${state.runId} ${step.id} --retry|--done --as <lead> --reason "..."`
          : `${clock(step.backout.startedAt)}  ${MARK.waiting} ${name} back-out is manual, waiting for ${step.owner}: ${CLI} done ${state.runId} ${step.id} --as <person>`;
      default:
        return undefined;
    }
  }
  switch (step.status) {
    case 'pending':
      return step.heldUntil
        ? `${clock(new Date().toISOString())}  ${STEP_SYMBOL.pending} ${name} held      until ${clock(step.heldUntil)} (${step.heldFor ?? 'not_before'}), ${who}`
        : undefined;
    case 'running':
      return `${clock(step.startedAt)}  ${STEP_SYMBOL.running} ${name} started   ${who}, planned ${planned}${step.treatment === 'simulate' ? ' (simulated)' : ''}`;
    case 'succeeded':
      return `${clock(step.endedAt)}  ${STEP_SYMBOL.succeeded} ${name} done      took ${took ?? '?'} (planned ${planned})${step.attempts > 1 ? ` on attempt ${step.attempts}` : ''}${step.completedBy ? ` by ${step.completedBy}` : ''}`;
    case 'simulated':
      return `${clock(step.endedAt)}  ${STEP_SYMBOL.simulated} ${name} simulated took ${took ?? '?'} (planned ${planned})`;
    case 'skipped':
      return `${clock(step.endedAt)}  ${STEP_SYMBOL.skipped} ${name} skipped in rehearsal`;
    case 'cancelled':
      return `${clock(step.endedAt)}  ${STEP_SYMBOL.cancelled} ${name} cancelled`;
    case 'failed':
      return `${clock(step.endedAt)}  ${STEP_SYMBOL.failed} ${name} FAILED    ${step.error ?? ''}${outputLines(step.outputTail)}`;
    case 'waiting':
      if (step.waitingFor === 'approval' && step.gate) {
        return (
          `${clock(step.startedAt)}  ${STEP_SYMBOL.waiting} ${name} gate open: ${step.gate.question ?? step.title}; needs ${step.gate.rule === 'all' ? 'each of' : 'one of'} ${step.gate.approvers.join(', ')}` +
          `${unmetRequirements(step.gate)
            .map((r) => `, and ${r}`)
            .join('')}` +
          `${step.gate.closesAt ? `; closes ${clock(step.gate.closesAt)}, then ${step.gate.onDeadline ?? 'no-go'}` : ''}\n` +
          `          ${CLI} approve ${state.runId} ${step.id} --as <person>   |   ${CLI} reject ${state.runId} ${step.id} --as <person> --reason "..."`
        );
      }
      if (step.waitingFor === 'manual') {
        return `${clock(step.startedAt)}  ${STEP_SYMBOL.waiting} ${name} manual step for ${step.owner}: ${CLI} done ${state.runId} ${step.id} --as <person>`;
      }
      if (step.waitingFor === 'resolution' && step.resolution) {
        return (
          `${clock(step.resolution.since)}  ${MARK.failed} ${name} ${RESOLUTION_WORDS[step.resolution.kind].toUpperCase()}: ${step.resolution.error}${outputLines(step.outputTail)}\n` +
          `          waiting for the lead: ${CLI} resolve ${state.runId} ${step.id} --retry|--done --as <lead> --reason "..."  or  ${CLI} backout ${state.runId} --as <lead> --reason "..."`
        );
      }
      return undefined;
    default:
      return undefined;
  }
}

/** One line about what a step's comparison found; `version` changes with each new result (a check's round). */
export interface ReconcileLine {
  /** The step and the check ('' for the action). */
  key: string;
  version: string;
  at: string;
  text: string;
}

/**
 * What a step's reconcile action and reconcile checks found, one line each (a repeating check's latest
 * round and drift), and where to get the differing rows when there are any. Pure, for the follow output.
 */
export function describeReconciliations(step: StepState, runId: string): ReconcileLine[] {
  const found: Array<{ check: string; what: string; summary: ReconcileSummary; at: string | undefined }> = [
    ...(step.reconcile ? [{ check: '', what: 'compared', summary: step.reconcile, at: step.endedAt }] : []),
    ...step.checks.flatMap((c) =>
      c.reconcile ? [{ check: c.name, what: `check "${c.name}" compared`, summary: c.reconcile, at: c.at }] : [],
    ),
  ];
  const name = `${step.phaseId}/${step.id}`.padEnd(32);
  return found.map(({ check, what, summary: s, at }) => {
    const differs = s.mismatched + s.missing_in_target + s.extra_in_target + sides(s.duplicate_keys) + sides(s.null_keys) > 0;
    return {
      key: `${step.id}\u0000${check}`,
      // Not the attempt: a retried step keeps its previous result until the comparison ends again.
      version: `${check === '' ? '' : at}|${JSON.stringify(s)}`,
      at: at ?? '',
      text:
        `${clock(at)}  ${MARK.reconcile} ${name} ${what}: ${describeSummary(s)}` +
        (differs ? `\n          the differing rows: ${CLI} reconcile-report ${runId} ${step.id}${check ? ` --check "${check}"` : ''}` : ''),
    };
  });
}

const sides = (n: { source: number; target: number }): number => n.source + n.target;

/** Minutes before an open gate's deadline when the follow output warns. */
const DEADLINE_WARNINGS = [15, 5] as const;

/** The last lines of a failed action's output, indented under its line. */
function outputLines(tail: string | undefined, max = 6): string {
  if (!tail?.trim()) return '';
  const lines = tail.trimEnd().split('\n').slice(-max);
  return lines.map((line) => `\n          │ ${line.slice(0, 200)}`).join('');
}

/** What `--auto-approve` sends for the open hypercare exit gate: one approval per role it awaits, by key. */
function exitApprovals(state: RunState, runbook: Runbook, answered: ReadonlySet<string>): [string, AutoRequest][] {
  const exit = state.hypercare?.exit;
  if (exit?.status !== 'open') return [];
  const voted = new Set(exit.votes.map((v) => v.by));
  const out: [string, AutoRequest][] = [];
  for (const role of exit.rule === 'any' ? exit.approvers.slice(0, 1) : exit.awaiting) {
    const person = peopleIn(runbook, role).find((p) => !voted.has(p));
    const key = `gate:${HYPERCARE_EXIT_ID}:${role}`;
    if (!person || answered.has(key)) continue;
    voted.add(person);
    out.push([
      key,
      { kind: 'approve', gateId: HYPERCARE_EXIT_ID, as: person, role, reason: 'auto-approved (--auto-approve)', automatic: true },
    ]);
  }
  return out;
}
