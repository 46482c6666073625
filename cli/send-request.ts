/**
 * Sends a person's request (`approve`, `reject`, `done`, `backout`, `resolve`) to a live run from the terminal: the
 * run is found, the request signed with the person's key and sent as its Update (common/person-requests.ts), and the
 * run's answer printed. A refusal is printed as the run's own sentence and exits 7. A run that does not answer within
 * the deadline (CUTOVER_UPDATE_TIMEOUT) is said so, exit 8: nobody waits forever at a terminal.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { runSummaryQuery } from '../workflows/messages.js';
import {
  answerSentence,
  requestPurpose,
  sendPersonRequest,
  type PersonAnswer,
  type PersonRequest,
  type RequestSigner,
} from '../common/person-requests.js';
import { findSigningKey, signRequest } from './keys.js';
import { readRunState } from '../common/read-run-state.js';
import { EnvironmentError, EXIT, NoAnswerError, RequestRefusedError, RunBusyError, UnknownRunError, UsageError } from './errors.js';
import type { Output } from './output.js';
import { readSettings, type Settings } from './settings.js';
import { connectTemporal, grpcDetail, isNoAnswer, isTooBusy, type TemporalSession } from './temporal.js';

/** How long a person waits for the run to answer, unless CUTOVER_UPDATE_TIMEOUT says otherwise. */
export const DEFAULT_UPDATE_TIMEOUT_MS = 30_000;

/**
 * The deadline of a decision, from CUTOVER_UPDATE_TIMEOUT (seconds). An Update is answered by the run's worker, so
 * with no worker polling (or a stalled record store behind it) it would otherwise wait forever.
 */
export function updateTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.CUTOVER_UPDATE_TIMEOUT?.trim();
  if (!given) return DEFAULT_UPDATE_TIMEOUT_MS;
  const seconds = Number(given);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(
      `CUTOVER_UPDATE_TIMEOUT wants a number of seconds greater than 0 (default ${DEFAULT_UPDATE_TIMEOUT_MS / 1000}), not \`${given}\``,
    );
  }
  return Math.round(seconds * 1000);
}

/**
 * Finds the live run `runId` and hands its workflow handle to `fn`. Temporal is asked first and the record store only
 * when Temporal does not know the run as running (to say how it ended) or cannot be reached: a decision on the night
 * does not wait for the store to open. `look` (a gate's evidence) is read while the run is looked up, and handed to
 * `fn`.
 */
async function withLiveRun<T>(
  runId: string,
  purpose: string,
  fn: (handle: WorkflowHandle, looked: string | undefined) => Promise<T>,
  look?: (handle: WorkflowHandle) => Promise<string | undefined>,
): Promise<T> {
  const settings = readSettings();
  const timeoutMs = updateTimeoutMs();
  let session: TemporalSession;
  try {
    session = await connectTemporal(settings, { startEmbedded: false, purpose, failFastWhenBusy: true });
  } catch (err) {
    // No Temporal here: the store may still know the run ended (or never existed), which says more.
    if (err instanceof EnvironmentError) await refuseIfRecordedEnded(settings, runId, purpose, !settings.temporalAddress);
    throw err;
  }
  try {
    const { client } = session;
    const handle = client.workflow.getHandle(runId);
    // What the request needs from the run (a gate's evidence) is read while the run is looked up: one round trip.
    const looking = look ? client.withDeadline(Date.now() + timeoutMs, () => look(handle)) : undefined;
    try {
      const description = await client.withDeadline(Date.now() + timeoutMs, () => handle.describe());
      if (description.status.name !== 'RUNNING') {
        await refuseIfRecordedEnded(settings, runId, purpose, false);
        throw new RequestRefusedError(
          `run ${runId} is not running any more (${description.status.name.toLowerCase()}); nothing to ${purpose}`,
        );
      }
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        await refuseIfRecordedEnded(settings, runId, purpose, false);
        throw new UnknownRunError(runId);
      }
      if (isNoAnswer(err)) {
        throw new EnvironmentError(
          `Temporal at ${session.address} did not answer within ${timeoutMs / 1000} s, so cannot ${purpose}; check that it is up`,
        );
      }
      throw err;
    }
    return await requestWithin(client, runId, timeoutMs, async () => fn(handle, await looking));
  } finally {
    await session.close();
  }
}

/**
 * Runs `send`, a request to run `runId`, under one deadline for the whole of it (every call and retry in it), and turns
 * what came instead of an answer into the error a person reads: the run's refusal ({@link RequestRefusedError}, exit 7),
 * no answer in time ({@link NoAnswerError}, exit 8), too many requests in flight ({@link RunBusyError}).
 */
export async function requestWithin<T>(
  client: Pick<Client, 'withDeadline'>,
  runId: string,
  timeoutMs: number,
  send: () => Promise<T>,
): Promise<T> {
  try {
    return await client.withDeadline(Date.now() + timeoutMs, send);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const reason = err.cause?.message ?? err.message;
      throw new RequestRefusedError(`refused: ${reason}`);
    }
    if (isNoAnswer(err)) throw new NoAnswerError(runId, timeoutMs);
    // Temporal takes a limited number of Updates in flight per run (10 by default).
    if (isTooBusy(err)) throw new RunBusyError(runId, grpcDetail(err));
    throw err;
  }
}

