/**
 * The CLI's errors, one class per condition, and the one place that maps them to exit codes.
 * A user's mistake prints one sentence; only unexpected errors print a stack trace.
 */
import { StoreError } from '../prisma/store-errors.js';

/** Exit codes, documented in docs/exit-codes.md. */
export const EXIT = {
  ok: 0,
  /** A bug in cutover: the message comes with a stack trace. */
  internal: 1,
  /** Bad arguments, or a run or step that does not exist. */
  usage: 2,
  /** The runbook file has problems (all of them are listed). */
  invalidRunbook: 3,
  /** The run ended backed out (a failed step, a no-go, or the lead's request). */
  backedOut: 4,
  /** The run ended failed (stopped with steps not done, or cancelled). */
  failed: 5,
  /** Something cutover needs is missing or unreachable: Temporal, the database, the binary. */
  environment: 6,
  /** The run refused the request: not allowed for this person, gate closed, already voted. */
  refused: 7,
  /** The run did not answer a request in time; it may still apply it when it catches up (`cutover status` tells). */
  noAnswer: 8,
  /** `decisions --verify`: the decision log does not hold (an entry changed or removed, a signature that does not match). */
  logBroken: 9,
  /** Interrupted (Ctrl-C); the run itself goes on. */
  interrupted: 130,
} as const;

/** Base of errors whose message is meant for the user as is. */
export class CutoverError extends Error {
  readonly exitCode: number = EXIT.internal;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Thrown when arguments are wrong or name something that does not exist. */
export class UsageError extends CutoverError {
  override readonly exitCode: number = EXIT.usage;
}

/** Thrown when a run id names no run, in Temporal or in the record store. */
export class UnknownRunError extends UsageError {
  constructor(readonly runId: string) {
    super(`there is no run \`${runId}\`; \`cutover list\` shows the runs`);
  }
}

/** Thrown when a runbook file cannot be used; the message lists every problem. */
export class InvalidRunbookError extends CutoverError {
  override readonly exitCode: number = EXIT.invalidRunbook;
  constructor(
    readonly file: string,
    readonly problems: string[],
    /** The problems as structured records (file, line, column, path, message), for --json. */
    readonly details: unknown[] = [],
  ) {
    super(problems.join('\n'));
  }
}

/** Thrown when Temporal, the database or a tool cannot be reached or is missing. */
export class EnvironmentError extends CutoverError {
  override readonly exitCode: number = EXIT.environment;
}

/** Thrown when the user interrupts a command (Ctrl-C) before it could do its work. */
export class InterruptedError extends CutoverError {
  override readonly exitCode: number = EXIT.interrupted;
}

/** Thrown when a run's Update validator refuses a request; the message is the run's reason. */
export class RequestRefusedError extends CutoverError {
  override readonly exitCode: number = EXIT.refused;
}

/** Thrown when `run --live` lacks the rehearsal evidence it needs and nobody overrode it; the message names what is missing. */
export class LiveEvidenceMissingError extends CutoverError {
  override readonly exitCode: number = EXIT.refused;
  constructor(
    readonly runbook: string,
    readonly missing: readonly string[],
  ) {
    super(
      `${runbook} may not run live yet; missing ${missing.map((m, i) => `(${i + 1}) ${m}`).join('; ')}; the lead may go live anyway with --override-evidence "REASON" (recorded in the decision log)`,
    );
  }
}

/** Thrown when a run does not answer a request (an Update) within the deadline; the request may still be applied. */
export class NoAnswerError extends CutoverError {
  override readonly exitCode: number = EXIT.noAnswer;
  constructor(
    readonly runId: string,
    readonly timeoutMs: number,
  ) {
    super(
      `no answer from run ${runId} within ${formatSeconds(timeoutMs)}: usually no worker is polling for it (no \`cutover worker\` or rehearse running) ` +
        `or its record store is stalled; the request may still be applied when the run catches up: check with \`cutover status ${runId}\` before asking again`,
    );
  }
}

/** Thrown when Temporal refuses a request because the run already has the most requests in flight it accepts. */
export class RunBusyError extends EnvironmentError {
  constructor(
    readonly runId: string,
    /** Temporal's own words, e.g. "limit on number of concurrent in-flight updates has been reached (10)". */
    readonly detail: string,
  ) {
    super(
      `Temporal refused the request: run ${runId} already has as many requests in flight as it takes at once (${detail}); ` +
        `it was not applied: try again in a moment (\`cutover status ${runId}\` shows whether the run is moving)`,
    );
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** The exit code for any error: ours by class (the record store's own errors are its settings or its database), anything else is a bug. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CutoverError) return err.exitCode;
  if (err instanceof StoreError) return EXIT.environment;
  if (err && typeof err === 'object' && 'exitCode' in err && typeof err.exitCode === 'number') return err.exitCode;
  return EXIT.internal;
}
