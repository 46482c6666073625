/**
 * Passkey-signed requests without Temporal: a WebAuthn assertion (ES256) over the hash of the same canonical text an
 * Ed25519 vote signs, made with real P-256 key pairs from Node's crypto. The checks the worker makes for the run (type,
 * challenge, origin, relying party, user present and verified, the signature), the rules `refuseSignature` applies
 * before (listed passkey, replay, time), the runbook's `passkey` line, and the decision log checked offline.
 */
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { passkeyChallenge, passkeyProblem, sha256, verifyText } from '../common/signatures.js';
import { publicKeyText, signRequest } from '../cli/keys.js';
import { chainedText, verifyDecisionLog } from '../run/decision-log.js';
import { malformedSignature, refuseSignature, signedText } from '../run/signed-request.js';
import { refuseMalformedRequest } from '../run/request-limits.js';
import type { Decision } from '../run/state.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import { newPasskey, passkeySign, type TestPasskey } from './support/passkey.js';

const RUN = 'crm-go-live-4';
const dana = newPasskey();
const mallory = newPasskey();
const alice = generateKeyPairSync('ed25519').privateKey;

function runbook(people: string): Runbook {
  const parsed = parseRunbook(
    `name: crm-go-live
version: 1
lead: lead
roles: { lead: [alice], business: [dana] }
people:
${people}
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead, business] } }
`,
    'runbook.yaml',
  );
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('; '));
  return parsed.runbook;
}
const book = runbook(`  alice: { key: "${publicKeyText(alice)}" }\n  dana: { passkey: "${dana.line}" }`);
const vote = { gateId: 'go', by: 'dana', reason: 'counts match', evidence: 'a'.repeat(64) };
const check = (key: TestPasskey, signature = passkeySign(key, RUN, 'approve', vote), request: object = vote) =>
  passkeyProblem(signedText(RUN, 'approve', request, signature.at, signature.nonce), dana.line, signature.value, signature);

describe('a passkey line in the runbook', () => {
  it('is webauthn:, the relying-party id and the P-256 point, and a wrong one is one sentence naming the field', () => {
    expect(dana.line).toMatch(/^webauthn:cutover\.example\.com:B[A-Za-z0-9_-]{86}$/);
    expect(book.people.dana).toEqual({ passkey: dana.line });
    const parsed = parseRunbook(
      `name: x\nversion: 1\nlead: lead\nroles: { lead: [dana] }\npeople:\n  dana: { passkey: "webauthn:cutover.example.com:AAAA" }\nphases:\n  - id: p\n    kind: go_no_go\n    steps:\n      - { id: go, title: Go, owner: lead, gate: { approvers: [lead] } }\n`,
      'runbook.yaml',
    );
    expect(parsed.ok).toBe(false);
    if (!parsed.ok)
      expect(parsed.problems.map((p) => p.message).join('\n')).toContain('expected a passkey as `cutover web` enrolment prints it');
  });
});

