/**
 * A run of any size: it hands over to a new execution (continue-as-new) when its history has used
 * its budget, and nothing a person or a step was doing is lost or done twice across the hand-over.
 * The budget is set tiny here, so small runbooks hand over many times.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunState } from '../run/state.js';
import {
  approveGateUpdate,
  completeManualStepUpdate,
  resolveStepUpdate,
  WORKFLOW_VERSION,
  WORKFLOW_VERSION_MEMO,
} from '../workflows/messages.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.stop());

const ROLES = 'lead: lead\nroles: { lead: [alice], dba: [bob] }';
const ledger = (file: string): string[] => {
  try {
    return readFileSync(path.join(h.dir, file), 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

/** Two parallel chains of shell steps that write their idempotency key to a ledger. */
function chains(name: string, length: number, extra = ''): string {
  const lines = [`name: ${name}`, 'version: 1', ROLES, extra, 'phases:', '  - id: move', '    kind: migration', '    steps:'];
  for (const chain of ['x', 'y']) {
    for (let i = 0; i < length; i += 1) {
      const id = `${chain}${i}`;
      lines.push(
        `      - { id: ${id}, title: ${id}, owner: dba, expected: 1s, ${i > 0 ? `depends_on: [${chain}${i - 1}], ` : ''}` +
          `action: { kind: shell, command: 'echo $CUTOVER_IDEMPOTENCY_KEY >> ${name}.log' }, backout: { kind: shell, command: 'echo undo-${id} >> ${name}.log' } }`,
      );
    }
  }
  return lines.join('\n');
}

describe('continue-as-new', () => {
  it('hands over many times with people waiting across the hand-over; every step runs exactly once', async () => {
    const yaml = `${chains('handover', 8)}
  - id: decide
    kind: go_no_go
    steps:
      - { id: tell, title: Tell, owner: dba, action: { kind: manual } }
      - { id: pause, title: Pause, owner: dba, depends_on: [tell], action: { kind: wait, duration: 2s } }
      - { id: go, title: Go, owner: lead, depends_on: [pause], gate: { approvers: [lead] } }
  - id: after
    kind: interface_switch_on
    steps:
      - { id: on, title: On, owner: dba, action: { kind: shell, command: 'echo $CUTOVER_IDEMPOTENCY_KEY >> handover.log' } }
`;
    const handle = await h.start(yaml, { historyBudget: 40 });
    const waiting = await waitForState(handle, (s) => s.steps.tell!.waitingFor === 'manual');
    expect(waiting.execution).toBeGreaterThan(1);
    await handle.executeUpdate(completeManualStepUpdate, { args: [{ stepId: 'tell', by: 'bob' }] });
    await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open');
    await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] });
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    const keys = ledger('handover.log');
    expect(keys).toHaveLength(17);
    expect(new Set(keys).size).toBe(17); // no step ran twice
    const state: RunState = result.state;
    expect(state.execution).toBeGreaterThanOrEqual(3);
    // Finished steps keep their times across hand-overs (read back from the record store).
    for (const id of state.order) expect(state.steps[id]!.endedAt, id).toBeTruthy();
    expect(state.decisions.map((d) => d.kind)).toEqual(['complete_manual', 'approve']);
    expect(h.store.finished.get(handle.workflowId)?.state.steps.x7!.status).toBe('succeeded');
  });

  it('a long action does not hold independent steps back: they go on once the budget is used, and the run hands over after it', async () => {
    // `long` runs until the test lets it end; the chains beside it need more than the budget (40 events), and stay
    // well under the ceiling the run keeps going to (4x the budget): on a loaded machine each step takes more
    // workflow tasks, and 24 steps reached the ceiling one step short (the run then rightly waits for `long`).
    const gate = path.join(h.dir, 'long-may-end');
    const yaml = `${chains('beside', 8)}
      - { id: long, title: Long, owner: dba, expected: 1m, action: { kind: shell, command: 'while [ ! -f ${gate} ]; do sleep 0.1; done; echo $CUTOVER_IDEMPOTENCY_KEY >> beside.log' } }
      - { id: after, title: After, owner: dba, expected: 1s, depends_on: [long], action: { kind: shell, command: 'echo $CUTOVER_IDEMPOTENCY_KEY >> beside.log' } }
`;
    const handle = await h.start(yaml, { historyBudget: 40 });
    const chain = Array.from({ length: 8 }, (_, i) => [`x${i}`, `y${i}`]).flat();
    // Before, the run stopped starting steps once its budget was used, until `long` ended: the chains stalled.
    const beside = await waitForState(handle, (s) => chain.every((id) => s.steps[id]!.status === 'succeeded'), 60_000);
    expect(beside.steps.long!.status).toBe('running');
    expect(beside.execution ?? 1).toBe(1);
    writeFileSync(gate, '');
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    // It handed over once `long` ended (`after` ran in a new execution), and nothing ran twice.
    expect(result.state.execution).toBeGreaterThan(1);
    const keys = ledger('beside.log');
    expect(keys).toHaveLength(18);
    expect(new Set(keys).size).toBe(18);
  });

  it('backs out across hand-overs in reverse order, and a failure waits for the lead across one', async () => {
    const yaml = chains('handback', 6, 'backout: { policy: manual }').replace(
      "action: { kind: shell, command: 'echo $CUTOVER_IDEMPOTENCY_KEY >> handback.log' }, backout: { kind: shell, command: 'echo undo-y5",
      "action: { kind: shell, command: 'exit 7' }, backout: { kind: shell, command: 'echo undo-y5",
    );
    const handle = await h.start(yaml, { historyBudget: 30 });
    const failed = await waitForState(handle, (s) => s.steps.y5!.waitingFor === 'resolution', 60_000);
    const before = failed.execution ?? 1;
    // The lead backs out through resolving nothing: a retry fails again, then the run backs out.
    await handle.executeUpdate(resolveStepUpdate, { args: [{ stepId: 'y5', by: 'alice', action: 'retry', reason: 'once more' }] });
    await waitForState(handle, (s) => s.steps.y5!.waitingFor === 'resolution' && s.steps.y5!.attempts >= 2, 60_000);
    const { requestBackoutUpdate } = await import('../workflows/messages.js');
    await handle.executeUpdate(requestBackoutUpdate, { args: [{ by: 'alice', reason: 'give up' }] });
    const result = await resultOf(handle);
    expect(result.status).toBe('backed_out');
    expect(result.state.execution).toBeGreaterThan(before);
    const undos = ledger('handback.log').filter((line) => line.startsWith('undo-'));
    // Each chain undone last step first; y5 failed and is undone too.
    const x = undos.filter((u) => u.startsWith('undo-x'));
    const y = undos.filter((u) => u.startsWith('undo-y'));
    expect(x).toEqual(['undo-x5', 'undo-x4', 'undo-x3', 'undo-x2', 'undo-x1', 'undo-x0']);
    expect(y).toEqual(['undo-y5', 'undo-y4', 'undo-y3', 'undo-y2', 'undo-y1', 'undo-y0']);
  });
});