/**
 * Sends a person's request to the run behind `handle` (common/person-requests.ts builds and signs it) and resolves to
 * the run's answer, within `timeoutMs`: what `cutover approve|reject|done|backout|resolve`, the console and
 * `rehearse --auto-approve` send, with the same deadline and the same errors ({@link requestWithin}).
 */
export function deliverRequest<K extends PersonRequest['kind']>(
  handle: WorkflowHandle,
  request: Extract<PersonRequest, { kind: K }>,
  options: { timeoutMs: number; sign?: RequestSigner },
): Promise<PersonAnswer[K]> {
  return requestWithin(handle.client, handle.workflowId, options.timeoutMs, () => sendPersonRequest(handle, request, options.sign));
}

/**
 * Throws the refusal that names how run `runId` ended when the record store has it ended; with `unknownIfMissing`, an
 * {@link UnknownRunError} when the store has never heard of it. Returns when the store says nothing more (or cannot be
 * read: the caller's own error is then the one to show).
 */
async function refuseIfRecordedEnded(settings: Settings, runId: string, purpose: string, unknownIfMissing: boolean): Promise<void> {
  let known;
  try {
    // Loaded only on this path: Prisma costs a decision that goes through a tenth of a second.
    const { openRecordStore } = await import('../prisma/store.js');
    const store = await openRecordStore(settings);
    try {
      known = await store.findRun(runId);
    } finally {
      await store.close();
    }
  } catch {
    return;
  }
  if (known?.endedAt) {
    throw new RequestRefusedError(
      `run ${runId} has already ended (${known.status}${known.outcome ? `: ${known.outcome}` : ''}); nothing to ${purpose}`,
    );
  }
  if (!known && unknownIfMissing) throw new UnknownRunError(runId);
}

/**
 * Signs requests to run `runId` with this person's key when they have one (`cutover keys init`): the run checks it
 * against the key its runbook lists for them. Without a key requests go unsigned, which a rehearsal may accept and a
 * live run refuses, saying what to do. The key is read now, before anything is sent (a missing passphrase is said at
 * once, not after a round trip to the run).
 */
export function signer(runId: string): RequestSigner {
  const key = findSigningKey();
  return (kind, fields) => (key ? signRequest(key, runId, kind, fields) : undefined);
}

/**
 * The digest of the evidence gate `gateId` shows now, to vote on: the person decides on what
 * `cutover gate` shows them, and a vote on evidence that changed since is refused by the run.
 */
export async function currentEvidence(handle: WorkflowHandle, gateId: string): Promise<string | undefined> {
  // A run answers queries through its worker: with none polling, the vote itself says what is wrong
  // (no answer in time, or too many requests in flight), so the look is given up after a moment.
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), EVIDENCE_LOOK_MS);
    // Looked up beside the run's description: when that refuses the request, nothing waits for this look.
    timer.unref();
  });
  // An open gate is among the steps the run's summary lists as needing attention: one small query, not every page.
  // Temporal buffers one query per run while a workflow task is in hand and refuses the next ("consistent query buffer
  // is full"): that clears as soon as the task is done, so the look asks again. A signed vote must name its evidence.
  // Any other refusal, or one that lasts, leaves the vote without the evidence (the run then says what to look at),
  // never the vote unsent.
  const until = Date.now() + EVIDENCE_LOOK_MS;
  const looked = (async () => {
    for (;;) {
      try {
        const summary = await handle.query(runSummaryQuery);
        return (
          summary.attention.find((step) => step.id === gateId)?.gate?.evidence?.digest ??
          (await readRunState(handle)).state.steps[gateId]?.gate?.evidence?.digest
        );
      } catch (err) {
        if (!isTooBusy(err) || Date.now() + LOOK_AGAIN_MS >= until) return undefined;
        await new Promise((resolve) => setTimeout(resolve, LOOK_AGAIN_MS));
      }
    }
  })();
  try {
    return await Promise.race([looked, gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long a vote waits to read the gate's evidence before it is sent without it. */
const EVIDENCE_LOOK_MS = 5_000;

/** How long the look waits before it asks again after Temporal refused a query for a full buffer. */
const LOOK_AGAIN_MS = 200;

/**
 * `cutover approve|reject|done|backout|resolve`: sends `request` to run `runId` and prints what the run recorded. A
 * vote without `--evidence` names the evidence the gate shows now, read while the run is looked up.
 */
export async function sendRequest(runId: string, request: PersonRequest, out: Output): Promise<number> {
  const sign = signer(runId);
  const vote = request.kind === 'approve' || request.kind === 'reject' ? request : undefined;
  const look = vote && !vote.evidence ? (handle: WorkflowHandle) => currentEvidence(handle, vote.gateId) : undefined;
  const answer = await withLiveRun(
    runId,
    requestPurpose(request),
    (handle, looked) => sendPersonRequest(handle, vote && looked ? { ...vote, evidence: looked } : request, sign),
    look,
  );
  out.line(answerSentence(request, answer, runId));
  return EXIT.ok;
}
