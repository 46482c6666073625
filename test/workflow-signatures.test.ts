/**
 * Signed requests against a real Temporal server: a live run takes only requests signed with the
 * key its runbook lists for the person; unsigned, forged, replayed, unknown-key and signed-for-
 * something-else requests are refused with their reason, through the SDK and the stock
 * `temporal` CLI alike; the accepted signature is kept in the decision log.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, verifyText } from '../common/signatures.js';
import { publicKeyText, signRequest } from '../cli/keys.js';
import { verifyDecisionLog } from '../run/decision-log.js';
import type { EvidenceOverride } from '../run/state.js';
import { overrideRequest } from '../run/signed-request.js';
import { acknowledgeStepUpdate, approveGateUpdate, completeManualStepUpdate, requestBackoutUpdate } from '../workflows/messages.js';
import { hashRunbook } from '../cli/load-runbook.js';
import { readSettings } from '../cli/settings.js';
import { parseRunbook } from '../runbook/parse.js';
import { openRecordStore } from '../prisma/store.js';
import { cliEnv, PROJECT, runCli } from './support/cli.js';
import { temporalAddress, temporalNamespace } from './support/temporal.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.stop());

const newKey = (): KeyObject => generateKeyPairSync('ed25519').privateKey;
const alice = newKey();
const dana = newKey();
const mallory = newKey();

const runbook = (name: string, signatures = 'optional') => `
name: ${name}
version: 1
lead: lead
roles: { lead: [alice], business: [dana], dba: [bob] }
people:
  alice: { key: "${publicKeyText(alice)}" }
  dana: { key: "${publicKeyText(dana)}" }
signatures: ${signatures}
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead, business] } }
      - { id: after, title: After, owner: dba, depends_on: [go], action: { kind: manual } }
`;

type Handle = Awaited<ReturnType<Harness['start']>>;
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (err: unknown) => (err instanceof WorkflowUpdateFailedError ? `refused: ${err.cause?.message}` : `error: ${(err as Error).message}`),
  );
const vote = (handle: Handle, request: object) => outcome(handle.executeUpdate(approveGateUpdate, { args: [request as never] }));

describe('signed requests', () => {
  it('a live run refuses unsigned, forged, replayed, unknown-key and misdirected requests, and takes the signed one', async () => {
    const handle = await h.start(runbook('signed-live'), { mode: 'live' });
    const open = await waitForState(handle, (s) => s.steps.go!.gate!.evidence !== undefined);
    const runId = handle.workflowId;
    // A signed vote names the evidence it was decided on.
    const evidence = open.steps.go!.gate!.evidence!.digest;
    expect(evidence).toMatch(/^[0-9a-f]{64}$/);
    const plain = { gateId: 'go', by: 'alice', reason: 'counts match', evidence };
    const { evidence: _evidence, ...withoutEvidence } = plain;
    expect(await vote(handle, { ...withoutEvidence, signature: signRequest(alice, runId, 'approve', withoutEvidence) })).toBe(
      `refused: a signed vote names the evidence it was cast on (\`evidence\`: its digest); \`cutover gate ${runId} go\` shows it`,
    );

    expect(await vote(handle, plain)).toMatch(
      /^refused: a live run takes only signed requests, and this one is not signed: alice runs `cutover keys init` once/,
    );
    // Signed by someone else's key, claiming to be alice.
    expect(await vote(handle, { ...plain, signature: signRequest(mallory, runId, 'approve', plain) })).toMatch(
      /^refused: signed with the key ed25519:.{12}…, not the one the runbook lists for alice/,
    );
    // alice's key, but the request was changed after signing (the reason), or signed for another run or gate.
    const signature = signRequest(alice, runId, 'approve', plain);
    const forged = await vote(handle, { ...plain, reason: 'looks fine', signature });
    expect(forged).toBe(
      'refused: the signature does not match the request: it was changed after it was signed, signed for another run, step or decision, or with another key',
    );
    expect(await vote(handle, { ...plain, signature: signRequest(alice, `${runId}-other`, 'approve', plain) })).toBe(forged);
    expect(await vote(handle, { ...plain, signature: signRequest(alice, runId, 'reject', plain) })).toBe(forged);
    // bob has no key under `people`.
    const bob = { stepId: 'after', by: 'bob' };
    expect(
      await outcome(
        handle.executeUpdate(completeManualStepUpdate, {
          args: [{ ...bob, signature: signRequest(newKey(), runId, 'complete_manual', bob) }],
        }),
      ),
    ).toMatch(/^refused: the runbook lists no public key for bob under `people`/);
    // A signature made too long ago (or on a machine whose clock is off).
    const stale = { ...signature, at: new Date(Date.now() - 20 * 60_000).toISOString() };
    expect(await vote(handle, { ...plain, signature: stale })).toMatch(
      /^refused: the request was signed at .*, more than 10 minutes from the run's clock/,
    );

    // dana says she is on the gate (`cutover ack`), signed like a vote: it is logged, and verifies offline below.
    const ack = { stepId: 'go', by: 'dana' };
    expect(
      await outcome(
        handle.executeUpdate(acknowledgeStepUpdate, { args: [{ ...ack, signature: signRequest(dana, runId, 'acknowledge', ack) }] }),
      ),
    ).toBe('accepted');
    expect(await vote(handle, { ...plain, signature })).toBe('accepted');
    // The same signed request again: a replay.
    expect(await vote(handle, { ...plain, signature })).toBe(
      'refused: this signed request was already used (same nonce); a replay is refused: send a new one',
    );

    const fromDana = { gateId: 'go', by: 'dana', evidence };
    expect(await vote(handle, { ...fromDana, signature: signRequest(dana, runId, 'approve', fromDana) })).toBe('accepted');
    const back = { by: 'alice', reason: 'drill' };
    expect(
      await outcome(
        handle.executeUpdate(requestBackoutUpdate, { args: [{ ...back, signature: signRequest(alice, runId, 'request_backout', back) }] }),
      ),
    ).toBe('accepted');
    const { state } = await resultOf(handle);
    // A signed request from a person the runbook lists is refused with an entry in the log (who, what for, why): the
    // vote without evidence, and the three whose signature did not match. The others (unsigned, someone else's key,
    // a key nobody listed, a stale or replayed signature) were refused at the door, before anything ran.
    expect(state.decisions.map((d) => [d.kind, d.by, d.signature?.key === publicKeyText(d.by === 'alice' ? alice : dana)])).toEqual([
      ['refused', 'alice', false],
      ['refused', 'alice', false],
      ['refused', 'alice', false],
      ['refused', 'alice', false],
      ['acknowledge', 'dana', true],
      ['approve', 'alice', true],
      ['approve', 'dana', true],
      ['request_backout', 'alice', true],
    ]);
    expect(state.decisions[0]).toMatchObject({
      role: 'approve',
      target: 'go',
      reason: `a signed vote names the evidence it was cast on (\`evidence\`: its digest); \`cutover gate ${runId} go\` shows it`,
    });
    expect(state.decisions[1]).toMatchObject({ role: 'approve', target: 'go', reason: forged.replace(/^refused: /, '') });
    // Each names the key its signature claimed, and whether it verified: the vote without evidence was alice's own.
    expect(state.decisions.slice(0, 4).map((d) => d.claimed)).toEqual([
      { key: publicKeyText(alice), verified: true },
      { key: publicKeyText(alice), verified: false },
      { key: publicKeyText(alice), verified: false },
      { key: publicKeyText(alice), verified: false },
    ]);
    expect(state.decisions[5]!.signature).toEqual(signature);
    // The run chained its log as it went: it verifies offline against the runbook's keys, and the store has the same.
    const keys = { alice: { key: publicKeyText(alice) }, dana: { key: publicKeyText(dana) } };
    const entries = state.decisions.map((d, seq) => ({ ...d, seq }));
    expect(entries.every((d) => /^[0-9a-f]{64}$/.test(d.hash ?? ''))).toBe(true);
    expect(verifyDecisionLog(runId, entries, keys, { sha256, verify: verifyText })).toEqual([]);
    expect(h.store.decisions.get(runId)?.map((d) => d.hash)).toEqual(entries.map((d) => d.hash));
    // As it ended, the run copied who sent each request (this test's client) from its history to the store.
    const sent = entries.filter((d) => d.updateId !== undefined);
    expect(sent.length).toBeGreaterThan(0);
    const senders = h.store.senders.get(runId) ?? {};
    for (const d of sent) expect(senders[d.updateId!], `sender of entry ${d.seq}`).toMatch(new RegExp(`^${process.pid}@`));
  });

  it('a forged request reads as one in `cutover decisions`: what it asked, that its signature did not verify, the key it named', async () => {
    // The run is reserved in a real record store, as `cutover run` does, so its log can be read there afterwards.
    const env = cliEnv();
    const store = await openRecordStore(readSettings(env));
    const text = runbook('forged-log');
    const parsed = parseRunbook(text, 'forged-log.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    let runId: string;
    try {
      ({ runId } = await store.reserveRun({
        runbookName: 'forged-log',
        mode: 'live',
        runbookVersion: '1',
        versionHash: hashRunbook(parsed.runbook),
        runbookSource: text,
        startedBy: 'alice',
      }));
    } finally {
      await store.close();
    }
    const handle = await h.start(text, { mode: 'live', runId });
    const open = await waitForState(handle, (s) => s.steps.go!.gate!.evidence !== undefined);
    // What anyone who can reach Temporal can send: alice's public key, a fresh nonce, the time, and 64 random bytes.
    const request = { gateId: 'go', by: 'alice', evidence: open.steps.go!.gate!.evidence!.digest };
    const garbage = {
      key: publicKeyText(alice),
      at: new Date().toISOString(),
      nonce: randomBytes(16).toString('base64url'),
      value: randomBytes(64).toString('base64'),
    };
    expect(await vote(handle, { ...request, signature: garbage })).toMatch(/^refused: the signature does not match the request/);
    const state = await waitForState(handle, (s) => s.decisions.length === 1 && s.decisions[0]!.hash !== undefined);
    await handle.terminate('test done');
    const copy = await openRecordStore(readSettings(env));
    try {
      for (const [seq, decision] of state.decisions.entries()) await copy.recordDecision(runId, seq, decision);
    } finally {
      await copy.close();
    }

    const shown = runCli(['decisions', runId], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(
      new RegExp(
        `^ {2}0 {2}\\S+ {2}alice: approve go refused — signature did not verify \\(key ${publicKeyText(alice).replace(/[+/]/g, '\\$&')}\\)\n$`,
      ),
    );
    const json = JSON.parse(runCli(['decisions', runId, '--json'], env).stdout) as { decisions: Record<string, unknown>[] };
    expect(json.decisions[0]).toMatchObject({
      kind: 'refused',
      by: 'alice',
      target: 'go',
      claimed: { key: publicKeyText(alice), verified: false },
      refused: { request: 'approve', signature: 'did not verify', key: publicKeyText(alice) },
    });
    // The entry is the run's, as logged: the log verifies with the keys of the runbook file.
    writeFileSync(path.join(h.dir, 'forged-log.yaml'), text);
    const verified = runCli(['decisions', runId, '--verify', '--runbook', path.join(h.dir, 'forged-log.yaml')], env);
    expect(verified.code, verified.stdout).toBe(0);
  });

  it('a rehearsal takes unsigned requests unless the runbook says signatures: required, and checks a signed one either way', async () => {
    const optional = await h.start(runbook('signed-optional'));
    await waitForState(optional, (s) => s.steps.go!.gate!.status === 'open');
    expect(await vote(optional, { gateId: 'go', by: 'alice' })).toBe('accepted');
    const dana = { gateId: 'go', by: 'dana' };
    expect(await vote(optional, { ...dana, signature: signRequest(mallory, optional.workflowId, 'approve', dana) })).toMatch(
      /^refused: signed with the key/,
    );
    expect(await vote(optional, dana)).toBe('accepted');
    // bob made a key for another runbook: this one lists none for him, and takes unsigned requests, so it is taken as unsigned.
    await waitForState(optional, (s) => s.steps.after!.status === 'waiting');
    const done = { stepId: 'after', by: 'bob' };
    expect(
      await outcome(
        optional.executeUpdate(completeManualStepUpdate, {
          args: [{ ...done, signature: signRequest(newKey(), optional.workflowId, 'complete_manual', done) }],
        }),
      ),
    ).toBe('accepted');
    const { state } = await resultOf(optional);
    expect(state.decisions.map((d) => [d.by, d.signature === undefined])).toEqual([
      ['alice', true],
      ['dana', true],
      ['bob', true],
    ]);

    const required = await h.start(runbook('signed-required', 'required'));
    await waitForState(required, (s) => s.steps.go!.gate!.status === 'open');
    expect(await vote(required, { gateId: 'go', by: 'alice' })).toBe(
      'refused: this runbook takes only signed requests (`signatures: required`), and this one is not signed; run `cutover keys init` and list the key under `people`',
    );
    await required.terminate('test done');
  });

  it('the stock temporal CLI answers a gate with a signed payload, and an unsigned one is refused', async () => {
    const handle = await h.start(runbook('signed-cli'), { mode: 'live' });
    const open = await waitForState(handle, (s) => s.steps.go!.gate!.evidence !== undefined);
    const temporal = (input: object) =>
      new Promise<{ code: number; output: string }>((resolve) => {
        execFile(
          path.join(PROJECT, '.tools', 'bin', 'temporal'),
          [
            'workflow',
            'update',
            'execute',
            '--address',
            temporalAddress(),
            '--namespace',
            temporalNamespace(),
            '--workflow-id',
            handle.workflowId,
            '--name',
            'approveGate',
            '--input',
            JSON.stringify(input),
          ],
          (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
        );
      });
    const request = { gateId: 'go', by: 'alice', evidence: open.steps.go!.gate!.evidence!.digest };
    const unsigned = await temporal(request);
    expect(unsigned.code).not.toBe(0);
    expect(unsigned.output).toContain('a live run takes only signed requests');
    const accepted = await temporal({ ...request, signature: signRequest(alice, handle.workflowId, 'approve', request) });
    expect(accepted.code, accepted.output).toBe(0);
    const state = await waitForState(handle, (s) => s.decisions.length === 1);
    expect(state.decisions[0]).toMatchObject({ kind: 'approve', by: 'alice', signature: { key: publicKeyText(alice) } });
    await handle.terminate('test done');
  });
});

describe("the lead's evidence override", () => {
  const missing = ['a completed rehearsal of this version within 14d'];
  const override = (key: KeyObject, by: string, signedFor?: string) => (runId: string) => {
    const made = { by, role: 'lead', reason: 'vendor deadline', missing };
    return { ...made, signature: signRequest(key, signedFor ?? runId, 'override', overrideRequest(made)) };
  };

  it('is the signed first decision of the run, and verifies offline', async () => {
    const handle = await h.start(runbook('override-signed'), { mode: 'live', evidenceOverride: override(alice, 'alice') });
    const state = await waitForState(handle, (s) => s.steps.go!.gate?.status === 'open');
    const first = state.decisions[0]!;
    expect(first).toMatchObject({
      kind: 'override',
      by: 'alice',
      role: 'lead',
      target: 'live-evidence',
      reason: `vendor deadline (missing: ${missing[0]})`,
      signature: { key: publicKeyText(alice) },
    });
    const keys = { alice: { key: publicKeyText(alice) }, dana: { key: publicKeyText(dana) } };
    const entries = state.decisions.map((d, seq) => ({ ...d, seq }));
    expect(verifyDecisionLog(handle.workflowId, entries, keys, { sha256, verify: verifyText })).toEqual([]);
    // Someone who can write the store changes the reason and hashes the chain again: the signature still tells.
    const altered = entries.map((d) => (d.seq === 0 ? { ...d, reason: 'rehearsed twice, all fine' } : d));
    expect(verifyDecisionLog(handle.workflowId, altered, keys, { sha256, verify: verifyText }).join('\n')).toContain(
      'shows the reason "rehearsed twice, all fine": its signature does not cover that',
    );
    await handle.terminate('test done');
  });

  it('unsigned, forged, or not by the lead: the run does not start, and the log says why', async () => {
    const cases: [string, (runId: string) => EvidenceOverride, RegExp][] = [
      ['override-unsigned', (runId) => ({ ...override(alice, 'alice')(runId), signature: undefined }), /the override is not signed/],
      ['override-other-run', override(alice, 'alice', 'some-other-run-1'), /the signature does not match the override/],
      ['override-mallory', override(mallory, 'alice'), /signed with the key ed25519:.{12}…, not the one the runbook lists for alice/],
      ['override-not-lead', override(dana, 'dana'), /dana does not hold the lead role lead/],
    ];
    for (const [name, made, why] of cases) {
      const handle = await h.start(runbook(name), { mode: 'live', evidenceOverride: made });
      const result = await resultOf(handle);
      expect(result.status, name).toBe('failed');
      expect(result.outcome).toMatch(/^did not start: the evidence override was refused: /);
      expect(result.outcome).toMatch(why);
      // Nothing ran: the gate never opened, the manual step never waited.
      expect(result.state.steps.go!.status).toBe('pending');
      expect(result.state.steps.after!.status).toBe('pending');
      expect(result.state.decisions).toHaveLength(1);
      expect(result.state.decisions[0]).toMatchObject({ kind: 'refused', role: 'override', target: 'live-evidence' });
      expect(result.state.decisions[0]!.reason).toMatch(why);
      // A forged override names the key it claimed; one refused before its signature was checked names none.
      expect(result.state.decisions[0]!.claimed, name).toEqual(
        name === 'override-other-run' ? { key: publicKeyText(alice), verified: false } : undefined,
      );
    }
  });
});
