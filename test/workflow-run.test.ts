/**
 * The run workflow against a real Temporal server: order, parallelism, gates, manual steps,
 * automatic and manual back-out, and failures that wait for a person.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approveGateUpdate,
  completeManualStepUpdate,
  rejectGateUpdate,
  requestBackoutUpdate,
  resolveStepUpdate,
} from '../workflows/messages.js';
import { readRunState } from '../common/read-run-state.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const ROLES = `
lead: lead
roles:
  lead: [alice]
  dba: [bob]
  business: [dana, erin]
`;

/** Lines appended to a log file in the scratch dir by the runbook's shell commands. */
function logLines(file: string): string[] {
  const full = path.join(h.dir, file);
  return existsSync(full) ? readFileSync(full, 'utf8').trim().split('\n').filter(Boolean) : [];
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    return String((err as WorkflowUpdateFailedError).cause?.message ?? (err as Error).message);
  }
  throw new Error('the update was accepted but should have been refused');
}

describe('forward run', () => {
  it('runs steps in dependency order, independent ones in parallel', async () => {
    const handle = await h.start(`
name: dag
version: 1
${ROLES}
phases:
  - id: migrate
    kind: migration
    steps:
      - { id: a, title: A, owner: dba, expected: 1s, action: { kind: shell, command: "echo a >> dag.log" } }
      - { id: b, title: B, owner: dba, expected: 1s, depends_on: [a], action: { kind: shell, command: "sleep 1; echo b >> dag.log" } }
      - { id: c, title: C, owner: dba, expected: 1s, depends_on: [a], action: { kind: shell, command: "sleep 1; echo c >> dag.log" } }
      - { id: d, title: D, owner: dba, expected: 1s, depends_on: [b, c], action: { kind: shell, command: "echo d >> dag.log" } }
`);
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    const lines = logLines('dag.log');
    expect(lines[0]).toBe('a');
    expect(lines[3]).toBe('d');
    expect(new Set(lines.slice(1, 3))).toEqual(new Set(['b', 'c']));
    // b and c overlapped in time: each started before the other ended.
    const rows = h.store.rowsOf(handle.workflowId);
    const at = (id: string) => rows.find((r) => r.stepId === id)!;
    expect(Date.parse(at('b').startedAt!)).toBeLessThan(Date.parse(at('c').endedAt!));
    expect(Date.parse(at('c').startedAt!)).toBeLessThan(Date.parse(at('b').endedAt!));
    expect(Date.parse(at('d').startedAt!)).toBeGreaterThanOrEqual(Date.parse(at('b').endedAt!));
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
    expect(h.store.finished.get(handle.workflowId)?.status).toBe('completed');
  });

  it('treats steps as the rehearsal setting says: run, simulate or skip', async () => {
    const handle = await h.start(`
name: treatments
version: 1
${ROLES}
phases:
  - id: p
    kind: migration
    steps:
      - { id: real, title: Real, owner: dba, expected: 1s, action: { kind: shell, command: "echo real >> t.log" } }
      - { id: fake, title: Fake, owner: dba, expected: 1s, rehearsal: simulate, action: { kind: shell, command: "echo fake >> t.log" } }
      - { id: gone, title: Gone, owner: dba, expected: 1s, rehearsal: skip, action: { kind: shell, command: "echo gone >> t.log" } }
`);
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(logLines('t.log')).toEqual(['real']);
    expect(result.state.steps.fake!.status).toBe('simulated');
    expect(result.state.steps.gone!.status).toBe('skipped');
    // The simulated step took its expected duration.
    const fake = result.state.steps.fake!;
    expect(Date.parse(fake.endedAt!) - Date.parse(fake.startedAt!)).toBeGreaterThanOrEqual(900);
  });

  it('waits for the owner of a manual step, refusing anyone else', async () => {
    const handle = await h.start(`
name: manual
version: 1
${ROLES}
phases:
  - id: p
    kind: data_freeze
    steps:
      - { id: tell-users, title: Tell users, owner: business, expected: 1m, action: { kind: manual, instructions: "Send the email" } }
      - { id: after, title: After, owner: dba, depends_on: [tell-users], expected: 1s, action: { kind: shell, command: "echo after >> m.log" } }
`);
    await waitForState(handle, (s) => s.steps['tell-users']!.waitingFor === 'manual');
    expect(await refusal(handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'tell-users', by: 'bob' }] }))).toMatch(
      /bob does not hold the role business/,
    );
    expect(logLines('m.log')).toEqual([]);
    const step = await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'tell-users', by: 'erin' }] });
    expect(step.completedBy).toBe('erin');
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(logLines('m.log')).toEqual(['after']);
    expect(h.store.decisions.get(handle.workflowId)).toEqual([
      expect.objectContaining({ kind: 'complete_manual', by: 'erin', role: 'business', target: 'tell-users' }),
    ]);
  });
});

