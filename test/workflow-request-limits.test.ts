/**
 * Nobody with access to the Temporal namespace can wedge a run with oversized requests (issue 17). The attack as it was
 * measured, through the stock `temporal` CLI: Updates carrying a listed person's public key, a fresh nonce and a
 * garbage signature passed the door and were logged as refused with their 600 KB gate ids; the decision log rides in
 * every checkpoint and store write, and after a real approval the run never went on.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyText, signRequest } from '../cli/keys.js';
import { LOGGED_REFUSALS_PER_PERSON } from '../run/request-limits.js';
import { PROJECT } from './support/cli.js';
import { temporalAddress, temporalNamespace } from './support/temporal.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.stop());

const alice = generateKeyPairSync('ed25519').privateKey;
const RUNBOOK = `
name: wedge
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
people:
  alice: { key: "${publicKeyText(alice)}" }
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead] } }
      - { id: after, title: After, owner: dba, depends_on: [go], action: { kind: shell, command: "echo ran > after.log" } }
`;
const scratch = mkdtempSync(path.join(tmpdir(), 'cutover-wedge-'));

/** `temporal workflow update execute --name approveGate` with `input` read from a file (600 KB is past an argument's limit). */
function stockApprove(runId: string, input: object): Promise<{ code: number; output: string }> {
  const file = path.join(scratch, `${randomBytes(6).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify(input));
  return new Promise((resolve) => {
    execFile(
      path.join(PROJECT, '.tools', 'bin', 'temporal'),
      [
        'workflow',
        'update',
        'execute',
        ...['--address', temporalAddress(), '--namespace', temporalNamespace(), '--workflow-id', runId],
        ...['--name', 'approveGate', '--input-file', file],
      ],
      { maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

/** A signature with alice's public key, a fresh nonce and the current time, but a value nobody signed. */
const forged = () => ({
  key: publicKeyText(alice),
  at: new Date().toISOString(),
  nonce: randomBytes(16).toString('base64url'),
  value: 'AAAA',
});

describe('the wedge attack through the stock temporal CLI', () => {
  it('four 600 KB gate ids, an unknown gate and a flood of forged votes are refused; the real approval moves the run on', async () => {
    const handle = await h.start(RUNBOOK);
    const runId = handle.workflowId;
    const open = await waitForState(handle, (s) => s.steps.go!.gate?.evidence !== undefined);
    const evidence = open.steps.go!.gate!.evidence!.digest;

    for (let i = 0; i < 4; i += 1) {
      const answer = await stockApprove(runId, { gateId: `${i}${'x'.repeat(600 * 1024)}`, by: 'alice', evidence, signature: forged() });
      expect(answer.code).not.toBe(0);
      expect(answer.output).toContain("the request's `gateId` is 614401 characters long; it may have at most 200");
    }
    const unknown = await stockApprove(runId, { gateId: 'no-such-gate', by: 'alice', evidence, signature: forged() });
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toContain('there is no gate `no-such-gate` in this run');
    const reason = await stockApprove(runId, { gateId: 'go', by: 'alice', evidence, reason: 'r'.repeat(5000), signature: forged() });
    expect(reason.output).toContain("the request's `reason` is 5000 characters long; it may have at most 4000");

    // Forged votes on the real gate are logged (someone tried, in alice's name), up to the rate limit; past it they
    // are still refused, and no longer logged.
    for (let i = 0; i < LOGGED_REFUSALS_PER_PERSON + 3; i += 1) {
      const answer = await stockApprove(runId, { gateId: 'go', by: 'alice', evidence, signature: forged() });
      expect(answer.code).not.toBe(0);
      expect(answer.output).toMatch(/the signature does not match the request/);
    }

    const request = { gateId: 'go', by: 'alice', evidence, reason: 'checked' };
    const real = await stockApprove(runId, { ...request, signature: signRequest(alice, runId, 'approve', request) });
    expect(real.code).toBe(0);
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(result.state.steps.after!.status).toBe('succeeded');
    const refused = result.state.decisions.filter((d) => d.kind === 'refused');
    expect(refused).toHaveLength(LOGGED_REFUSALS_PER_PERSON);
    expect(new Set(result.state.decisions.map((d) => d.target))).toEqual(new Set(['go']));
    expect(JSON.stringify(result.state.decisions).length).toBeLessThan(20_000);
  });
});
