/**
 * Signed requests as the run's validator sees them, without Temporal: every refusal reason of
 * `refuseSignature` (a malformed signature among them, which must be a reason and not a type
 * error), and the recipe in docs/signatures.md for signing by hand with openssl for the stock `temporal` CLI,
 * with a plain and a passphrase-protected key, checked by the same code the run uses.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyText } from '../common/signatures.js';
import { publicKeyText, signRequest } from '../cli/keys.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Decision } from '../run/state.js';
import type { Runbook } from '../runbook/schema.js';
import { malformedSignature, refuseSignature, signedText } from '../run/signed-request.js';

const RUN = 'crm-go-live-4';
const alice = generateKeyPairSync('ed25519').privateKey;
const mallory = generateKeyPairSync('ed25519').privateKey;

function runbook(signatures: 'optional' | 'required'): Runbook {
  const parsed = parseRunbook(
    `name: crm-go-live
version: 1
lead: lead
signatures: ${signatures}
roles: { lead: [alice], business: [bob] }
people:
  alice: { key: "${publicKeyText(alice)}" }
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead, business] } }
`,
    'runbook.yaml',
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed));
  return parsed.runbook;
}

const noDecisions = { decisions: [] as Decision[] };

describe('refuseSignature', () => {
  const live = (request: { by: string; signature?: unknown }, decisions = noDecisions, now = Date.now()) =>
    refuseSignature(runbook('optional'), 'live', decisions, request as Parameters<typeof refuseSignature>[3], now);

  it('takes a request signed with the key the runbook lists for the person', () => {
    const vote = { gateId: 'go', by: 'alice' };
    expect(live({ ...vote, signature: signRequest(alice, RUN, 'approve', vote) })).toBeUndefined();
  });

  it('gives every refusal as a reason', () => {
    const vote = { gateId: 'go', by: 'alice' };
    expect(live(vote)).toMatch(/^a live run takes only signed requests, and this one is not signed: alice runs `cutover keys init`/);
    expect(refuseSignature(runbook('required'), 'rehearsal', noDecisions, vote, Date.now())).toMatch(
      /^this runbook takes only signed requests \(`signatures: required`\)/,
    );
    const bob = { gateId: 'go', by: 'bob' };
    expect(live({ ...bob, signature: signRequest(mallory, RUN, 'approve', bob) })).toBe(
      'the runbook lists no public key for bob under `people`, so their signature cannot be checked; add the key `cutover keys show` prints',
    );
    expect(live({ ...vote, signature: signRequest(mallory, RUN, 'approve', vote) })).toMatch(
      /^signed with the key ed25519:\S+…, not the one the runbook lists for alice \(ed25519:\S+…\)$/,
    );
    const signature = signRequest(alice, RUN, 'approve', vote);
    const used: Decision = { kind: 'approve', by: 'alice', role: 'lead', target: 'go', at: signature.at, automatic: false, signature };
    expect(live({ ...vote, signature }, { decisions: [used] })).toBe(
      'this signed request was already used (same nonce); a replay is refused: send a new one',
    );
    expect(live({ ...vote, signature }, noDecisions, Date.now() + 11 * 60_000)).toMatch(
      /^the request was signed at \S+, more than 10 minutes from the run's clock; sign it again now/,
    );
  });

  it('refuses a malformed signature with a reason instead of failing on its fields', () => {
    const vote = { gateId: 'go', by: 'alice' };
    const good = signRequest(alice, RUN, 'approve', vote);
    const cases: [unknown, RegExp][] = [
      ['abc', /^the request's signature is not an object; send \{"key":"ed25519:…"/],
      [[good], /^the request's signature is not an object/],
      [{ key: 5 }, /^the request's signature has no key, at, nonce, value \(each a non-empty string\)/],
      [{ ...good, nonce: '' }, /^the request's signature has no nonce /],
      [{ ...good, key: 'ssh-ed25519 AAAA' }, /^the request's signature key is not `ed25519:` and 32 bytes in base64/],
      [{ ...good, at: 'tonight' }, /^the request's signature time "tonight" is not an ISO 8601 time$/],
      [{ ...good, nonce: 'n'.repeat(101) }, /^the request's signature nonce is longer than 100 characters/],
      [{ ...good, value: 'not base64!' }, /^the request's signature value is not base64$/],
    ];
    for (const [signature, reason] of cases) expect(live({ ...vote, signature }), JSON.stringify(signature)).toMatch(reason);
    expect(malformedSignature(good)).toBeUndefined();
  });

  it('in a rehearsal that takes unsigned requests, ignores the signature of someone the runbook lists no key for', () => {
    const bob = { gateId: 'go', by: 'bob', signature: 'whatever' as unknown };
    expect(refuseSignature(runbook('optional'), 'rehearsal', noDecisions, bob as { by: string }, Date.now())).toBeUndefined();
  });
});

/** OpenSSL 3 signs Ed25519 with `pkeyutl -rawin`; older ones cannot. */
const openssl3 = /^OpenSSL 3\./.test(spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout ?? '');

describe.skipIf(!openssl3)('signing by hand with openssl, as docs/signatures.md shows for the stock temporal CLI', () => {
  const handSign = (pem: string, text: string, passphrase?: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-openssl-'));
    const file = path.join(dir, 'signing-key.pem');
    writeFileSync(file, pem, { mode: 0o600 });
    // From a file: OpenSSL 3.0 cannot sign Ed25519 from a pipe ("unable to determine file size for oneshot operation").
    writeFileSync(path.join(dir, 'request.txt'), text);
    const args = ['pkeyutl', '-sign', '-inkey', file, '-rawin', '-in', path.join(dir, 'request.txt')];
    if (passphrase) args.push('-passin', 'env:KEY_PASSPHRASE');
    const signed = spawnSync('openssl', args, { env: { ...process.env, KEY_PASSPHRASE: passphrase } });
    expect(signed.status, signed.stderr.toString()).toBe(0);
    return signed.stdout.toString('base64');
  };

  it('makes the signature the run accepts, from a plain or a passphrase-protected key, and only for that run', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const key = publicKeyText(privateKey);
    const request = { gateId: 'go', by: 'alice', reason: 'counts match', evidence: 'e'.repeat(64) };
    const at = new Date().toISOString();
    const nonce = randomBytes(16).toString('base64url');
    const text = signedText(RUN, 'approve', request, at, nonce);
    // What docs/signatures.md tells people to build: sorted keys at every level, no spaces.
    expect(text).toBe(
      `{"at":"${at}","fields":{"by":"alice","evidence":"${'e'.repeat(64)}","gateId":"go","reason":"counts match"},"kind":"approve","nonce":"${nonce}","run":"${RUN}","v":1}`,
    );

    const plain = handSign(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, text);
    expect(verifyText(text, key, plain)).toBe(true);
    const encrypted = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'hunter2' }) as string;
    expect(handSign(encrypted, text, 'hunter2')).toBe(plain); // Ed25519 signatures are deterministic.

    expect(verifyText(signedText('other-run-1', 'approve', request, at, nonce), key, plain)).toBe(false);
    expect(verifyText(signedText(RUN, 'reject', request, at, nonce), key, plain)).toBe(false);
    expect(verifyText(signedText(RUN, 'approve', { ...request, gateId: 'cab' }, at, nonce), key, plain)).toBe(false);
  });
});
