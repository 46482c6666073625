/**
 * `cutover decisions RUN [--json] [--verify]`: a run's decision log from the record store (every
 * vote, manual completion, back-out request, resolution, deadline and cancel, with who, in which
 * role, why, and their signature), and with `--verify` the check an auditor runs offline: the hash
 * chain holds (nothing changed, removed or reordered) and every signature matches its request and
 * the key the runbook listed for the person. Exit 0 when it holds, 9 when it does not.
 */
import { compareWithRun, verifyDecisionLog } from '../run/decision-log.js';
import type { Decision, RunResult } from '../run/state.js';
import { parseRunbook } from '../runbook/parse.js';
import { sha256, verifyText } from '../common/signatures.js';
import { updateSenders } from '../common/update-senders.js';
import { EXIT, UnknownRunError } from './errors.js';
import { fingerprint } from './keys.js';
import type { Output } from './output.js';
import { runSummaryQuery } from '../workflows/messages.js';
import { readSettings, type Settings } from './settings.js';
import { openRecordStore } from '../prisma/store.js';
import { connectTemporal, type TemporalSession } from './temporal.js';

/** How long `decisions` waits for the record store to catch up with a run in flight. */
const CATCH_UP_MS = 10_000;

/** What Temporal knows of a run's decisions. */
interface RunInTemporal {
  /** The run's own copy of its log: the live state of a run in flight, the result of one that completed. */
  decisions?: Decision[];
  /** The client identity that sent each Update (by Update id), from the histories of the run's executions. */
  senders: Map<string, string>;
}

/**
 * What Temporal still has of run `runId` (for the namespace's retention), or undefined when it cannot say
 * (unreachable, run gone). `withSenders` also reads the histories of all its executions for who sent each request.
 */
async function readRunInTemporal(settings: Settings, runId: string, withSenders: boolean): Promise<RunInTemporal | undefined> {
  let session: TemporalSession | undefined;
  try {
    session = await connectTemporal(settings, { startEmbedded: false, purpose: 'read the run' });
    const { client } = session;
    const handle = client.workflow.getHandle(runId);
    return await client.withDeadline(Date.now() + READ_MS, async () => {
      const { status, runId: latest } = await handle.describe();
      let decisions: Decision[] | undefined;
      if (status.name === 'RUNNING') decisions = (await handle.query(runSummaryQuery)).decisions;
      else if (status.name === 'COMPLETED') {
        const result = (await handle.result()) as RunResult;
        decisions = result.summary?.decisions ?? result.state?.decisions;
      }
      // A run hands over to new executions as its history grows: a request may be in any of them.
      const senders = withSenders ? await updateSenders(client, runId, latest) : new Map<string, string>();
      return { ...(decisions ? { decisions } : {}), senders };
    });
  } catch {
    return undefined;
  } finally {
    await session?.close();
  }
}

/** How long `decisions` asks Temporal before it answers from the record store alone. */
const READ_MS = 10_000;

/** `cutover decisions RUN [--json] [--verify]` */
export async function showDecisions(runId: string, options: { json: boolean; verify: boolean }, out: Output): Promise<number> {
  const settings = readSettings();
  const store = await openRecordStore(settings);
  let run;
  let inRun: Decision[] | undefined;
  let senders = new Map<string, string>();
  try {
    run = await store.findRun(runId);
    // The run's own copy: what a run in flight has that the store may not have yet, and the anchor a verification
    // compares the stored log with. Asked only when it can matter.
    const stored = run?.senders ?? {};
    const temporal = run
      ? await readRunInTemporal(
          settings,
          runId,
          // The histories are read only for senders the store does not have yet (a run in flight, or from before).
          run.decisions.some((d) => d.updateId && stored[d.seq] === undefined),
        )
      : undefined;
    inRun = temporal?.decisions;
    senders = temporal?.senders ?? senders;
    if (run && !run.endedAt) {
      // A run in flight answers a decision before the store has it (the write follows the answer): wait for the
      // store to hold as many entries as the run does, so what is printed (and verified) is the whole log.
      const expected = inRun?.length;
      const until = Date.now() + CATCH_UP_MS;
      while (expected !== undefined && run && run.decisions.length < expected && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        run = await store.findRun(runId);
      }
      if (expected !== undefined && run && run.decisions.length < expected) {
        process.stderr.write(
          `cutover: the record store has ${run.decisions.length} of the run's ${expected} decisions so far (it is catching up); run this again in a moment\n`,
        );
      }
    }
  } finally {
    await store.close();
  }
  if (!run) throw new UnknownRunError(runId);
  const parsed = parseRunbook(run.runbookSource, `${runId} (runbook as recorded)`);
  const keys = parsed.ok ? parsed.runbook.people : {};
  // A run still in flight may hash its last entry a moment after the store caught up: compare with a fresh copy.
  if (options.verify && inRun && !run.endedAt) inRun = (await readRunInTemporal(settings, runId, false))?.decisions ?? inRun;
  const problems = options.verify
    ? [
        ...verifyDecisionLog(runId, run.decisions, keys, { sha256, verify: verifyText }),
        ...(inRun ? compareWithRun(run.decisions, inRun) : []),
      ]
    : [];
  const anchored = inRun !== undefined;
  const recordedSenders = run.senders;
  const senderOf = (d: { seq: number; updateId?: string }) => (d.updateId ? senders.get(d.updateId) : undefined) ?? recordedSenders[d.seq];
  if (options.json) {
    out.json({
      run: runId,
      // `sentFrom`: the Temporal client identity that sent the request, from the run's history while Temporal keeps
      // it, else as the record store copied it when the run ended.
      decisions: run.decisions.map((d) => {
        const sentFrom = senderOf(d);
        return sentFrom ? { ...d, sentFrom } : d;
      }),
      ...(options.verify ? { verified: problems.length === 0, problems, comparedWithTemporal: anchored } : {}),
    });
  } else {
    if (run.decisions.length === 0) out.line(`${runId}: no decisions recorded`);
    for (const d of run.decisions) {
      const signed = d.signature ? ` [signed ${fingerprint(d.signature.key)}]` : d.automatic ? ' [automatic]' : ' [unsigned]';
      const sentFrom = senderOf(d);
      out.line(
        `${String(d.seq).padStart(3)}  ${d.at}  ${d.by} (${d.role}) ${d.kind.replace('_', ' ')}${d.target ? ` ${d.target}` : ''}${d.reason ? `: "${d.reason}"` : ''}${signed}${sentFrom ? ` from ${sentFrom}` : ''}`,
      );
    }
    if (options.verify) {
      if (problems.length === 0) {
        const head = run.decisions.at(-1)?.hash;
        out.line(
          `verified: ${run.decisions.length} entries, chain intact${head ? ` (head ${head.slice(0, 16)})` : ''}, every signature matches its key` +
            (anchored ? ", and it is the run's own log in Temporal" : ''),
        );
        if (!anchored) {
          out.line(
            'not compared with the run in Temporal (unreachable, or past its retention): removing the last unsigned entries would not show',
          );
        }
      } else {
        out.line(`NOT verified: ${problems.length} problem(s)`);
        for (const problem of problems) out.line(`  ${problem}`);
      }
    }
  }
  return problems.length === 0 ? EXIT.ok : EXIT.logBroken;
}