const GATED = (name: string, file: string) => `
name: ${name}
version: 1
${ROLES}
phases:
  - id: migrate
    kind: migration
    steps:
      - id: load
        title: Load
        owner: dba
        expected: 1s
        action: { kind: shell, command: "echo load >> ${file}" }
        backout: { kind: shell, command: "echo undo-load >> ${file}" }
  - id: decide
    kind: go_no_go
    steps:
      - id: go
        title: Go / no-go
        owner: lead
        gate: { approvers: [lead, business] }
  - id: live
    kind: interface_switch_on
    steps:
      - { id: switch, title: Switch on, owner: dba, expected: 1s, action: { kind: shell, command: "echo switch >> ${file}" } }
`;

describe('gates', () => {
  it('refuses votes from people without an approver role, second votes, and votes on closed gates', async () => {
    const handle = await h.start(GATED('gate-ok', 'g1.log'));
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');

    expect(await refusal(handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'bob' }] }))).toMatch(
      /bob may not vote on gate `go`/,
    );
    expect(await refusal(handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'nope', by: 'alice' }] }))).toMatch(/no gate `nope`/);
    const afterAlice = await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice', reason: 'ready' }] });
    expect(afterAlice.status).toBe('open');
    expect(afterAlice.awaiting).toEqual(['business']);
    expect(await refusal(handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] }))).toMatch(
      /alice has already voted/,
    );
    const afterDana = await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'dana' }] });
    expect(afterDana.status).toBe('approved');
    expect(await refusal(handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'erin' }] }))).toMatch(
      /gate `go` is closed \(approved\)/,
    );

    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(logLines('g1.log')).toEqual(['load', 'switch']);
    // Refused requests never entered the decision log.
    expect(h.store.decisions.get(handle.workflowId)!.map((d) => `${d.kind}:${d.by}:${d.role}`)).toEqual([
      'approve:alice:lead',
      'approve:dana:business',
    ]);
  });

  it('refuses a vote before the gate opens', async () => {
    const handle = await h.start(GATED('gate-early', 'g2.log').replace('echo load', 'sleep 2; echo load'));
    await waitForState(handle, (s) => s.steps.load!.status === 'running');
    expect(await refusal(handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] }))).toMatch(
      /gate `go` is not open yet; it opens when load finish/,
    );
    await handle.executeUpdate(requestBackoutUpdate, { args: [{ by: 'alice', reason: 'test over' }] });
    expect((await resultOf(handle)).status).toBe('backed_out');
  });

  it('a rejection is a no-go: the run backs out what it did and never switches on', async () => {
    const handle = await h.start(GATED('gate-no', 'g3.log'));
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');
    expect(await refusal(handle.executeUpdate(rejectGateUpdate, { args: [{ gateId: 'go', by: 'dana' }] }))).toMatch(/needs a reason/);
    const gate = await handle.executeUpdate(rejectGateUpdate, { args: [{ gateId: 'go', by: 'dana', reason: 'sample mismatch' }] });
    expect(gate.status).toBe('rejected');
    const result = await resultOf(handle);
    expect(result.status).toBe('backed_out');
    expect(result.state.backout.trigger).toBe('gate_rejected');
    expect(result.state.backout.reason).toContain('sample mismatch');
    expect(result.state.steps.switch!.status).toBe('cancelled');
    expect(logLines('g3.log')).toEqual(['load', 'undo-load']);
  });
});

