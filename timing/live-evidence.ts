/**
 * Whether a runbook version has the rehearsal evidence a live run needs (`cutover run --live`): a completed
 * rehearsal of the same version (its content hash) recently enough (the runbook's `evidence.rehearsal_within`,
 * default {@link DEFAULT_REHEARSAL_WITHIN}), and at least one rehearsal that exercised back-out to its end. Pure: the
 * CLI hands it the recorded runs and the time.
 */
import { durationMs, formatDuration } from '../runbook/duration.js';
import type { Runbook } from '../runbook/schema.js';
import { sameVersion } from '../run/version-hash.js';

/** How recent the completed rehearsal must be when the runbook does not say. */
export const DEFAULT_REHEARSAL_WITHIN = '14d';

/** A recorded run, as much as the gate reads (a `RunSummary` fits). */
export interface EvidenceRun {
  id: string;
  mode: 'rehearsal' | 'live';
  status: string;
  versionHash: string;
  runbookVersion: string;
  endedAt: string | null;
  backoutEndedAt: string | null;
}

/** What the gate found. */
export interface LiveEvidence {
  ok: boolean;
  /** One sentence per missing piece of evidence, saying what to do. */
  missing: string[];
  /** The same, in a few words each (for the decision log of an override). */
  gaps: string[];
  withinMs: number;
  /** The completed rehearsal of this version that counts, if any. */
  rehearsal?: { runId: string; endedAt: string };
  /** A rehearsal that backed out to the end, if any (any version of the runbook). */
  backout?: { runId: string; runbookVersion: string; endedAt: string };
}

const DAY = 86_400_000;

/** Checks the evidence for a live run of `versionHash` at `nowMs`; `runs` are the runbook's, newest first. */
export function liveEvidence(
  runbook: Pick<Runbook, 'name' | 'evidence'>,
  versionHash: string,
  runs: readonly EvidenceRun[],
  nowMs: number,
): LiveEvidence {
  const within = runbook.evidence?.rehearsal_within ?? DEFAULT_REHEARSAL_WITHIN;
  const withinMs = durationMs(within);
  const rehearsals = runs.filter((run) => run.mode === 'rehearsal');
  const completed = rehearsals.filter(
    (run) => sameVersion(run.versionHash, versionHash) && run.status === 'completed' && run.endedAt !== null,
  );
  const recent = completed.find((run) => nowMs - Date.parse(run.endedAt!) <= withinMs);
  const backedOut = rehearsals.find((run) => run.backoutEndedAt !== null);
  const missing: string[] = [];
  const gaps: string[] = [];
  if (!recent) {
    gaps.push(`a completed rehearsal of this version within ${within}`);
    const ago = (iso: string) => formatAgo(nowMs - Date.parse(iso));
    const latest = completed[0];
    missing.push(
      latest
        ? `a completed rehearsal of this version within ${within}: the latest, ${latest.id}, ended ${ago(latest.endedAt!)} ago (rehearse it again: cutover rehearse FILE)`
        : `a completed rehearsal of this version (${versionHash}) within ${within}: ${
            rehearsals.length === 0
              ? `${runbook.name} was never rehearsed`
              : `none of this version has completed (the latest rehearsal, ${rehearsals[0]!.id}, is version ${rehearsals[0]!.runbookVersion}, ${rehearsals[0]!.status})`
          } (rehearse it: cutover rehearse FILE)`,
    );
  }
  if (!backedOut) {
    gaps.push('a rehearsal that exercised back-out');
    missing.push(
      `a rehearsal that exercised back-out: no rehearsal of ${runbook.name} has backed out to the end (back one out: cutover backout RUN --as LEAD --reason "rehearsing back-out")`,
    );
  }
  return {
    ok: missing.length === 0,
    missing,
    gaps,
    withinMs,
    ...(recent ? { rehearsal: { runId: recent.id, endedAt: recent.endedAt! } } : {}),
    ...(backedOut
      ? { backout: { runId: backedOut.id, runbookVersion: backedOut.runbookVersion, endedAt: backedOut.backoutEndedAt! } }
      : {}),
  };
}

function formatAgo(ms: number): string {
  return ms >= 2 * DAY ? `${Math.floor(ms / DAY)} days` : formatDuration(ms);
}
