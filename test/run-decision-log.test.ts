/**
 * The decision log's hash chain and signatures, checked offline as `cutover decisions --verify`
 * does: with Node's crypto and real Ed25519 keys, a log that holds, then every way of breaking it.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256, verifyText } from '../common/signatures.js';
import { publicKeyText, signRequest } from '../cli/keys.js';
import { chainedText, compareWithRun, verifyDecisionLog } from '../run/decision-log.js';
import type { Decision } from '../run/state.js';

const alice = generateKeyPairSync('ed25519').privateKey;
const keys = { alice: { key: publicKeyText(alice) } };
const crypto = { sha256, verify: verifyText };
const RUN = 'crm-go-live-4';

/** A log as a run writes it: a signed approval, a deadline, a signed back-out request; each entry chained. */
function log(): (Decision & { seq: number })[] {
  const vote = { gateId: 'go', by: 'alice', reason: 'counts match' };
  const back = { by: 'alice', reason: 'orders look off' };
  const entries: Decision[] = [
    {
      kind: 'approve',
      by: 'alice',
      role: 'lead',
      target: 'go',
      reason: 'counts match',
      at: '2026-12-05T23:00:00.000Z',
      automatic: false,
      signature: signRequest(alice, RUN, 'approve', vote),
      request: vote,
    },
    {
      kind: 'deadline',
      by: 'cutover',
      role: 'deadline',
      target: 'cab',
      reason: 'no decision by 23:30; the runbook says no-go',
      at: '2026-12-05T23:30:00.000Z',
      automatic: true,
    },
    {
      kind: 'request_backout',
      by: 'alice',
      role: 'lead',
      reason: 'orders look off',
      at: '2026-12-05T23:31:00.000Z',
      automatic: false,
      signature: signRequest(alice, RUN, 'request_backout', back),
      request: back,
    },
  ];
  let previous = '';
  return entries.map((entry, seq) => {
    const hash = sha256(chainedText(previous, seq, entry));
    previous = hash;
    return { ...entry, seq, hash };
  });
}

describe('the decision log', () => {
  it('holds as written: the chain follows and every signature matches the key the runbook lists', () => {
    expect(verifyDecisionLog(RUN, log(), keys, crypto)).toEqual([]);
  });

  it('names the entry that was changed, removed or reordered', () => {
    const changed = log();
    changed[1] = { ...changed[1]!, reason: 'the runbook says go' };
    expect(verifyDecisionLog(RUN, changed, keys, crypto)).toEqual([
      'entry 1 (deadline by cutover on cab) does not match its hash: it, or an entry before it, was changed, removed or reordered',
    ]);
    const removed = log().filter((e) => e.seq !== 1);
    expect(verifyDecisionLog(RUN, removed, keys, crypto)).toEqual([
      'entry 1 is missing: the log goes from 0 to 2',
      'entry 2 (request backout by alice) does not match its hash: it, or an entry before it, was changed, removed or reordered',
    ]);
    const [a, b, c] = log();
    expect(verifyDecisionLog(RUN, [a!, { ...c!, seq: 1 }, { ...b!, seq: 2 }], keys, crypto)).toHaveLength(2);
  });

  it('catches a signed request changed along with its hash, a signature of another run, and a key the runbook does not list', () => {
    // Someone rewrites the reason in the request and recomputes the whole chain: the signature still gives it away.
    const rewritten = log().map(({ hash: _hash, seq: _seq, ...entry }) => entry);
    rewritten[0] = { ...rewritten[0]!, reason: 'all fine', request: { ...rewritten[0]!.request, reason: 'all fine' } };
    let previous = '';
    const rechained = rewritten.map((entry, seq) => {
      const hash = sha256(chainedText(previous, seq, entry));
      previous = hash;
      return { ...entry, seq, hash };
    });
    expect(verifyDecisionLog(RUN, rechained, keys, crypto)).toEqual([
      'entry 0 (approve by alice on go) does not match its signature: its request was changed',
    ]);
    expect(verifyDecisionLog('other-run-1', log(), keys, crypto)).toEqual([
      'entry 0 (approve by alice on go) does not match its signature: its request was changed',
      'entry 2 (request backout by alice) does not match its signature: its request was changed',
    ]);
    // Someone changes what a signed entry shows (not its request) and recomputes the whole chain: the entry no longer says what was signed.
    for (const [change, problem] of [
      [{ target: 'cab' }, 'entry 0 (approve by alice on cab) shows the target "cab": its signature does not cover that'],
      [{ reason: 'all fine' }, 'entry 0 (approve by alice on go) shows the reason "all fine": its signature does not cover that'],
      [
        { evidence: 'f'.repeat(64) },
        `entry 0 (approve by alice on go) shows the evidence "${'f'.repeat(64)}": its signature does not cover that`,
      ],
      [{ automatic: true }, 'entry 0 (approve by alice on go) shows automatic: true: its signature does not cover that'],
    ] as const) {
      const shown = log().map(({ hash: _hash, seq: _seq, ...entry }) => entry);
      shown[0] = { ...shown[0]!, ...change };
      let before = '';
      const chained = shown.map((entry, seq) => {
        const hash = sha256(chainedText(before, seq, entry));
        before = hash;
        return { ...entry, seq, hash };
      });
      expect(verifyDecisionLog(RUN, chained, keys, crypto)).toEqual([problem]);
    }
    const mallory = { alice: { key: publicKeyText(generateKeyPairSync('ed25519').privateKey) } };
    expect(verifyDecisionLog(RUN, log(), mallory, crypto)[0]).toBe(
      'entry 0 (approve by alice on go) is signed with a key the runbook does not list for alice',
    );
  });
});

describe('the stored log against the run in Temporal', () => {
  const h = (c: string) => ({ hash: c.repeat(64) });
  it('holds when both have the same entries, also while the run has not hashed its newest yet', () => {
    expect(compareWithRun([h('a'), h('b')], [h('a'), h('b')])).toEqual([]);
    expect(compareWithRun([h('a'), { hash: undefined }], [h('a'), { hash: undefined }])).toEqual([]);
  });
  it('shows the last entries removed from the store, entries added to it, and a changed entry', () => {
    expect(compareWithRun([h('a')], [h('a'), h('b'), h('c')])).toEqual([
      'the run in Temporal has 3 entries and the record store 1: entries 1 to 2 are missing from the store',
    ]);
    expect(compareWithRun([h('a'), h('b')], [h('a')])).toEqual([
      'the record store has 2 entries but the run in Temporal only 1: entries were added to the store',
    ]);
    expect(compareWithRun([h('a'), h('x'), h('y')], [h('a'), h('b'), h('c')])).toEqual([
      "entry 1 differs from the run's own copy in Temporal: the stored log was changed from there on",
    ]);
  });
});
