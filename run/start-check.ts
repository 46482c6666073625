/**
 * A run checks its own start against what the record store reserved for it (issue 17): a client with access to the
 * Temporal namespace can start the workflow with any input, but only cutover's start command reserves a run in the
 * store. Pure types and one pure function: the workflow bundle and the worker both import it.
 */
import type { RunInput } from './state.js';

/** What a start of the run claims, as the workflow was given it. */
export interface StartClaim {
  mode: RunInput['mode'];
  versionHash: string;
  autoApprove: boolean;
  /** The start carries the lead's (signed) evidence override, which the workflow checks itself. */
  overridden: boolean;
  /** The first execution of the run; a later one continues it (its reservation is then under way). */
  fresh: boolean;
  /** The runbook's folder the start names; absent from executions before patch checks-base-dir. */
  baseDir?: string;
}

/** What the record store reserved for a run, as much as a start is checked against. */
export interface StartReservation {
  mode: string;
  versionHash: string;
  /**
   * Whether the run was reserved with `--auto-approve`; `null` for a run reserved before the store kept it (an older
   * CLI: workers are upgraded first), which a start is then not checked against.
   */
  autoApprove: boolean | null;
  /** `pending` until the run's first execution records it started. */
  status: string;
  /**
   * The runbook's folder (where `${file:}`, `cwd` and relative paths resolve); `null` for a run reserved before the store
   * kept it, which a start is then not checked against.
   */
  baseDir: string | null;
}

/** The record store's answer to a start: fine, or why not. */
export type StartVerdict =
  | { ok: true }
  | {
      ok: false;
      why: string;
      /**
       * The reservation is this start's own (pending, and as it claims): the run records its refusal there. Otherwise
       * the store is not touched (it holds another start's run, maybe one that ended).
       */
      own: boolean;
    };

const ENDED = ['completed', 'backed_out', 'failed'];

/**
 * Checks `claim` against `reservation`; `evidence` is asked only for a fresh live start without an override, and
 * says which evidence is missing (nothing when it is there).
 */
export function checkStart(runId: string, claim: StartClaim, reservation: StartReservation, evidence: () => string[]): StartVerdict {
  if (claim.fresh && reservation.status !== 'pending')
    return { ok: false, own: false, why: `run ${runId} was started before (its record says ${reservation.status}); a run starts once` };
  if (!claim.fresh && (reservation.status === 'pending' || ENDED.includes(reservation.status)))
    return {
      ok: false,
      own: false,
      why: `run ${runId} is not under way (its record says ${reservation.status}); there is nothing to continue`,
    };
  if (claim.mode !== reservation.mode)
    return { ok: false, own: false, why: `run ${runId} was reserved as a ${reservation.mode} run, not a ${claim.mode} one` };
  if (reservation.autoApprove !== null && claim.autoApprove !== reservation.autoApprove)
    return {
      ok: false,
      own: false,
      why: `run ${runId} was reserved ${reservation.autoApprove ? 'with' : 'without'} --auto-approve, and started ${claim.autoApprove ? 'with' : 'without'} it`,
    };
  if (claim.baseDir !== undefined && reservation.baseDir !== null && claim.baseDir !== reservation.baseDir)
    return {
      ok: false,
      own: false,
      why: `run ${runId} was reserved for the runbook in ${reservation.baseDir}, and started for the folder ${claim.baseDir}`,
    };
  if (claim.versionHash !== reservation.versionHash)
    return {
      ok: false,
      own: false,
      why: `run ${runId} was reserved for runbook version ${reservation.versionHash}, not ${claim.versionHash}`,
    };
  if (claim.fresh && claim.mode === 'live' && !claim.overridden) {
    const missing = evidence();
    if (missing.length > 0)
      return { ok: false, own: true, why: `a live run needs ${missing.join(' and ')}, or the lead's signed override; it had neither` };
  }
  return { ok: true };
}