describe('back-out', () => {
  const CHAIN = (name: string, file: string, opts: { failCheck?: boolean; policy?: string; failUndoB?: boolean } = {}) => `
name: ${name}
version: 1
${ROLES}
backout: { policy: ${opts.policy ?? 'automatic'} }
phases:
  - id: p1
    kind: migration
    steps:
      - id: a
        title: A
        owner: dba
        expected: 1s
        action: { kind: shell, command: "echo a >> ${file}" }
        backout: { kind: shell, command: "echo undo-a >> ${file}" }
      - id: b1
        title: B1
        owner: dba
        expected: 1s
        depends_on: [a]
        action: { kind: shell, command: "echo b1 >> ${file}" }
        backout: { kind: shell, command: "${opts.failUndoB ? 'test -f fixed-b1 || exit 9; ' : ''}sleep 0.5; echo undo-b1 >> ${file}" }
      - id: b2
        title: B2
        owner: dba
        expected: 1s
        depends_on: [a]
        action: { kind: shell, command: "echo b2 >> ${file}" }
        backout: { kind: shell, command: "sleep 0.5; echo undo-b2 >> ${file}" }
      - id: c
        title: C
        owner: dba
        expected: 1s
        depends_on: [b1, b2]
        action: { kind: ${opts.failCheck ? 'shell' : 'wait'}, ${opts.failCheck ? `command: "echo c >> ${file}"` : 'duration: 1h'} }
        ${opts.failCheck ? `checks: [{ name: rows match, kind: shell, command: "echo 3 rows differ; exit 1" }]` : ''}
        ${opts.failCheck ? `backout: { kind: shell, command: "echo undo-c >> ${file}" }` : ''}
`;

  it('a failed check backs out automatically, in reverse dependency order', async () => {
    const handle = await h.start(CHAIN('auto-backout', 'b1.log', { failCheck: true }));
    const result = await resultOf(handle);
    expect(result.status).toBe('backed_out');
    expect(result.state.backout.trigger).toBe('step_failed');
    expect(result.state.steps.c!.status).toBe('failed');
    expect(result.state.steps.c!.error).toContain('check "rows match" failed');
    expect(result.state.steps.c!.checks[0]).toMatchObject({ name: 'rows match', passed: false });
    const lines = logLines('b1.log');
    expect(lines.slice(0, 1)).toEqual(['a']);
    const undo = lines.filter((l) => l.startsWith('undo-'));
    expect(undo[0]).toBe('undo-c');
    expect(new Set(undo.slice(1, 3))).toEqual(new Set(['undo-b1', 'undo-b2']));
    expect(undo[3]).toBe('undo-a');
    // The independent b1 and b2 were undone in parallel.
    const rows = h.store.rowsOf(handle.workflowId, 'backout');
    const at = (id: string) => rows.find((r) => r.stepId === id)!;
    expect(Date.parse(at('b1').startedAt!)).toBeLessThan(Date.parse(at('b2').endedAt!));
    expect(Date.parse(at('b2').startedAt!)).toBeLessThan(Date.parse(at('b1').endedAt!));
    expect(h.store.checks.find((c) => c.runId === handle.workflowId)?.checks[0]?.passed).toBe(false);
  });

  it('the lead backs out by request; nobody else may', async () => {
    const handle = await h.start(CHAIN('manual-backout', 'b2.log'));
    await waitForState(handle, (s) => s.steps.c!.status === 'running');
    expect(await refusal(handle.executeUpdate(requestBackoutUpdate, { args: [{ by: 'bob', reason: 'nervous' }] }))).toMatch(
      /bob does not hold the lead role lead/,
    );
    const backout = await handle.executeUpdate(requestBackoutUpdate, { args: [{ by: 'alice', reason: 'window closing' }] });
    expect(backout).toMatchObject({ trigger: 'requested', requestedBy: 'alice', reason: 'window closing' });
    const result = await resultOf(handle);
    expect(result.status).toBe('backed_out');
    // The hour-long wait was cancelled and has nothing to undo; the rest was undone.
    expect(result.state.steps.c!.status).toBe('cancelled');
    expect(logLines('b2.log').filter((l) => l.startsWith('undo-'))).toHaveLength(3);
    expect(logLines('b2.log').at(-1)).toBe('undo-a');
  });

  it('a failing back-out action waits for the lead, and never skips silently', async () => {
    const handle = await h.start(CHAIN('stuck-backout', 'b3.log', { failCheck: true, failUndoB: true }));
    // b2's undo runs beside b1's and may still be running when b1's fails: the run waits once it is done.
    const stuck = await waitForState(handle, (s) => s.steps.b1!.backout?.status === 'waiting' && s.steps.b2!.backout?.status !== 'running');
    expect(stuck.steps.b1!.resolution).toMatchObject({ scope: 'backout', kind: 'failed' });
    expect(stuck.steps.b1!.resolution!.error).toContain('exit code 9');
    expect(stuck.status).toBe('waiting');
    // a's undo waits for b1's: it has not run.
    expect(logLines('b3.log')).not.toContain('undo-a');
    expect(
      await refusal(handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'b1', by: 'bob', action: 'retry', reason: 'x' }] })),
    ).toMatch(/only the lead may resolve/);
    // Retrying while still broken fails again and waits again.
    await handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'b1', by: 'alice', action: 'retry', reason: 'try again' }] });
    const again = await waitForState(handle, (s) => s.steps.b1!.backout?.status === 'waiting' && (s.steps.b1!.backout?.attempts ?? 0) >= 2);
    expect(again.steps.b1!.resolution).toBeDefined();
    // Fix it, retry: it goes through and the back-out continues to a.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(h.dir, 'fixed-b1'), '');
    await handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'b1', by: 'alice', action: 'retry', reason: 'fixed the grants' }] });
    const result = await resultOf(handle);
    expect(result.status).toBe('backed_out');
    expect(logLines('b3.log').at(-1)).toBe('undo-a');
    expect(result.state.steps.b1!.backout).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(result.state.decisions.filter((d) => d.kind === 'resolve').map((d) => d.reason)).toEqual(['try again', 'fixed the grants']);
  });

  it('with the manual policy a failed step waits for the lead, who may record it done by hand', async () => {
    const handle = await h.start(CHAIN('manual-policy', 'b4.log', { failCheck: true, policy: 'manual' }));
    const waiting = await waitForState(handle, (s) => s.steps.c!.waitingFor === 'resolution');
    expect(waiting.backout.status).toBe('not_requested');
    await handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'c', by: 'alice', action: 'done', reason: 'checked by hand' }] });
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(result.state.steps.c!.completedBy).toBe('alice');
    expect(logLines('b4.log').some((l) => l.startsWith('undo-'))).toBe(false);
  });
});

