/**
 * The runs whose histories test/workflow-replay.test.ts replays: each scenario drives one real
 * run to its end through every kind of message. `record-histories.ts` records them.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { expect } from 'vitest';
import {
  approveGateUpdate,
  completeManualStepUpdate,
  rejectGateUpdate,
  requestBackoutUpdate,
  resolveStepUpdate,
} from '../../workflows/messages.js';
import { publicKeyText, signRequest } from '../../cli/keys.js';
import { overrideRequest } from '../../run/signed-request.js';
import { sqliteFile } from './reconcile-data.js';
import { resultOf, waitForState, type Harness } from './workflow-harness.js';

/** Where the recorded histories live, one JSON file per scenario. */
export const HISTORIES = path.resolve(import.meta.dirname, '../histories');

const RUNBOOK = (name: string, failCheck: boolean) => `
name: ${name}
version: 1
lead: lead
roles: { lead: [alice], dba: [bob], business: [dana] }
phases:
  - id: prep
    kind: preparation
    steps:
      - id: a
        title: A
        owner: dba
        expected: 1s
        action: { kind: shell, command: "true" }
        backout: { kind: shell, command: "test -f ok-${name} || { touch ok-${name}; exit 4; }" }
      - id: tell
        title: Tell
        owner: dba
        expected: 1s
        depends_on: [a]
        action: { kind: manual }
      - id: sim
        title: Sim
        owner: dba
        expected: 10ms
        rehearsal: simulate
        action: { kind: shell, command: "true" }
      - id: pause
        title: Pause
        owner: dba
        action: { kind: wait, duration: 10ms }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead, business] } }
  - id: on
    kind: interface_switch_on
    steps:
      - id: switch
        title: Switch
        owner: dba
        expected: 1s
        action: { kind: shell, command: "true" }
        checks: [{ name: healthy, kind: shell, command: "${failCheck ? 'exit 1' : 'true'}" }]
`;

