/**
 * People's requests are answered once and only once: two requests racing in one moment are not
 * both accepted, and a stalled record store never leaves an approver without an answer.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../run/state.js';
import { approveGateUpdate, completeManualStepUpdate, rejectGateUpdate, resolveStepUpdate } from '../workflows/messages.js';
import { readRunState } from '../common/read-run-state.js';
import { unmetRequirements } from '../run/transitions.js';
import { MemoryStore } from './support/memory-store.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

/** A record store whose decision writes can be made to hang, as a locked database does. */
class StallingRecorder extends MemoryStore {
  stalled = false;
  override async recordDecision(runId: string, seq: number, decision: Decision): Promise<void> {
    while (this.stalled) await new Promise((r) => setTimeout(r, 100));
    await super.recordDecision(runId, seq, decision);
  }
}

const store = new StallingRecorder();
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ store });
});
afterAll(async () => h?.stop());

const ROLES = 'lead: lead\nroles: { lead: [alice], dba: [bob, carol] }';
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (err: unknown) => (err instanceof WorkflowUpdateFailedError ? `refused: ${err.cause?.message}` : `error: ${(err as Error).message}`),
  );

describe('racing requests', () => {
  it('two `done` for one manual step in the same moment: one is accepted, the other refused', async () => {
    const handle = await h.start(`
name: race-done
version: 1
${ROLES}
phases:
  - id: p
    kind: migration
    steps:
      - { id: hand, title: Hand, owner: dba, action: { kind: manual } }
`);
    await waitForState(handle, (s) => s.steps.hand!.waitingFor === 'manual');
    const answers = await Promise.all([
      outcome(handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'hand', by: 'bob' }] })),
      outcome(handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'hand', by: 'carol' }] })),
    ]);
    expect(answers.filter((a) => a === 'accepted')).toHaveLength(1);
    expect(answers.find((a) => a !== 'accepted')).toMatch(/refused: step `hand` (was already marked done|is not waiting)/);
    const result = await resultOf(handle);
    expect(result.state.decisions.filter((d) => d.kind === 'complete_manual')).toHaveLength(1);
  });

  it('a retry and a `done` racing on a failed undo: the undo is not marked done behind the retry', async () => {
    const handle = await h.start(`
name: race-undo
version: 1
${ROLES}
phases:
  - id: p
    kind: migration
    steps:
      - { id: a, title: A, owner: dba, expected: 1s, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "echo undo-a >> race-undo.log" } }
      - { id: b, title: B, owner: dba, expected: 1s, depends_on: [a], action: { kind: shell, command: "true" }, backout: { kind: shell, command: "test -f fixed-b || exit 9; echo undo-b >> race-undo.log" } }
      - { id: c, title: C, owner: dba, expected: 1s, depends_on: [b], action: { kind: shell, command: "exit 1" } }
`);
    await waitForState(handle, (s) => s.steps.b!.backout?.status === 'waiting');
    const answers = await Promise.all([
      outcome(handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'b', by: 'alice', action: 'retry', reason: 'again' }] })),
      outcome(handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'b', by: 'bob' }] })),
    ]);
    expect(answers[0]).toBe('accepted');
    expect(answers[1]).toMatch(/refused/);
    // The retry failed again (not fixed yet): b's undo waits again, a's undo has not started.
    const again = await waitForState(handle, (s) => s.steps.b!.backout?.status === 'waiting' && s.steps.b!.backout.attempts >= 2);
    expect(again.steps.a!.backout?.status).toBe('pending');
    await handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'b', by: 'alice', action: 'done', reason: 'undone by hand' }] });
    const result = await resultOf(handle);
    expect(result.status).toBe('backed_out');
    expect(result.state.steps.b!.backout?.status).toBe('resolved');
  });
});

