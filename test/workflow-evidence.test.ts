/**
 * The evidence a gate is decided on, against a real Temporal server: assembled when the gate
 * opens, assembled again when it changes while the gate is open, and a vote on evidence that has
 * changed since the person looked is refused; the vote records the evidence it was cast on.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveGateUpdate, rejectGateUpdate, resolveStepUpdate } from '../workflows/messages.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.stop());

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (err: unknown) => (err instanceof WorkflowUpdateFailedError ? `refused: ${err.cause?.message}` : `error: ${(err as Error).message}`),
  );

describe('gate evidence', () => {
  it('is assembled when the gate opens and again when it changes; a vote on the old evidence is refused', async () => {
    const handle = await h.start(`
name: evidence
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: load
    kind: migration
    steps:
      - id: load
        title: Load
        owner: dba
        expected: 1s
        action: { kind: shell, command: "true" }
        checks: [{ name: rows arrived, kind: shell, command: "echo 600 rows" }]
      - { id: skipped, title: Skipped in rehearsals, owner: dba, expected: 1s, rehearsal: skip, action: { kind: shell, command: "true" } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead], question: Go? } }
      # Runs beside the open gate: its check lands in the evidence while people look.
      - id: slow
        title: Slow index
        owner: dba
        expected: 2s
        action: { kind: shell, command: "sleep 2" }
        checks: [{ name: index usable, kind: shell, command: "true" }]
`);
    const first = await waitForState(handle, (s) => s.steps.go!.gate!.evidence !== undefined);
    const before = first.steps.go!.gate!.evidence!;
    expect(before.checks).toEqual([{ step: 'load', name: 'rows arrived', passed: true, detail: 'exit code 0' }]);
    expect(before.skipped).toEqual(['skipped']);
    expect(before.digest).toMatch(/^[0-9a-f]{64}$/);

    // The slow step finishes while the gate is open: its check joins the evidence, which gets a new digest.
    const later = await waitForState(handle, (s) => s.steps.go!.gate!.evidence!.digest !== before.digest, 20_000);
    const after = later.steps.go!.gate!.evidence!;
    expect(after.checks.map((c) => `${c.step}/${c.name}`)).toEqual(['load/rows arrived', 'slow/index usable']);

    const vote = (evidence: string) =>
      outcome(handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice', evidence }] }));
    expect(await vote(before.digest)).toBe(
      `refused: the evidence of gate \`go\` changed since you looked (you decided on ${before.digest.slice(0, 12)}, it is now ${after.digest.slice(0, 12)}): look again with \`cutover gate ${handle.workflowId} go\` and vote on what it shows`,
    );
    expect(await vote(after.digest)).toBe('accepted');
    const { status, state } = await resultOf(handle);
    expect(status).toBe('completed');
    expect(state.decisions).toMatchObject([{ kind: 'approve', by: 'alice', evidence: after.digest }]);
  });

  it('keeps a gate from approvals while its criteria are unmet, and still takes a no-go', async () => {
    // A step whose check failed was resolved as done by hand: the phase is done, its checks are not all passed.
    const handle = await h.start(`
name: criteria
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
window: { length: 1h }
backout: { policy: manual }
phases:
  - id: load
    kind: migration
    steps:
      - id: load
        title: Load
        owner: dba
        expected: 1ms
        action: { kind: shell, command: "sleep 1" }
        checks: [{ name: rows arrived, kind: shell, command: "exit 1" }]
        backout: { kind: shell, command: "true" }
  - id: decide
    kind: go_no_go
    steps:
      - id: go
        title: Go
        owner: lead
        gate: { approvers: [lead], criteria: { checks_passed: [load], max_late: 100ms } }
`);
    await waitForState(handle, (s) => s.steps.load!.resolution !== undefined);
    await handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'load', by: 'alice', action: 'done', reason: 'counted by hand' }] });
    const open = await waitForState(handle, (s) => s.steps.go!.gate!.unmetCriteria !== undefined);
    const unmet = open.steps.go!.gate!.unmetCriteria!;
    // A rehearsal's window starts with it; the back-out of `load` is planned at its expected 1ms.
    expect(open.steps.go!.gate!.pointOfNoReturn).toEqual({
      at: new Date(Date.parse(open.startedAt) + 3_600_000 - 1).toISOString(),
      windowEnd: new Date(Date.parse(open.startedAt) + 3_600_000).toISOString(),
      backoutMs: 1,
    });
    expect(unmet[0]).toBe('phase load has failing checks (load/rows arrived)');
    expect(unmet[1]).toMatch(/^the gate opened \S+ behind plan \(at most 100ms\)$/);
    const approve = outcome(handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] }));
    expect(await approve).toBe(
      `refused: gate \`go\` takes no approvals until its criteria are met: ${unmet.join('; ')} (a no-go is still taken)`,
    );
    const reject = outcome(handle.executeUpdate(rejectGateUpdate, { args: [{ gateId: 'go', by: 'alice', reason: 'checks failed' }] }));
    expect(await reject).toBe('accepted');
    expect((await resultOf(handle)).status).toBe('backed_out');
  });
});
