/**
 * What every action kind shares: the context an action runs in, how it reports its ending, the
 * environment commands and comparisons see, and a wait that keeps heartbeating. Its own module so
 * the action kinds (actions.ts, reconcile.ts) and their callers import it without a cycle.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReconcileRecord } from '../prisma/records.js';
import type { ReconcileResult, ReconcileSummary } from '../reconcile/result.js';
import type { Connection } from '../runbook/schema.js';
import { isCutoverSecret } from '../common/cutover-secrets.js';

/** How an action ended, with what a person needs to see why. */
export interface ActionResult {
  ok: boolean;
  /** One sentence: `exit code 3 (expected 0)`, `HTTP 503 (expected 2xx)`, `3 rows (expected 0)`. */
  detail: string;
  exitCode?: number;
  /** The last lines of a command's output, for the record and the console. */
  outputTail?: string;
  /** The worker stopped while the action ran: nobody knows how it ends. */
  interrupted?: boolean;
  /** What a `reconcile` action or check found (its full result is in the record store). */
  reconcile?: ReconcileSummary;
}

/** Where an attempt's reconciliations are recorded, bound to its run, step and attempt. */
export interface ReconcileLog {
  /** `check` is '' for the step's action. */
  record(check: string, round: number, startedAt: string, result: ReconcileResult): Promise<void>;
  /** The rounds already recorded for `check` in this attempt, in order. */
  rounds(check: string): Promise<ReconcileRecord[]>;
}

/** Where and for whom an action runs. */
export interface ActionContext {
  baseDir: string;
  connections: Record<string, Connection>;
  /** Extra variables for shell actions: run id, step id, idempotency key, attempt. */
  env: Record<string, string>;
  /** Default timeout when the action sets none. */
  timeoutMs: number;
  /** Aborted when the activity is cancelled; running commands are killed. */
  signal?: AbortSignal;
  /** Called periodically while a long action runs, so a dead worker is noticed. */
  heartbeat?: () => void;
  /**
   * True when the worker is stopping (Ctrl-C, maintenance): a command is then left running
   * instead of killed, because stopping a half-done migration is worse than not watching it.
   */
  workerStopping?: () => boolean;
  /**
   * Set for checks: a check is a read-only question that is asked again, so when the worker
   * stops it is stopped (not left running) and the caller reports the checks as interrupted.
   */
  check?: boolean;
  /** The name of the check being asked: a reconcile check's results are recorded under it. */
  checkName?: string;
  /** Where reconcile actions and checks record their full results. */
  reconciliations?: ReconcileLog;
  /** How far a long action got, sent with the next heartbeat (`cutover status` shows it). */
  progress?: (details: unknown) => void;
  fetch?: typeof fetch;
}

/** cutover's own secrets (common/cutover-secrets.ts), re-exported for the activities that import them from here. */
export { isCutoverSecret };

/**
 * The worker's environment for commands and `${VAR}` expansion, less cutover's own connection
 * secrets: a runbook's step has no business with the Temporal API key or client certificate.
 */
export function commandEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && !isCutoverSecret(entry[0])),
  );
}

/** Waits `ms`, heartbeating so a long wait does not look like a dead worker; returns early when `ctx.signal` aborts. */
export async function waitHeartbeating(ms: number, ctx: Pick<ActionContext, 'signal' | 'heartbeat'>): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !ctx.signal?.aborted) {
    ctx.heartbeat?.();
    await sleep(Math.min(5000, until - Date.now()), undefined, ctx.signal ? { signal: ctx.signal } : {}).catch(() => undefined);
  }
}
