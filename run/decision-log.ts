/**
 * The decision log as a hash chain: each entry's `hash` is the SHA-256 of the previous entry's
 * hash and this entry (its position and every field but the hash, as canonical JSON), so an
 * entry changed, removed or reordered afterwards breaks the chain from there on; a signed entry
 * also carries the person's signature of their request. Pure: the hash and the signature check
 * come from the caller (Node's crypto in the worker's activity and in `cutover decisions --verify`).
 */
import type { Decision, RunMode } from './state.js';
import { HYPERCARE_ACTOR } from './hypercare.js';
import { canonicalJson, listedKeyFor, OVERRIDE_TARGET, signedText, type SignedKind } from './signed-request.js';

/** The text an entry's hash is taken of. */
export function chainedText(previousHash: string, seq: number, decision: Decision): string {
  const entry = Object.fromEntries(Object.entries(decision).filter(([key]) => key !== 'hash' && key !== 'seq'));
  return `${previousHash}\n${canonicalJson({ ...entry, seq })}`;
}

/** What checking a log needs from a crypto library. */
export interface LogCrypto {
  sha256(text: string): string;
  /** True when `value` is `key`'s signature of `text` (a passkey's: with its assertion's authenticator and client data). */
  verify(text: string, key: string, value: string, assertion?: { authenticatorData?: string; clientDataJSON?: string }): boolean;
}

/** A problem with a decision log: the entry it starts at (none: the log as a whole) and the sentence that says it. */
export interface LogProblem {
  entry?: number;
  text: string;
}

/** How strictly {@link checkDecisionLog} reads a log. */
export interface LogRules {
  /** Where the keys come from, as the sentences name it. Default `the runbook`. */
  keysFrom?: string;
  /** The run's mode: a live run takes only signed person requests, and never an automatic one. */
  mode?: RunMode;
  /** The runbook says `signatures: required`: a rehearsal takes only signed person requests too. */
  signaturesRequired?: boolean;
}

/** The decisions a person makes (and signs, where the run takes only signed requests). */
const PERSON_KINDS: readonly Decision['kind'][] = [
  'approve',
  'reject',
  'complete_manual',
  'request_backout',
  'resolve',
  'override',
  'incident',
  'acknowledge',
];

/** How a sentence names a log entry: `entry 3 (approve by dana on go)`. */
export function entryName(entry: Decision & { seq: number }): string {
  return `entry ${entry.seq} (${entry.kind.replace('_', ' ')} by ${entry.by}${entry.target ? ` on ${entry.target}` : ''})`;
}

/**
 * Every problem with a run's decision log, one sentence each, naming the entry: a gap in the
 * sequence (an entry removed), a hash that does not follow from the entries before it (an entry
 * changed or reordered), a signature that does not match its request or is not by the key the
 * runbook lists for the person. Empty when the log holds.
 */
export function verifyDecisionLog(
  runId: string,
  entries: readonly (Decision & { seq: number })[],
  keys: Readonly<Record<string, { key?: string; passkey?: string }>>,
  crypto: LogCrypto,
  rules: LogRules = {},
): string[] {
  return checkDecisionLog(runId, entries, keys, crypto, rules).map((p) => p.text);
}

/**
 * {@link verifyDecisionLog} with the entry each problem is at. With `rules.mode` live (or
 * `rules.signaturesRequired`), a person's decision that is not signed is a problem too: the run
 * refused such requests, so an unsigned one was written into the store, not decided by the run.
 */
export function checkDecisionLog(
  runId: string,
  entries: readonly (Decision & { seq: number })[],
  keys: Readonly<Record<string, { key?: string; passkey?: string }>>,
  crypto: LogCrypto,
  rules: LogRules = {},
): LogProblem[] {
  const problems: LogProblem[] = [];
  const keysFrom = rules.keysFrom ?? 'the runbook';
  const live = rules.mode === 'live';
  let previous = '';
  entries.forEach((entry, i) => {
    const name = entryName(entry);
    const at = (text: string) => problems.push({ entry: entry.seq, text });
    if (entry.seq !== i) problems.push({ entry: i, text: `entry ${i} is missing: the log goes from ${i - 1} to ${entry.seq}` });
    if (entry.hash === undefined) {
      at(`${name} has no hash: it was not recorded by a run that chains its log`);
    } else {
      const expected = crypto.sha256(chainedText(previous, entry.seq, entry));
      if (expected !== entry.hash) at(`${name} does not match its hash: it, or an entry before it, was changed, removed or reordered`);
    }
    previous = entry.hash ?? '';
    if (entry.signature) {
      const listed = listedKeyFor(keys[entry.by], entry.signature);
      const text = signedText(runId, entry.kind as SignedKind, entry.request ?? {}, entry.signature.at, entry.signature.nonce);
      if (listed !== entry.signature.key) at(`${name} is signed with a key ${keysFrom} does not list for ${entry.by}`);
      else if (!crypto.verify(text, entry.signature.key, entry.signature.value, entry.signature))
        at(`${name} does not match its signature: its request was changed`);
      else if (entry.request?.by !== entry.by) at(`${name} was signed by ${String(entry.request?.by)}, not ${entry.by}`);
      else {
        const shown = shownButNotSigned(entry);
        if (shown) at(`${name} shows ${shown}: its signature does not cover that`);
      }
    } else if (PERSON_KINDS.includes(entry.kind) && !byTheRun(entry)) {
      // What `rehearse --auto-approve` sends is unsigned by design, and only a rehearsal takes it.
      if (live && entry.automatic) at(`${name} is marked automatic, and a live run takes no automatic request`);
      else if ((live || rules.signaturesRequired === true) && !entry.automatic)
        at(
          `${name} is not signed, and ${live ? 'a live run' : 'this runbook (`signatures: required`)'} takes only signed requests: it was written into the record store, not decided by the run`,
        );
    }
  });
  return problems;
}

