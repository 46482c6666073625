/**
 * What every action kind shares: the context an action runs in, how it reports its ending, the
 * environment commands and comparisons see, and a wait that keeps heartbeating. Its own module so
 * the action kinds (actions.ts, reconcile.ts) and their callers import it without a cycle.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { isOwnSecret, withoutOwnSecrets } from '../common/own-secrets.js';
import type { ReconcileRecord } from '../prisma/records.js';
import type { ReconcileResult, ReconcileSummary } from '../reconcile/result.js';
import type { Connection } from '../runbook/schema.js';

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
  /**
   * Masks the step's resolved secrets in a text (see secrets.ts). Actions apply it to the whole output before they
   * cut a tail or a detail from it: a secret that straddled the cut would otherwise survive in part.
   */
  redact?: (text: string) => string;
}

/** True for the names of cutover's own secrets (and their `_FILE` variants), which neither commands nor `${env:...}` references see. */
export function isCutoverSecret(name: string): boolean {
  return isOwnSecret(name);
}

/**
 * The worker's environment less cutover's own secrets: what HTTP's `${NAME}` expansion and a comparison's process
 * read. Not a boundary of its own: a `${env:NAME}` reference reads the same set, by design.
 */
export function commandEnvironment(): Record<string, string> {
  return withoutOwnSecrets(process.env);
}

/** What every command needs to run and to speak the worker's language: passed to actions when the worker has them. */
const BASE_VARIABLES = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_[A-Z_]+|TZ|TERM|TMPDIR)$/;

/**
 * The environment a runbook's command starts with, built for it rather than copied from the worker: the base
 * variables above, and the ones the worker lists in `CUTOVER_ACTION_ENV` (names, colon- or comma-separated). Never
 * cutover's own secrets, even when listed. The caller adds the run variables, the step's `env` and its references.
 * With `user` (see {@link actionUser}) the user's own HOME, USER and LOGNAME.
 */
export function actionEnvironment(env: NodeJS.ProcessEnv = process.env, user?: ActionUser): Record<string, string> {
  const listed = new Set((env.CUTOVER_ACTION_ENV ?? '').split(/[:,]/).map((name) => name.trim()));
  const chosen = Object.entries(env).filter(
    (entry): entry is [string, string] =>
      entry[1] !== undefined && (BASE_VARIABLES.test(entry[0]) || listed.has(entry[0])) && !isOwnSecret(entry[0]),
  );
  const own = Object.fromEntries(chosen);
  return user ? { ...own, HOME: user.home, USER: user.name, LOGNAME: user.name } : own;
}

/** The user a worker runs the runbook's commands as (`CUTOVER_ACTION_USER`), resolved from the system's user database. */
export interface ActionUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Thrown when `CUTOVER_ACTION_USER` names a user this worker cannot run commands as. */
export class ActionUserError extends Error {
  constructor(
    readonly user: string,
    reason: string,
  ) {
    super(`CUTOVER_ACTION_USER=${user} ${reason}`);
    this.name = 'ActionUserError';
  }
}

/**
 * The user named by `CUTOVER_ACTION_USER`, or undefined when unset. Commands then run with that user's uid and gid
 * (and no supplementary groups), so they cannot read the worker's `/proc/PID/environ` or memory, nor files only the
 * worker's user may read (a signing key). Switching users needs a worker running as root; anything else is refused.
 */
export function actionUser(env: NodeJS.ProcessEnv = process.env): ActionUser | undefined {
  const name = env.CUTOVER_ACTION_USER?.trim();
  if (!name) return undefined;
  if (process.getuid?.() !== 0)
    throw new ActionUserError(
      name,
      'needs a worker running as root (it switches to that user for every command); unset it, or start the worker as root',
    );
  let entry: string;
  try {
    entry = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim();
  } catch {
    throw new ActionUserError(name, 'is not a user on this machine; create it (useradd --system NAME) or fix the name');
  }
  const [, , uid, gid, , home] = entry.split(':');
  if (Number(uid) === 0) throw new ActionUserError(name, 'is root, which can read everything the worker holds; name an unprivileged user');
  return { name, uid: Number(uid), gid: Number(gid), home: home || '/' };
}

/** How much of a command's output is kept, from its end, for the record and the console. */
export const OUTPUT_TAIL_BYTES = 4000;

/** Keeps the last `max` bytes of a stream, cut at a line start when possible. */
export function tail(text: string, max = OUTPUT_TAIL_BYTES): string {
  if (text.length <= max) return text;
  const cut = text.slice(-max);
  const newline = cut.indexOf('\n');
  return newline >= 0 && newline < 200 ? cut.slice(newline + 1) : cut;
}

/** Waits `ms`, heartbeating so a long wait does not look like a dead worker; returns early when `ctx.signal` aborts. */
export async function waitHeartbeating(ms: number, ctx: Pick<ActionContext, 'signal' | 'heartbeat'>): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !ctx.signal?.aborted) {
    ctx.heartbeat?.();
    await sleep(Math.min(5000, until - Date.now()), undefined, ctx.signal ? { signal: ctx.signal } : {}).catch(() => undefined);
  }
}
