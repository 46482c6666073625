/**
 * `cutover decisions RUN [--json] [--verify [--runbook FILE] [--head FILE]] [--export-head [--out FILE]]`: a run's
 * decision log from the record store (every vote, manual completion, back-out request, resolution, deadline and
 * cancel, with who, in which role, why, and their signature), and with `--verify` the check an auditor runs offline.
 *
 * The check trusts as little of the store it checks as it can: the hash chain holds (nothing changed, removed or
 * reordered), every signature matches its request and the key listed for the person, a live run's person decisions
 * are all signed; the keys come from the runbook file the auditor gives (`--runbook`, checked against the run's
 * version hash), else from the runbook the store recorded; the log is compared with the run's own copy while
 * Temporal has it, and with a head exported earlier and kept elsewhere (`--head`). Exit 0 when it holds, 9 when it
 * does not.
 */
import { checkDecisionLog, compareWithHead, compareWithRunCopy, inLogOrder, logHead, type LogProblem } from '../run/decision-log.js';
import type { RunDetail } from '../prisma/records.js';
import { refusalLine, refusalOf } from '../present/refusal-view.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import { isPasskeySignature } from '../run/signed-request.js';
import { sha256, verifyText } from '../common/signatures.js';
import { EXIT } from './errors.js';
import { fingerprint } from './keys.js';
import { loadRunbook } from './load-runbook.js';
import { runbookMismatch } from '../run/version-hash.js';
import type { Output } from './output.js';
import { readHeadFile } from './decision-head.js';
import { readDecisionLog, type RunInTemporal } from './read-decision-log.js';
import { deliverReport } from './report-file.js';
import { readSettings } from './settings.js';

/** What `--verify` is given to check against. */
export interface VerifyOptions {
  /** The runbook file the run ran, from the auditor's own copy: the keys come from it. */
  runbook?: string;
  /** A head exported earlier (`--export-head`), kept outside the store. */
  head?: string;
}

/** `cutover decisions RUN [--json] [--verify [--runbook FILE] [--head FILE]]` */
export async function showDecisions(
  runId: string,
  options: { json: boolean; verify: boolean } & VerifyOptions,
  out: Output,
): Promise<number> {
  // The files first: a wrong path is a usage error before anything is read.
  const auditorRunbook = options.runbook !== undefined ? loadRunbook(options.runbook) : undefined;
  const head = options.head !== undefined ? readHeadFile(options.head) : undefined;
  const settings = readSettings();
  const { run, temporal } = await readDecisionLog(settings, runId, { anchor: options.verify });
  const keys = auditorRunbook
    ? { runbook: auditorRunbook.runbook, from: `the runbook file ${options.runbook!}` }
    : { runbook: recordedRunbook(run), from: 'the runbook' };
  const problems = options.verify
    ? inLogOrder([
        ...(auditorRunbook && runbookMismatch(auditorRunbook.runbook, run.versionHash) !== undefined
          ? [
              {
                text: `the runbook file ${options.runbook!} is not the version ${runId} ran (${run.versionHash}): give the runbook file the run ran`,
              },
            ]
          : []),
        ...disagreesWithTemporal(run, temporal),
        ...checkDecisionLog(
          runId,
          run.decisions,
          keys.runbook?.people ?? {},
          { sha256, verify: verifyText },
          {
            keysFrom: keys.from,
            mode: run.mode,
            signaturesRequired: keys.runbook?.signatures === 'required',
          },
        ),
        ...(temporal.decisions ? compareWithRunCopy(run.decisions, temporal.decisions) : []),
        ...(head ? compareWithHead({ id: runId, mode: run.mode, versionHash: run.versionHash }, run.decisions, head) : []),
      ])
    : [];
  const anchored = temporal.decisions !== undefined;
  const senderOf = (d: { seq: number; updateId?: string }) =>
    (d.updateId ? temporal.senders.get(d.updateId) : undefined) ?? run.senders[d.seq];
  if (options.json) {
    out.json({
      run: runId,
      // `sentFrom`: the Temporal client identity that sent the request, from the run's history while Temporal keeps
      // it, else as the record store copied it when the run ended.
      // `refused`: what a refused entry says in words (the kind of request, whether its signature verified, the key it
      // named), beside the entry as the run logged it (whose `role` holds the kind of request).
      decisions: run.decisions.map((d) => {
        const sentFrom = senderOf(d);
        const refused = refusalOf(d);
        return { ...d, ...(refused ? { refused } : {}), ...(sentFrom ? { sentFrom } : {}) };
      }),
      ...(options.verify
        ? {
            verified: problems.length === 0,
            problems: problems.map((p) => p.text),
            comparedWithTemporal: anchored,
            keysFrom: auditorRunbook ? 'runbook file' : 'record store',
            ...(head ? { comparedWithHead: head.exportedAt } : {}),
          }
        : {}),
    });
  } else {
    if (run.decisions.length === 0) out.line(`${runId}: no decisions recorded`);
    for (const d of run.decisions) {
      const sentFrom = senderOf(d);
      const from = sentFrom ? ` from ${sentFrom}` : '';
      const refusal = refusalOf(d);
      if (refusal) {
        out.line(`${String(d.seq).padStart(3)}  ${d.at}  ${refusalLine(d, refusal)}${from}`);
        continue;
      }
      const signed = d.signature
        ? ` [${isPasskeySignature(d.signature) ? 'signed with passkey' : 'signed'} ${fingerprint(d.signature.key)}]`
        : d.automatic
          ? ' [automatic]'
          : ' [unsigned]';
      out.line(
        `${String(d.seq).padStart(3)}  ${d.at}  ${d.by} (${d.role}) ${d.kind.replace('_', ' ')}${d.target ? ` ${d.target}` : ''}${d.reason ? `: "${d.reason}"` : ''}${signed}${from}`,
      );
    }
    if (options.verify)
      printVerdict(run, problems, { anchored, unread: temporal.unread, fromFile: auditorRunbook !== undefined, head }, out);
  }
  return problems.length === 0 ? EXIT.ok : EXIT.logBroken;
}

