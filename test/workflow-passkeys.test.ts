/**
 * Passkey-signed requests against a real Temporal server: a live run takes a vote whose signature is a WebAuthn
 * assertion (ES256) of the canonical request text's hash by the passkey its runbook lists for the person, exactly as it
 * takes an Ed25519 one; a request a page server altered after the person signed it (the reason, the gate, the
 * decision) is refused and logged as refused, as are an assertion for another run; a replay, another passkey, a stale
 * one are refused at the door; the kept assertion verifies offline. A vote signed with a passkey and one signed with
 * the same person's key are the same vote: one per gate.
 */
import { generateKeyPairSync } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, verifyText } from '../common/signatures.js';
import { publicKeyText, signRequest } from '../cli/keys.js';
import { verifyDecisionLog } from '../run/decision-log.js';
import { FORGED_REQUEST_REASON } from '../run/signed-request.js';
import { approveGateUpdate, rejectGateUpdate } from '../workflows/messages.js';
import { newPasskey, passkeySign } from './support/passkey.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.stop());

const alice = generateKeyPairSync('ed25519').privateKey;
const dana = newPasskey();
const mallory = newPasskey();

const runbook = (name: string) => `
name: ${name}
version: 1
lead: lead
roles: { lead: [alice], business: [dana] }
people:
  alice: { key: "${publicKeyText(alice)}" }
  dana: { key: "${publicKeyText(alice)}", passkey: "${dana.line}" }
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead, business] } }
      - { id: cab, title: CAB, owner: lead, gate: { approvers: [business] } }
`;

type Handle = Awaited<ReturnType<Harness['start']>>;
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (err: unknown) => (err instanceof WorkflowUpdateFailedError ? `refused: ${err.cause?.message}` : `error: ${(err as Error).message}`),
  );
const approve = (handle: Handle, request: object) => outcome(handle.executeUpdate(approveGateUpdate, { args: [request as never] }));
const reject = (handle: Handle, request: object) => outcome(handle.executeUpdate(rejectGateUpdate, { args: [request as never] }));

describe('passkey-signed requests', () => {
  it('a live run takes a vote signed with the listed passkey and refuses what a page server altered', async () => {
    const handle = await h.start(runbook('passkey-live'), { mode: 'live' });
    const open = await waitForState(handle, (s) => s.steps.go!.gate!.evidence !== undefined && s.steps.cab!.gate!.evidence !== undefined);
    const runId = handle.workflowId;
    const evidence = open.steps.go!.gate!.evidence!.digest;
    const vote = { gateId: 'go', by: 'dana', reason: 'counts match', evidence };
    const signature = passkeySign(dana, runId, 'approve', vote);
    const forged = `refused: ${FORGED_REQUEST_REASON}`;

    // What a page server could do with dana's signed vote before forwarding it: change the reason, move it to another
    // gate, turn it into a no-go. Each is refused and logged: the passkey is dana's, the request not what she signed.
    expect(await approve(handle, { ...vote, reason: 'looks fine', signature })).toBe(forged);
    const cabEvidence = open.steps.cab!.gate!.evidence!.digest;
    expect(await approve(handle, { ...vote, gateId: 'cab', evidence: cabEvidence, signature })).toBe(forged);
    expect(await reject(handle, { ...vote, signature })).toBe(forged);
    // Signed for another run.
    expect(await approve(handle, { ...vote, signature: passkeySign(dana, `${runId}-other`, 'approve', vote) })).toBe(forged);
    // Someone else's passkey, a stale assertion: refused at the door, not logged.
    expect(await approve(handle, { ...vote, signature: { ...passkeySign(mallory, runId, 'approve', vote), key: mallory.line } })).toMatch(
      /^refused: signed with the passkey webauthn:cutover\.exa…, not the one the runbook lists for dana/,
    );
    const stale = passkeySign(dana, runId, 'approve', vote, { at: new Date(Date.now() - 20 * 60_000).toISOString() });
    expect(await approve(handle, { ...vote, signature: stale })).toMatch(/more than 10 minutes from the run's clock/);

    expect(await approve(handle, { ...vote, signature })).toBe('accepted');
    expect(await approve(handle, { ...vote, signature })).toBe(
      'refused: this signed request was already used (same nonce); a replay is refused: send a new one',
    );
    // The same person with their other key: the same vote, and one per gate.
    const again = { gateId: 'go', by: 'dana', evidence };
    expect(await approve(handle, { ...again, signature: signRequest(alice, runId, 'approve', again) })).toMatch(
      'refused: dana has already voted on gate `go`',
    );

    const fromAlice = { gateId: 'go', by: 'alice', evidence };
    expect(await approve(handle, { ...fromAlice, signature: signRequest(alice, runId, 'approve', fromAlice) })).toBe('accepted');
    const onCab = { gateId: 'cab', by: 'dana', evidence: cabEvidence };
    expect(await approve(handle, { ...onCab, signature: passkeySign(dana, runId, 'approve', onCab) })).toBe('accepted');
    const { state } = await resultOf(handle);
    expect(state.steps.go!.gate!.status).toBe('approved');
    expect(state.steps.cab!.gate!.status).toBe('approved');
    expect(state.decisions.map((d) => [d.kind, d.by, d.target, d.claimed?.verified])).toEqual([
      ['refused', 'dana', 'go', false],
      ['refused', 'dana', 'cab', false],
      ['refused', 'dana', 'go', false],
      ['refused', 'dana', 'go', false],
      ['approve', 'dana', 'go', undefined],
      ['refused', 'dana', 'go', true],
      ['approve', 'alice', 'go', undefined],
      ['approve', 'dana', 'cab', undefined],
    ]);
    expect(state.decisions[0]).toMatchObject({ reason: FORGED_REQUEST_REASON, claimed: { key: dana.line, verified: false } });
    // The decision keeps the whole assertion; the log verifies offline against the runbook's keys.
    expect(state.decisions[4]!.signature).toEqual(signature);
    const keys = { alice: { key: publicKeyText(alice) }, dana: { key: publicKeyText(alice), passkey: dana.line } };
    const entries = state.decisions.map((d, seq) => ({ ...d, seq }));
    expect(verifyDecisionLog(runId, entries, keys, { sha256, verify: verifyText }, { mode: 'live' })).toEqual([]);
  });
});
