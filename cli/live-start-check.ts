/**
 * What a live run needs before it starts, besides a valid runbook: evidence from rehearsals (timing/live-evidence.ts),
 * and the runbook's windows (runbook/change-window.ts): it starts inside the approved change window, and its plan puts
 * no interface switch-on step into a declared freeze. Without them the run is refused, naming what is missing, unless
 * the lead overrides it with a reason (`--override-evidence`, `--override-window`): then one override, signed by the
 * lead like a vote, goes to the run, which logs it as its first decision (an `override` in the decision log, with
 * everything it went without).
 */
import type { RunRecord } from '../prisma/records.js';
import { liveWindowGaps } from '../runbook/change-window.js';
import { overrideRequest } from '../run/signed-request.js';
import type { EvidenceOverride } from '../run/state.js';
import { peopleIn } from '../run/transitions.js';
import { liveEvidence } from '../timing/live-evidence.js';
import { ChangeWindowError, LiveEvidenceMissingError, RequestRefusedError, UsageError } from './errors.js';
import { findSigningKey, fingerprint, publicKeyText, signRequest } from './keys.js';
import type { LoadedRunbook } from './load-runbook.js';
import type { StartOptions } from './start-run.js';

/** Signs the lead's override for the run it starts, once the run has its id. */
export type SignOverride = (runId: string) => EvidenceOverride;

/** Refuses a live run that lacks evidence or breaks a window without the lead's override; the override to sign, if any. */
export function checkLiveStart(
  runs: readonly RunRecord[],
  loaded: LoadedRunbook,
  options: Pick<StartOptions, 'startedBy' | 'overrideEvidence' | 'overrideWindow' | 'out'>,
  nowMs: number,
): SignOverride | undefined {
  const { runbook } = loaded;
  const evidence = liveEvidence(runbook, loaded.versionHash, runs, nowMs);
  const windowGaps = liveWindowGaps(runbook, nowMs);
  const name = `${runbook.name} v${runbook.version} (${loaded.versionHash})`;
  if (evidence.ok) {
    options.out.line(
      `evidence: ${evidence.rehearsal!.runId} completed this version ${evidence.rehearsal!.endedAt}; back-out exercised in ${evidence.backout!.runId}`,
    );
    if (options.overrideEvidence !== undefined)
      options.out.warn('note: --override-evidence is not needed (the evidence is there) and is not recorded');
  } else if (options.overrideEvidence === undefined) throw new LiveEvidenceMissingError(name, evidence.missing);
  if (windowGaps.length === 0 && options.overrideWindow !== undefined)
    options.out.warn('note: --override-window is not needed (the run is inside its windows) and is not recorded');
  if (windowGaps.length > 0 && options.overrideWindow === undefined) throw new ChangeWindowError(name, windowGaps);

  const overridden = [
    ...(evidence.ok ? [] : [{ flag: '--override-evidence', reason: options.overrideEvidence!, gaps: evidence.gaps }]),
    ...(windowGaps.length > 0 ? [{ flag: '--override-window', reason: options.overrideWindow!, gaps: windowGaps }] : []),
  ];
  if (overridden.length === 0) return undefined;
  const flags = overridden.map((o) => o.flag).join(' and ');
  const leads = peopleIn(runbook, runbook.lead);
  if (!leads.includes(options.startedBy)) {
    throw new RequestRefusedError(
      `${flags} needs the lead role ${runbook.lead} (${leads.join(', ') || 'nobody'}); ${options.startedBy} does not hold it (say who you are with --as)`,
    );
  }
  for (const o of overridden) if (!o.reason.trim()) throw new UsageError(`${o.flag} needs a reason (it goes into the decision log)`);
  // Signed like a vote, with the key read now: a missing key or passphrase is said before anything is reserved.
  const key = findSigningKey();
  const listed = runbook.people[options.startedBy]?.key;
  if (!key) {
    throw new RequestRefusedError(
      `${flags} is signed, and this machine has no signing key for ${options.startedBy}: run \`cutover keys init\`, and list the key \`cutover keys show\` prints under \`people\` in the runbook`,
    );
  }
  if (publicKeyText(key) !== listed) {
    throw new RequestRefusedError(
      listed
        ? `this machine's signing key (${fingerprint(publicKeyText(key))}) is not the one the runbook lists for ${options.startedBy} (${fingerprint(listed)}); ${flags} must be signed by the lead`
        : `the runbook lists no key for ${options.startedBy} under \`people\`, so their override cannot be checked; add the key \`cutover keys show\` prints`,
    );
  }
  const missing = overridden.flatMap((o) => o.gaps);
  options.out.warn(`going live WITHOUT ${missing.join(' and ')}: overridden by ${options.startedBy}, recorded in the run's decision log`);
  const override = { by: options.startedBy, role: runbook.lead, reason: overridden.map((o) => o.reason.trim()).join('; '), missing };
  return (runId) => ({ ...override, signature: signRequest(key, runId, 'override', overrideRequest(override)) });
}