describe('requests marked automatic', () => {
  const GATED = `name: auto\nversion: 1\n${ROLES}\nphases:\n  - id: decide\n    kind: go_no_go\n    steps:\n      - { id: go, title: Go, owner: lead, gate: { approvers: [lead] } }\n`;
  const approve = (handle: Awaited<ReturnType<Harness['start']>>, automatic: boolean) =>
    outcome(handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice', ...(automatic ? { automatic: true } : {}) }] }));

  it('are refused unless the rehearsal was started with --auto-approve, and always in a live run', async () => {
    const refusal = (runId: string) =>
      `refused: automatic requests are accepted only in rehearsals started with --auto-approve, and ${runId} was not; send it as a person (without "automatic")`;
    const rehearsal = await h.start(GATED);
    await waitForState(rehearsal, (s) => s.steps.go!.gate!.status === 'open');
    expect(await approve(rehearsal, true)).toBe(refusal(rehearsal.workflowId));
    // The same person without the claim is a person's vote.
    expect(await approve(rehearsal, false)).toBe('accepted');
    const { state } = await resultOf(rehearsal);
    expect(state.decisions.map((d) => [d.by, d.automatic])).toEqual([['alice', false]]);

    // Live, even when the starter set the flag: refused (and an unsigned person's vote too: see workflow-signatures).
    const live = await h.start(GATED, { mode: 'live', autoApprove: true });
    await waitForState(live, (s) => s.steps.go!.gate!.status === 'open');
    expect(await approve(live, true)).toBe(refusal(live.workflowId));
    await live.terminate('test done');
  });

  it('are accepted, and recorded as automatic, in a rehearsal started with --auto-approve', async () => {
    const handle = await h.start(GATED, { autoApprove: true });
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');
    expect(await approve(handle, true)).toBe('accepted');
    const { state } = await resultOf(handle);
    expect(state.decisions.map((d) => [d.by, d.automatic])).toEqual([['alice', true]]);
  });
});

describe('a stalled record store', () => {
  it('an approver is answered at once while the store is stalled; the run waits for the write before it ends', async () => {
    const handle = await h.start(`
name: stalled-store
version: 1
${ROLES}
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead] } }
`);
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');
    store.stalled = true;
    const asked = Date.now();
    const gate = await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] });
    expect(gate.status).toBe('approved');
    // Not kept waiting for the store (runs before the early answer waited up to 10 s for the write); room for a busy box.
    expect(Date.now() - asked).toBeLessThan(8_000);
    expect(store.decisions.get(handle.workflowId)).toBeUndefined();
    // The gate was the last step, yet the run does not end while its decision is not in the store.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await handle.describe()).status.name).toBe('RUNNING');
    store.stalled = false;
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    const recorded = store.decisions.get(handle.workflowId);
    expect(recorded?.map((d) => d.kind)).toEqual(['approve']);
    expect(recorded?.[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('gate deadlines', () => {
  const gated = (name: string, deadline: string) =>
    `name: ${name}\nversion: 1\n${ROLES}\nphases:\n  - id: decide\n    kind: go_no_go\n    steps:\n` +
    `      - { id: go, title: Go, owner: lead, gate: { approvers: [lead], deadline: ${deadline} } }\n` +
    `      - { id: after, title: After, owner: lead, depends_on: [go], action: { kind: manual } }\n`;

  it('an undecided gate decides no-go at its deadline, says so in the log, and the run backs out', async () => {
    const handle = await h.start(gated('late', '{ after_opening: 1500ms }'));
    const open = await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');
    const closesAt = open.steps.go!.gate!.closesAt!;
    expect(Date.parse(closesAt) - Date.parse(open.steps.go!.gate!.openedAt!)).toBe(1500);
    const { status, state } = await resultOf(handle);
    expect(status).toBe('backed_out');
    expect(state.steps.go).toMatchObject({ status: 'failed', error: `no-go: nobody decided by the gate's deadline, ${closesAt}` });
    expect(state.steps.go!.gate).toMatchObject({ status: 'rejected', closedByDeadline: true });
    expect(state.decisions).toEqual([
      expect.objectContaining({
        kind: 'deadline',
        by: 'cutover',
        target: 'go',
        reason: `no decision by ${closesAt}; the runbook says no-go`,
        automatic: true,
      }),
    ]);
    expect(state.backout).toMatchObject({ trigger: 'gate_rejected' });
  });

  it('decides go when the runbook says so, and refuses a vote after it closed with the time it closed', async () => {
    const handle = await h.start(gated('late-go', '{ after_opening: 1s, decides: go }'));
    const waiting = await waitForState(handle, (s) => s.steps.after!.status === 'waiting');
    expect(waiting.steps.go!.gate).toMatchObject({ status: 'approved', closedByDeadline: true });
    const closesAt = waiting.steps.go!.gate!.closesAt!;
    expect(await outcome(handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] }))).toBe(
      `refused: gate \`go\` closed at ${closesAt} (its deadline) as go; it takes no more votes`,
    );
    expect(await outcome(handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'after', by: 'alice' }] }))).toBe('accepted');
    expect((await resultOf(handle)).status).toBe('completed');
  });

  it('a vote before the deadline decides as usual, and no deadline fires afterwards', async () => {
    const handle = await h.start(gated('in-time', '{ after_opening: 2s }'));
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');
    expect(await outcome(handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] }))).toBe('accepted');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await outcome(handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'after', by: 'alice' }] }))).toBe('accepted');
    const { status, state } = await resultOf(handle);
    expect(status).toBe('completed');
    expect(state.decisions.map((d) => d.kind)).toEqual(['approve', 'complete_manual']);
    expect(state.steps.go!.gate!.closedByDeadline).toBeUndefined();
  });
});