describe('checks after people', () => {
  it('checks a manual step once it is marked done, and backs out when a check fails', async () => {
    const handle = await h.start(`
name: manual-check
version: 1
${ROLES}
phases:
  - id: p
    kind: data_freeze
    steps:
      - id: prep
        title: Prep
        owner: dba
        expected: 1s
        action: { kind: shell, command: "echo prep >> mc.log" }
        backout: { kind: shell, command: "echo undo-prep >> mc.log" }
      - id: freeze-by-hand
        title: Freeze by hand
        owner: dba
        expected: 1m
        depends_on: [prep]
        action: { kind: manual, instructions: "Create the freeze flag" }
        checks: [{ name: freeze flag present, kind: shell, command: "test -f freeze.flag" }]
`);
    await waitForState(handle, (s) => s.steps['freeze-by-hand']!.waitingFor === 'manual');
    // bob says it is done, but the flag is not there: the check catches it.
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'freeze-by-hand', by: 'bob' }] });
    const result = await resultOf(handle);
    expect(result.status).toBe('backed_out');
    expect(result.state.steps['freeze-by-hand']!.error).toContain('check "freeze flag present" failed: exit code 1');
    expect(logLines('mc.log')).toEqual(['prep', 'undo-prep']);
  });
});

describe('back-out while a failure waits', () => {
  it('the lead backs out instead of resolving; the failed step is undone too, by hand when its undo is manual', async () => {
    const handle = await h.start(`
name: backout-instead
version: 1
${ROLES}
backout: { policy: manual }
phases:
  - id: p
    kind: migration
    steps:
      - id: load
        title: Load
        owner: dba
        expected: 1s
        action: { kind: shell, command: "echo half >> bi.log; exit 2" }
        backout: { kind: manual, instructions: "Delete the half-loaded rows" }
`);
    await waitForState(handle, (s) => s.steps.load!.waitingFor === 'resolution');
    await handle.executeUpdate(requestBackoutUpdate, { args: [{ by: 'alice', reason: 'not tonight' }] });
    // `manual`: the undo waits for its owner (a failed undo waiting for the lead is `waiting`).
    const waiting = await waitForState(handle, (s) => s.steps.load!.backout?.status === 'manual');
    expect(waiting.steps.load!.status).toBe('failed');
    expect(waiting.steps.load!.resolution).toBeUndefined();
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'load', by: 'bob', reason: 'rows deleted' }] });
    const result = await resultOf(handle);
    expect(result.status).toBe('backed_out');
    expect(result.state.steps.load!.backout!.status).toBe('succeeded');
    expect(result.state.decisions.map((d) => d.kind)).toEqual(['request_backout', 'complete_manual']);
  });
});