/** An incident the run opened itself for a stale KPI: nobody signs it (run/hypercare.ts). */
function byTheRun(entry: Decision): boolean {
  return entry.kind === 'incident' && entry.by === HYPERCARE_ACTOR && entry.role === 'kpi' && entry.automatic;
}

/** Text, or undefined for absent, null or blank: how the log stores an optional field. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * What a signed entry shows that the request its signature covers does not say, or undefined.
 * The chain has no secret: someone who can write the store can change an entry and hash the chain
 * again. Only the signature ties an entry to its signer, so the fields a reader takes as the
 * person's (the gate or step, the reason, the evidence, `automatic`) must be the ones they signed,
 * as the run derives them from the request. The role is the runbook's, not the signer's claim.
 */
function shownButNotSigned(entry: Decision): string | undefined {
  const request = entry.request as Record<string, unknown>;
  if (entry.kind === 'incident') return incidentShownButNotSigned(entry, request);
  const step = text(request.gateId) ?? text(request.stepId);
  const targets: (string | undefined)[] =
    entry.kind === 'approve' || entry.kind === 'reject'
      ? [text(request.gateId)]
      : entry.kind === 'complete_manual'
        ? [step, `${step} (back-out)`]
        : entry.kind === 'acknowledge'
          ? [step]
          : entry.kind === 'resolve'
            ? [`${step}: ${String(request.action)}`, `${step}: ${String(request.action)} (back-out)`]
            : entry.kind === 'override'
              ? [OVERRIDE_TARGET]
              : [undefined];
  if (!targets.includes(text(entry.target))) return `the target ${JSON.stringify(entry.target ?? null)}`;
  if (text(entry.reason) !== text(request.reason)) return `the reason ${JSON.stringify(entry.reason ?? null)}`;
  if (text(entry.evidence) !== text(request.evidence)) return `the evidence ${JSON.stringify(entry.evidence ?? null)}`;
  // Only votes and manual completions carry `automatic`; the run logs the others as a person's.
  const automatic = ['approve', 'reject', 'complete_manual'].includes(entry.kind) && request.automatic === true;
  if (entry.automatic !== automatic) return `automatic: ${String(entry.automatic)}`;
  return undefined;
}

/**
 * {@link shownButNotSigned} for an incident request: the run names the incident it opened (`INC-4 (open)`), so an
 * opening's target is checked for its action only; the others name the incident the person signed.
 */
function incidentShownButNotSigned(entry: Decision, request: Record<string, unknown>): string | undefined {
  const action = text(request.action);
  const match = /^(INC-\d+) \((open|update|resolve)\)$/.exec(entry.target ?? '');
  if (!match || match[2] !== action || (action !== 'open' && match[1] !== text(request.incidentId)))
    return `the target ${JSON.stringify(entry.target ?? null)}`;
  if (text(entry.reason) !== text(action === 'open' ? request.title : request.note))
    return `the reason ${JSON.stringify(entry.reason ?? null)}`;
  if (entry.automatic) return 'automatic: true';
  return undefined;
}

/**
 * Where the stored log disagrees with the run's own copy (its state in Temporal), one sentence each. The chain alone
 * cannot show that its last entries were removed (what is left still holds), nor an unsigned entry changed and the
 * chain hashed again (it has no secret); the run's copy, out of reach of whoever writes the store, can. Entries the
 * run has not hashed yet (the hash follows the answer) are compared by position only.
 */