describe('a passkey assertion, as the worker checks it', () => {
  it('verifies when its challenge is the hash of the canonical request text, and fails for any change', () => {
    const signature = passkeySign(dana, RUN, 'approve', vote);
    expect(check(dana, signature)).toBeUndefined();
    const text = signedText(RUN, 'approve', vote, signature.at, signature.nonce);
    expect(verifyText(text, dana.line, signature.value, signature)).toBe(true);
    // What a page server could change on the way: the reason, the gate, the decision; or it sends it to another run.
    expect(check(dana, signature, { ...vote, reason: 'fine' })).toBe("the client data's challenge is not the hash of the request");
    expect(check(dana, signature, { ...vote, gateId: 'cab' })).toBe("the client data's challenge is not the hash of the request");
    expect(
      passkeyProblem(signedText(RUN, 'reject', vote, signature.at, signature.nonce), dana.line, signature.value, signature),
    ).toBeDefined();
    expect(
      passkeyProblem(signedText('other-run-1', 'approve', vote, signature.at, signature.nonce), dana.line, signature.value, signature),
    ).toBeDefined();
    // Another passkey's assertion of the same request, presented under dana's key.
    expect(check(mallory, passkeySign(mallory, RUN, 'approve', vote))).toBe('the signature does not verify against the passkey');
    expect(verifyText(text, dana.line, signature.value)).toBe(false);
  });

  it('refuses an assertion of another kind, origin or relying party, or without the user present and verified', () => {
    expect(check(dana, passkeySign(dana, RUN, 'approve', vote, { type: 'webauthn.create' }))).toBe(
      'the client data\'s type is "webauthn.create", not webauthn.get',
    );
    expect(check(dana, passkeySign(dana, RUN, 'approve', vote, { origin: 'https://evil.example' }))).toBe(
      'the assertion was made on https://evil.example, not for cutover.example.com',
    );
    expect(check(dana, passkeySign(dana, RUN, 'approve', vote, { origin: 'http://cutover.example.com' }))).toBe(
      'the assertion was made on http://cutover.example.com, which is not https',
    );
    expect(check(dana, passkeySign(dana, RUN, 'approve', vote, { rpId: 'evil.example' }))).toBe(
      'the authenticator data is not for cutover.example.com',
    );
    expect(check(dana, passkeySign(dana, RUN, 'approve', vote, { flags: 0x04 }))).toBe(
      'the authenticator data says the user was not present',
    );
    expect(check(dana, passkeySign(dana, RUN, 'approve', vote, { flags: 0x01 }))).toBe(
      'the authenticator data says the user was not verified',
    );
    expect(check(dana, { ...passkeySign(dana, RUN, 'approve', vote), clientDataJSON: 'bm90IGpzb24' })).toBe('the assertion is malformed');
    // A sub-domain of the relying party is its own (WebAuthn allows it); http on localhost is a secure context.
    expect(check(dana, passkeySign(dana, RUN, 'approve', vote, { origin: 'https://page.cutover.example.com:8443' }))).toBeUndefined();
    const local = newPasskey('localhost');
    const signature = passkeySign(local, RUN, 'approve', vote, { origin: 'http://localhost:3000' });
    const text = signedText(RUN, 'approve', vote, signature.at, signature.nonce);
    expect(passkeyProblem(text, local.line, signature.value, signature)).toBeUndefined();
  });

  it('its challenge is base64url(SHA-256(text)), which a browser computes with SubtleCrypto', async () => {
    const text = signedText(RUN, 'approve', vote, '2026-12-05T23:00:00.000Z', 'n1');
    const digest = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))).toString('base64url');
    expect(passkeyChallenge(text)).toBe(digest);
    expect(passkeyChallenge(text)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('the rules before the check', () => {
  const noDecisions = { decisions: [] as Decision[] };
  const live = (request: object, decisions = noDecisions, rb = book) =>
    refuseSignature(rb, 'live', decisions, request as Parameters<typeof refuseSignature>[3], Date.now());

  it('take a passkey-signed request from the person the runbook lists the passkey for, and refuse the rest with a reason', () => {
    const signature = passkeySign(dana, RUN, 'approve', vote);
    expect(live({ ...vote, signature })).toBeUndefined();
    expect(live({ ...vote, signature: passkeySign(mallory, RUN, 'approve', vote) })).toMatch(
      /^signed with the passkey webauthn:cutover\.exa…, not the one the runbook lists for dana/,
    );
    // alice lists only an Ed25519 key, dana only a passkey: each signature is checked against the listed key of its kind.
    const fromAlice = { ...vote, by: 'alice' };
    expect(live({ ...fromAlice, signature: passkeySign(dana, RUN, 'approve', fromAlice) })).toMatch(
      /^signed with a passkey, and the runbook lists no passkey for alice \(only a key\)/,
    );
    expect(live({ ...vote, signature: signRequest(alice, RUN, 'approve', vote) })).toMatch(
      /^signed with a key, and the runbook lists only a passkey for dana/,
    );
    const replayed = { decisions: [{ kind: 'approve', by: 'dana', signature } as Decision] };
    expect(live({ ...vote, signature }, replayed)).toMatch(/^this signed request was already used \(same nonce\)/);
    const stale = passkeySign(dana, RUN, 'approve', vote, { at: new Date(Date.now() - 20 * 60_000).toISOString() });
    expect(live({ ...vote, signature: stale })).toMatch(/more than 10 minutes from the run's clock/);
    // A person may list both: each kind of signature is checked against its own.
    const both = runbook(
      `  alice: { key: "${publicKeyText(alice)}" }\n  dana: { key: "${publicKeyText(alice)}", passkey: "${dana.line}" }`,
    );
    expect(live({ ...vote, signature }, noDecisions, both)).toBeUndefined();
  });

  it('say what is missing from a malformed passkey signature, and cap its fields', () => {
    const { authenticatorData: _a, ...noAuthData } = passkeySign(dana, RUN, 'approve', vote);
    expect(malformedSignature(noAuthData)).toBe(
      "the request's passkey signature has no `authenticatorData` in base64url (the WebAuthn assertion's authenticatorData)",
    );
    expect(malformedSignature({ ...noAuthData, authenticatorData: 'x', key: 'webauthn:cutover.example.com:AAAA' })).toMatch(
      /^the request's signature key is not a passkey as enrolment prints it/,
    );
    const huge = { ...passkeySign(dana, RUN, 'approve', vote), clientDataJSON: 'A'.repeat(2001) };
    expect(refuseMalformedRequest('vote', { ...vote, signature: huge })).toBe(
      "the request's signature `clientDataJSON` is 2001 characters long; it may have at most 2000",
    );
    expect(refuseMalformedRequest('vote', { ...vote, signature: passkeySign(dana, RUN, 'approve', vote) })).toBeUndefined();
  });
});

describe('the decision log with a passkey-signed entry', () => {
  it('verifies offline against the runbook, and shows a changed reason', () => {
    const signature = passkeySign(dana, RUN, 'approve', vote);
    const { signature: _s, ...request } = { ...vote, signature };
    const entry: Decision = {
      kind: 'approve',
      by: 'dana',
      role: 'business',
      target: 'go',
      reason: vote.reason,
      evidence: vote.evidence,
      at: signature.at,
      automatic: false,
      signature,
      request,
    };
    const hashed = { ...entry, seq: 0, hash: sha256(chainedText('', 0, entry)) };
    const crypto = { sha256, verify: verifyText };
    expect(verifyDecisionLog(RUN, [hashed], book.people, crypto, { mode: 'live' })).toEqual([]);
    // Someone who writes the store changes the signed request and hashes the chain again: the assertion tells.
    const altered = { ...entry, request: { ...request, reason: 'fine' }, reason: 'fine' };
    const rehashed = { ...altered, seq: 0, hash: sha256(chainedText('', 0, altered)) };
    expect(verifyDecisionLog(RUN, [rehashed], book.people, crypto)).toEqual([
      'entry 0 (approve by dana on go) does not match its signature: its request was changed',
    ]);
    // With a runbook that lists another passkey for dana (the auditor's own copy), the entry is not hers.
    expect(verifyDecisionLog(RUN, [hashed], { dana: { passkey: mallory.line } }, crypto)).toEqual([
      'entry 0 (approve by dana on go) is signed with a key the runbook does not list for dana',
    ]);
  });
});