describe('runs stopped from outside or while failing', () => {
  it('a Temporal cancel stops the run without killing what runs or undoing anything, and says what to do', async () => {
    const handle = await h.start(`
name: cancelled
version: 1
${ROLES}
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: done-first, title: Done first, owner: dba, expected: 1s, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "echo undo >> cancel.log" } }
      - { id: slow, title: Slow, owner: dba, expected: 3s, action: { kind: shell, command: "sleep 3; echo finished >> cancel.log" } }
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead] } }
`);
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open' && s.steps.slow!.status === 'running');
    await handle.cancel();
    const result = await resultOf(handle);
    expect(result.status).toBe('failed');
    // The running command was not killed: it finished and was recorded; nothing was undone.
    expect(logLines('cancel.log')).toEqual(['finished']);
    expect(result.state.steps.slow!.status).toBe('succeeded');
    expect(result.state.steps.go!.status).toBe('cancelled');
    expect(result.state.backout.status).toBe('not_requested');
    expect(result.outcome).toContain('cancelled through Temporal; nothing was backed out');
    expect(result.outcome).toContain('still applied: done-first, slow');
    expect(result.state.decisions.at(-1)).toMatchObject({ kind: 'cancel', by: 'temporal' });
    expect(h.store.decisions.get(handle.workflowId)?.at(-1)).toMatchObject({ kind: 'cancel' });
    expect(h.store.finished.get(handle.workflowId)?.status).toBe('failed');
  });

  it('a Temporal cancel during a back-out says what was and was not undone', async () => {
    const handle = await h.start(`
name: cancelled-backout
version: 1
${ROLES}
phases:
  - id: p
    kind: migration
    steps:
      - { id: a, title: A, owner: dba, expected: 1s, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
      - { id: b, title: B, owner: dba, expected: 1s, depends_on: [a], action: { kind: shell, command: "true" }, backout: { kind: manual } }
      - { id: c, title: C, owner: dba, expected: 1s, depends_on: [b], action: { kind: shell, command: "exit 1" } }
`);
    await waitForState(handle, (s) => s.steps.b!.backout?.status === 'manual');
    await handle.cancel();
    const result = await resultOf(handle);
    expect(result.status).toBe('failed');
    expect(result.outcome).toContain('cancelled through Temporal; the back-out stopped part-way (nothing undone yet); still applied: a, b');
  });

  it('a step that fails while the run is already backing out is undone, not left waiting for a resolve', async () => {
    const handle = await h.start(`
name: fail-during-backout
version: 1
${ROLES}
backout: { policy: manual }
phases:
  - id: p
    kind: migration
    steps:
      - { id: a, title: A, owner: dba, expected: 1s, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "echo undo-a >> fdb.log" } }
      - { id: m, title: M, owner: dba, expected: 1s, depends_on: [a], action: { kind: shell, command: "sleep 1; exit 3" }, backout: { kind: shell, command: "echo undo-m >> fdb.log" } }
`);
    await waitForState(handle, (s) => s.steps.m!.status === 'running');
    await handle.executeUpdate(requestBackoutUpdate, { args: [{ by: 'alice', reason: 'abort' }] });
    const result = await resultOf(handle);
    expect(result.status).toBe('backed_out');
    expect(result.state.steps.m!.status).toBe('failed');
    expect(result.state.steps.m!.resolution).toBeUndefined();
    expect(logLines('fdb.log')).toEqual(['undo-m', 'undo-a']);
  });
});

describe('live state', () => {
  it('the query reports every step with planned times, attempts and timestamps', async () => {
    const handle = await h.start(`
name: query
version: 1
${ROLES}
phases:
  - id: p
    kind: migration
    steps:
      - { id: one, title: One, owner: dba, expected: 2m, action: { kind: shell, command: "true" } }
      - { id: two, title: Two, owner: dba, expected: 3m, depends_on: [one], action: { kind: manual } }
`);
    const state = await waitForState(handle, (s) => s.steps.two!.status === 'waiting');
    expect(state.order).toEqual(['one', 'two']);
    expect(state.steps.one).toMatchObject({ status: 'succeeded', attempts: 1, plannedStartMs: 0, plannedDurationMs: 120_000 });
    expect(state.steps.two).toMatchObject({ status: 'waiting', waitingFor: 'manual', plannedStartMs: 120_000, plannedDurationMs: 180_000 });
    expect(state.steps.one!.startedAt).toBeTruthy();
    expect(state.status).toBe('waiting');
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'two', by: 'bob' }] });
    expect((await resultOf(handle)).status).toBe('completed');
    expect((await readRunState(handle)).state.status).toBe('completed');
  });
});