describe('the version of the workflow code, in the memo', () => {
  it('each new execution says which version of the workflow code continued it, and keeps the rest of the memo', async () => {
    // Started by a client of an older version: the memo says 0; each hand-over restamps it (Temporal would copy it).
    const handle = await h.start(chains('stamp', 3), { historyBudget: 20, memo: { runbook: 'stamp', [WORKFLOW_VERSION_MEMO]: 0 } });
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(result.state.execution).toBeGreaterThan(1);
    const first = await h.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
    const last = await h.client.workflow.getHandle(handle.workflowId).describe();
    expect(last.runId).not.toBe(first.runId);
    expect(first.memo).toEqual({ runbook: 'stamp', [WORKFLOW_VERSION_MEMO]: 0 });
    expect(last.memo).toEqual({ runbook: 'stamp', [WORKFLOW_VERSION_MEMO]: WORKFLOW_VERSION });
  });
});

describe('requests at the moment of a hand-over', () => {
  it('a request that reaches a new execution before it has read its runbook is accepted, not turned away', async () => {
    // Budget 1: the run hands over after every step, so requests keep landing on fresh executions.
    const handle = await h.start(
      `${chains('busy', 10)}
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead] } }
`,
      { historyBudget: 1 },
    );
    // Sent while the chains run and the run hands over again and again; the gate is not open yet,
    // so each is refused with the gate's own reason, never with "still reading its runbook".
    const reasons: string[] = [];
    for (let i = 0; i < 15; i += 1) {
      reasons.push(
        await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] }).then(
          () => 'approved',
          (err: Error & { cause?: Error }) => err.cause?.message ?? err.message,
        ),
      );
      if (reasons.at(-1) === 'approved') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(reasons.filter((r) => /still reading/.test(r))).toEqual([]);
    if (!reasons.includes('approved')) {
      await waitForState(handle, (s) => s.steps.go!.gate!.status === 'open', 60_000);
      await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'alice' }] });
    }
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(result.state.execution).toBeGreaterThan(5);
  });
});

describe('runs started by the first workflow version', () => {
  it('a `runRunbook` run (the runbook in its input) still runs to its end on today’s worker', async () => {
    const { parseRunbook } = await import('../runbook/parse.js');
    const { LEGACY_RUN_WORKFLOW_TYPE, runStateQuery } = await import('../workflows/messages.js');
    const yaml = `${chains('legacy', 3)}\n`;
    const parsed = parseRunbook(yaml, 'legacy.yaml');
    if (!parsed.ok) throw new Error('invalid');
    const runId = `legacy-${Date.now()}`;
    const handle = await h.client.workflow.start(LEGACY_RUN_WORKFLOW_TYPE, {
      taskQueue: h.taskQueue,
      workflowId: runId,
      args: [{ runId, runNumber: 1, runbook: parsed.runbook, versionHash: 'v1', mode: 'rehearsal', startedBy: 'test', baseDir: h.dir }],
    });
    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(ledger('legacy.log')).toHaveLength(6);
    // Its clients still read it through the one reader, which falls back to the old query.
    expect((await handle.query(runStateQuery)).status).toBe('completed');
  });
});