describe('quorum and self-approval', () => {
  const PEOPLE = 'lead: lead\nroles: { lead: [alice], cab: [dana, erin, frank], dba: [bob], business: [bob, gina] }';
  const approve = (handle: Awaited<ReturnType<Harness['start']>>, by: string, decision: 'approve' | 'reject' = 'approve') =>
    outcome(
      handle.executeUpdate(decision === 'approve' ? approveGateUpdate : rejectGateUpdate, {
        args: [{ gateId: 'go', by, ...(decision === 'reject' ? { reason: 'not mine to pass' } : {}) }],
      }),
    );
  const gateStatus = async (handle: Awaited<ReturnType<Harness['start']>>) => (await readRunState(handle)).state.steps.go!.gate!;

  it('N of these people and all of those: the gate says go only when every requirement and the rule are met', async () => {
    const handle = await h.start(`name: quorum\nversion: 1\n${PEOPLE}\nphases:\n  - id: decide\n    kind: go_no_go\n    steps:
      - id: go
        title: Go
        owner: lead
        gate: { approvers: [lead, cab], rule: any, require: [{ at_least: 2, of: [dana, erin, frank] }, { all_of: [alice] }] }\n`);
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');
    expect(await approve(handle, 'dana')).toBe('accepted');
    expect(await approve(handle, 'alice')).toBe('accepted');
    // `rule: any` alone would have approved at the first vote; two of the CAB are required.
    expect(await gateStatus(handle)).toMatchObject({ status: 'open' });
    expect(unmetRequirements(await gateStatus(handle))).toEqual(['2 of dana, erin, frank (1 so far)']);
    expect(await approve(handle, 'frank')).toBe('accepted');
    const { status, state } = await resultOf(handle);
    expect(status).toBe('completed');
    expect(state.steps.go!.gate!.votes.map((v) => v.by)).toEqual(['dana', 'alice', 'frank']);
  });

  it('self_approval: false refuses an approval from the owner of the work under decision, but not their no-go', async () => {
    const handle = await h.start(`name: self\nversion: 1\n${PEOPLE}\nphases:\n  - id: load\n    kind: migration\n    steps:
      - { id: load, title: Load, owner: dba, expected: 1s, action: { kind: shell, command: "true" } }
  - id: decide\n    kind: go_no_go\n    steps:
      - { id: go, title: Go, owner: lead, depends_on: [load], gate: { approvers: [business], rule: any, self_approval: false } }\n`);
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');
    expect(await approve(handle, 'bob')).toBe(
      'refused: bob may not approve gate `go`: they own load, which it decides on, and the runbook says `self_approval: false` (they may still reject)',
    );
    expect(await approve(handle, 'bob', 'reject')).toBe('accepted');
    const { status, state } = await resultOf(handle);
    expect(status).toBe('backed_out');
    expect(state.steps.go!.error).toBe('no-go: rejected by bob (business): not mine to pass');
  });
});