export function compareWithRun(stored: readonly Pick<Decision, 'hash'>[], inRun: readonly Pick<Decision, 'hash'>[]): string[] {
  return compareWithRunCopy(stored, inRun).map((p) => p.text);
}

/** {@link compareWithRun} with the entry each problem is at. */
export function compareWithRunCopy(stored: readonly Pick<Decision, 'hash'>[], inRun: readonly Pick<Decision, 'hash'>[]): LogProblem[] {
  const problems: LogProblem[] = [];
  if (stored.length < inRun.length) {
    const missing =
      inRun.length - stored.length === 1 ? `entry ${stored.length} is` : `entries ${stored.length} to ${inRun.length - 1} are`;
    problems.push({
      entry: stored.length,
      text: `the run in Temporal has ${inRun.length} entries and the record store ${stored.length}: ${missing} missing from the store`,
    });
  } else if (stored.length > inRun.length) {
    problems.push({
      entry: inRun.length,
      text: `the record store has ${stored.length} entries but the run in Temporal only ${inRun.length}: entries were added to the store`,
    });
  }
  const common = Math.min(stored.length, inRun.length);
  for (let i = 0; i < common; i += 1) {
    const ours = stored[i]!.hash;
    const theirs = inRun[i]!.hash;
    if (ours !== undefined && theirs !== undefined && ours !== theirs) {
      problems.push({ entry: i, text: `entry ${i} differs from the run's own copy in Temporal: the stored log was changed from there on` });
      break;
    }
  }
  return problems;
}

/**
 * A run's decision log as far as it went when it was exported (`cutover decisions RUN --export-head`), to be kept
 * where whoever writes the record store cannot reach: with it, `--verify --head FILE` shows entries removed or
 * rewritten after the export, once Temporal no longer has the run to compare with.
 */
export interface DecisionLogHead {
  /** The format's version. */
  v: 1;
  run: string;
  mode: RunMode;
  versionHash: string;
  /** How many entries the log had. */
  entries: number;
  /** The last entry's hash (null for an empty log): the whole log up to it follows from it. */
  head: string | null;
  /** Every entry's hash, in order: so a check can name the first entry that changed, not just say that one did. */
  hashes: string[];
  /** When it was exported (ISO 8601). */
  exportedAt: string;
}

/** The head of a log as it is now. */
export function logHead(
  run: { id: string; mode: RunMode; versionHash: string },
  entries: readonly Pick<Decision, 'hash'>[],
  exportedAt: string,
): DecisionLogHead {
  const hashes = entries.map((e) => e.hash ?? '');
  return {
    v: 1,
    run: run.id,
    mode: run.mode,
    versionHash: run.versionHash,
    entries: entries.length,
    head: hashes.at(-1) ?? null,
    hashes,
    exportedAt,
  };
}

/**
 * Where the stored log (and the run it belongs to) disagrees with a head exported earlier, one sentence each: another
 * run, another version or mode, an entry removed or rewritten since the export. Entries added after the export (the
 * run went on) are no problem.
 */
export function compareWithHead(
  run: { id: string; mode: RunMode; versionHash: string },
  stored: readonly (Decision & { seq: number })[],
  head: DecisionLogHead,
): LogProblem[] {
  const problems: LogProblem[] = [];
  const exported = `the head exported at ${head.exportedAt}`;
  if (head.run !== run.id) return [{ text: `${exported} is of run ${head.run}, not ${run.id}` }];
  if (head.versionHash !== run.versionHash)
    problems.push({
      text: `the record store says ${run.id} ran version ${run.versionHash}, but ${exported} says ${head.versionHash}: the store's run was changed`,
    });
  if (head.mode !== run.mode)
    problems.push({
      text: `the record store says ${run.id} was a ${run.mode} run, but ${exported} says ${head.mode}: the store's run was changed`,
    });
  for (let i = 0; i < head.entries; i += 1) {
    const entry = stored[i];
    if (!entry) {
      const missing = head.entries - i === 1 ? `entry ${i} is` : `entries ${i} to ${head.entries - 1} are`;
      problems.push({
        entry: i,
        text: `${exported} has ${head.entries} entries and the record store ${stored.length}: ${missing} missing`,
      });
      break;
    }
    if (entry.hash !== head.hashes[i]) {
      problems.push({ entry: i, text: `${entryName(entry)} is not the entry ${exported} has there: the log was rewritten from there on` });
      break;
    }
  }
  return problems;
}

/**
 * Problems in the order an auditor reads them: the log as a whole first, then by the entry they start at. The first
 * is the one sentence `decisions --verify` leads with.
 */
export function inLogOrder(problems: readonly LogProblem[]): LogProblem[] {
  return [...problems].sort((a, b) => (a.entry ?? -1) - (b.entry ?? -1));
}