/** The runbook the store recorded for the run, or undefined when it no longer parses. */
function recordedRunbook(run: RunDetail): Runbook | undefined {
  const parsed = parseRunbook(run.runbookSource, `${run.id} (runbook as recorded)`);
  return parsed.ok ? parsed.runbook : undefined;
}

/** Where the store's record of the run disagrees with what the run itself holds in Temporal. */
function disagreesWithTemporal(run: RunDetail, temporal: RunInTemporal): LogProblem[] {
  const problems: LogProblem[] = [];
  if (temporal.versionHash !== undefined && temporal.versionHash !== run.versionHash)
    problems.push({
      text: `the record store says ${run.id} ran version ${run.versionHash}, but the run in Temporal ran ${temporal.versionHash}: the store's run was changed`,
    });
  if (temporal.mode !== undefined && temporal.mode !== run.mode)
    problems.push({
      text: `the record store says ${run.id} was a ${run.mode} run, but the run in Temporal is a ${temporal.mode} run: the store's run was changed`,
    });
  return problems;
}

/** The verdict under the log: what held and against what, or the first problem and the others. */
function printVerdict(
  run: RunDetail,
  problems: readonly LogProblem[],
  against: { anchored: boolean; unread?: string; fromFile: boolean; head: ReturnType<typeof readHeadFile> | undefined },
  out: Output,
): void {
  if (problems.length > 0) {
    out.line(`NOT verified: ${problems[0]!.text}`);
    if (problems.length > 1) {
      out.line(`and ${problems.length - 1} more problem(s):`);
      for (const problem of problems.slice(1)) out.line(`  ${problem.text}`);
    }
    return;
  }
  const last = run.decisions.at(-1)?.hash;
  out.line(
    `verified: ${run.decisions.length} entries, chain intact${last ? ` (head ${last.slice(0, 16)})` : ''}, every signature matches its key` +
      (against.anchored ? ", and it is the run's own log in Temporal" : ''),
  );
  if (against.head) {
    const after = run.decisions.length - against.head.entries;
    out.line(
      `and its first ${against.head.entries} entries are the ones exported at ${against.head.exportedAt}` +
        (after > 0 ? ` (the ${after} after them came later, and no head covers them)` : ''),
    );
  }
  if (!against.fromFile) {
    out.line(
      'keys from the runbook the record store holds: give --runbook FILE (your own copy of the runbook the run ran) for a check that does not trust the store it checks',
    );
  }
  if (!against.anchored && !against.head) {
    out.line(
      `not compared with the run in Temporal (${against.unread ?? 'it has no copy of the log'}) nor with an exported head (--head): removing the last unsigned entries would not show`,
    );
  }
}

/** `cutover decisions RUN --export-head [--out FILE]` */
export async function exportDecisionHead(runId: string, options: { out?: string }, out: Output): Promise<number> {
  const settings = readSettings();
  const { run, temporal } = await readDecisionLog(settings, runId, { anchor: true });
  const runbook = recordedRunbook(run);
  // A head vouches for the log up to it: a log that does not hold now is not exported.
  const problems = inLogOrder([
    ...disagreesWithTemporal(run, temporal),
    ...checkDecisionLog(
      runId,
      run.decisions,
      runbook?.people ?? {},
      { sha256, verify: verifyText },
      {
        mode: run.mode,
        signaturesRequired: runbook?.signatures === 'required',
      },
    ),
    ...(temporal.decisions ? compareWithRunCopy(run.decisions, temporal.decisions) : []),
  ]);
  if (problems.length > 0) {
    out.warn(`cutover: the head of ${runId}'s decision log was not exported: ${problems[0]!.text}`);
    return EXIT.logBroken;
  }
  const head = logHead({ id: runId, mode: run.mode, versionHash: run.versionHash }, run.decisions, new Date().toISOString());
  const code = deliverReport(`${JSON.stringify(head, null, 2)}\n`, options.out, out);
  out.warn(
    `${runId}: ${head.entries} entries${head.head ? `, head ${head.head.slice(0, 16)}` : ''}` +
      (temporal.decisions
        ? ", the run's own log in Temporal"
        : `, not compared with the run in Temporal (${temporal.unread ?? 'it has no copy of the log'})`) +
      (run.endedAt ? '' : '; the run is still going: export again when it has ended') +
      '; keep it where whoever writes the record store cannot reach, and check with `cutover decisions RUN --verify --head FILE`',
  );
  return code;
}