/** Each scenario drives one run to its end through every kind of message. */
export const SCENARIOS: Record<string, (h: Harness) => Promise<string>> = {
  async completed(h) {
    const handle = await h.start(RUNBOOK('replay-completed', false));
    await waitForState(handle, (s) => s.steps.tell!.waitingFor === 'manual');
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'tell', by: 'bob' }] });
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] });
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'dana', reason: 'fine' }] });
    expect((await resultOf(handle)).status).toBe('completed');
    return handle.workflowId;
  },
  async 'failed-check-stuck-backout'(h) {
    const handle = await h.start(RUNBOOK('replay-failed', true));
    await waitForState(handle, (s) => s.steps.tell!.waitingFor === 'manual');
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'tell', by: 'bob' }] });
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] });
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'dana' }] });
    await waitForState(handle, (s) => s.steps.a!.backout?.status === 'waiting');
    await handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'a', by: 'alice', action: 'retry', reason: 'again' }] });
    expect((await resultOf(handle)).status).toBe('backed_out');
    return handle.workflowId;
  },
  async rejected(h) {
    const handle = await h.start(RUNBOOK('replay-rejected', false));
    await waitForState(handle, (s) => s.steps.tell!.waitingFor === 'manual');
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'tell', by: 'bob' }] });
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');
    await handle.executeUpdate(rejectGateUpdate, { args: [{ gateId: 'go', by: 'dana', reason: 'no' }] });
    await waitForState(handle, (s) => s.steps.a!.backout?.status === 'waiting');
    await handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'a', by: 'alice', action: 'done', reason: 'by hand' }] });
    expect((await resultOf(handle)).status).toBe('backed_out');
    return handle.workflowId;
  },
  async 'manual-policy-resolved'(h) {
    const handle = await h.start(`
name: replay-resolved
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
backout: { policy: manual }
phases:
  - id: p
    kind: migration
    steps:
      - { id: flaky, title: Flaky, owner: dba, expected: 1s, action: { kind: shell, command: "test -f ok-replay-resolved || { touch ok-replay-resolved; exit 3; }" } }
      - id: hand
        title: Hand
        owner: dba
        depends_on: [flaky]
        action: { kind: manual }
        checks: [{ name: fine, kind: shell, command: "true" }]
      - id: pause
        title: Pause
        owner: dba
        depends_on: [hand]
        action: { kind: wait, duration: 10ms }
        checks: [{ name: soon fine, kind: shell, command: "true", until: { within: 1s, every: 10ms } }]
      - { id: broken, title: Broken, owner: dba, expected: 1s, depends_on: [pause], action: { kind: shell, command: "exit 5" } }
`);
    await waitForState(handle, (s) => s.steps.flaky!.waitingFor === 'resolution');
    await handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'flaky', by: 'alice', action: 'retry', reason: 'again' }] });
    await waitForState(handle, (s) => s.steps.hand!.waitingFor === 'manual');
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'hand', by: 'bob' }] });
    await waitForState(handle, (s) => s.steps.broken!.waitingFor === 'resolution');
    await handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'broken', by: 'alice', action: 'done', reason: 'by hand' }] });
    expect((await resultOf(handle)).status).toBe('completed');
    return handle.workflowId;
  },
  async 'handed-over'(h) {
    // A tiny history budget: the run continues as new several times, with a person waiting
    // across a hand-over; the last execution's history (started from a checkpoint) is recorded.
    const handle = await h.start(RUNBOOK('replay-handed-over', false), { historyBudget: 25 });
    await waitForState(handle, (s) => s.steps.tell!.waitingFor === 'manual');
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'tell', by: 'bob' }] });
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] });
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'dana' }] });
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(result.state.execution).toBeGreaterThan(1);
    return handle.workflowId;
  },
  async 'backout-requested'(h) {
    const handle = await h.start(RUNBOOK('replay-requested', false));
    await waitForState(handle, (s) => s.steps.tell!.waitingFor === 'manual');
    await handle.executeUpdate(requestBackoutUpdate, { args: [{ by: 'alice', reason: 'stop' }] });
    await waitForState(handle, (s) => s.steps.a!.backout?.status === 'waiting');
    await handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'a', by: 'alice', action: 'retry', reason: 'again' }] });
    expect((await resultOf(handle)).status).toBe('backed_out');
    return handle.workflowId;
  },
  async 'signed-live'(h) {
    // A live run with signed votes (a forged one refused into the log), quorum, a gate deadline
    // that decides go, evidence, and a reconcile step: every local activity and patch it uses.
    const alice = generateKeyPairSync('ed25519').privateKey;
    const dana = generateKeyPairSync('ed25519').privateKey;
    sqliteFile(h.dir, 'replay-old.db', 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)', [
      [1, 'a'],
      [2, 'b'],
    ]);
    sqliteFile(h.dir, 'replay-new.db', 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)', [
      [1, 'a'],
      [2, 'b'],
    ]);
    const handle = await h.start(
      `
name: replay-signed
version: 1
lead: lead
roles: { lead: [alice], business: [dana], dba: [bob] }
people:
  alice: { key: "${publicKeyText(alice)}" }
  dana: { key: "${publicKeyText(dana)}" }
window: { length: 2h }
connections:
  old: { driver: sqlite, path: replay-old.db }
  new: { driver: sqlite, path: replay-new.db }
phases:
  - id: check
    kind: reconciliation
    steps:
      - id: compare
        title: Compare
        owner: dba
        expected: 1s
        action: { kind: reconcile, source: { connection: old, table: t }, target: { connection: new, table: t }, key: [{ column: id, type: integer }] }
  - id: decide
    kind: go_no_go
    steps:
      - id: go
        title: Go
        owner: lead
        gate: { approvers: [lead, business], rule: any, require: [{ all_of: [alice, dana] }], criteria: { checks_passed: [check] } }
      - { id: soon, title: Soon, owner: lead, gate: { approvers: [lead], deadline: { after_opening: 1s, decides: go } } }
`,
      {
        mode: 'live',
        // Never rehearsed: the lead's signed override is the run's first decision.
        evidenceOverride: (runId) => {
          const override = { by: 'alice', role: 'lead', reason: 'replay', missing: ['a completed rehearsal of this version within 14d'] };
          return { ...override, signature: signRequest(alice, runId, 'override', overrideRequest(override)) };
        },
      },
    );
    const open = await waitForState(handle, (s) => s.steps.go!.gate!.evidence !== undefined);
    const evidence = open.steps.go!.gate!.evidence!.digest;
    const runId = handle.workflowId;
    const vote = (key: KeyObject, by: string, reason?: string) => {
      const request = { gateId: 'go', by, evidence, ...(reason ? { reason } : {}) };
      return { ...request, signature: signRequest(key, runId, 'approve', request) };
    };
    const forged = { ...vote(alice, 'alice', 'counts match'), reason: 'changed' };
    await expect(handle.executeUpdate(approveGateUpdate, { args: [forged] })).rejects.toThrow();
    await handle.executeUpdate(approveGateUpdate, { args: [vote(alice, 'alice', 'counts match')] });
    await handle.executeUpdate(approveGateUpdate, { args: [vote(dana, 'dana')] });
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(result.state.decisions.map((d) => d.kind)).toEqual(['override', 'refused', 'approve', 'approve', 'deadline']);
    return handle.workflowId;
  },
};
