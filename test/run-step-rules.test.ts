/**
 * The pure decisions the run workflow takes about its steps and its end (run/step-rules.ts), and the request rules it
 * took out of its body (automatic requests, what a decision keeps of a signed request), without Temporal.
 */
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import { signatureFields } from '../run/signed-request.js';
import type { RunState } from '../run/state.js';
import {
  backedOutEnding,
  cancelDecision,
  cancelPending,
  closeAtDeadline,
  endAfterCancel,
  failedChecksError,
  forwardEnding,
  gateVerdict,
  isUndone,
  markForBackout,
  openGate,
  resumable,
  runningAtCancel,
  simulatedSteps,
  stepsToUndo,
} from '../run/step-rules.js';
import { initialRunState, refuseAutomatic } from '../run/transitions.js';

const AT = '2026-12-05T22:00:00.000Z';
const LATER = '2026-12-05T23:30:00.000Z';
const KEY = `ed25519:${Buffer.alloc(32, 7).toString('base64')}`;

function runbook(): Runbook {
  const parsed = parseRunbook(
    `
name: rules
version: 1
lead: lead
roles:
  lead: [alice]
  dba: [bob]
people: { alice: { key: "${KEY}" } }
window: { start: "2026-12-05T22:00:00Z", length: 4h }
phases:
  - id: load
    kind: migration
    steps:
      - { id: freeze, title: Freeze, owner: dba, expected: 10m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
      - { id: copy, title: Copy, owner: dba, expected: 30m, depends_on: [freeze], action: { kind: shell, command: "true" } }
      - { id: note, title: Note, owner: dba, expected: 5m, depends_on: [copy], action: { kind: manual }, backout: { kind: manual } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead], deadline: { after_opening: 30m, decides: go } } }
      - { id: check, title: Check, owner: lead, gate: { approvers: [lead] } }
`,
    'rules.yaml',
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.runbook;
}

function state(mode: 'rehearsal' | 'live' = 'rehearsal'): { rb: Runbook; s: RunState } {
  const rb = runbook();
  return {
    rb,
    s: initialRunState({ runId: 'rules-1', runNumber: 1, runbook: rb, versionHash: 'h', mode, startedBy: 'alice', baseDir: '/tmp' }, AT),
  };
}

const gateDef = (rb: Runbook, id: string) => rb.phases[1]!.steps.find((s) => s.id === id)!.gate!;

describe('gates', () => {
  it('opens with its deadline, what the deadline decides, and the point of no return', () => {
    const { rb, s } = state();
    const opened = openGate(s.steps.go!.gate!, gateDef(rb, 'go'), rb, { mode: 'rehearsal' }, AT, LATER);
    expect(opened).toMatchObject({ status: 'open', openedAt: LATER, closesAt: '2026-12-06T00:00:00.000Z', onDeadline: 'go' });
    // A 4-hour window from the rehearsal's start, less the planned back-out (the steps with an undo: 10m + 5m).
    expect(opened.pointOfNoReturn).toEqual({ at: '2026-12-06T01:45:00.000Z', windowEnd: '2026-12-06T02:00:00.000Z', backoutMs: 900_000 });
    // With a measured back-out, that one; without a deadline, no closing time.
    const measured = openGate(s.steps.check!.gate!, gateDef(rb, 'check'), rb, { mode: 'rehearsal', backoutP90Ms: 3_600_000 }, AT, LATER);
    expect(measured.pointOfNoReturn).toMatchObject({ at: '2026-12-06T01:00:00.000Z', backoutSource: 'measured' });
    expect(measured).not.toHaveProperty('closesAt');
    expect(measured).not.toHaveProperty('onDeadline');
  });

  it('decides at its deadline as the runbook says, and logs that nobody decided', () => {
    const { rb, s } = state();
    const opened = openGate(s.steps.go!.gate!, gateDef(rb, 'go'), rb, { mode: 'rehearsal' }, AT, AT);
    const { gate, decision } = closeAtDeadline('go', opened, LATER);
    expect(gate).toMatchObject({ status: 'approved', decidedAt: LATER, closedByDeadline: true });
    expect(decision).toEqual({
      kind: 'deadline',
      by: 'cutover',
      role: 'deadline',
      target: 'go',
      reason: 'no decision by 2026-12-05T22:30:00.000Z; the runbook says go',
      at: LATER,
      automatic: true,
    });
    // Without a `decides`, a deadline is a no-go.
    expect(closeAtDeadline('go', { ...opened, onDeadline: undefined }, LATER).gate.status).toBe('rejected');
  });

  it('a go succeeds its step; a no-go fails it and names who said no, or the deadline; a back-out cancels it', () => {
    const { s } = state();
    const gate = { ...s.steps.go!.gate!, status: 'open' as const };
    expect(gateVerdict({ ...gate, status: 'approved' }, true)).toEqual({ status: 'succeeded' });
    expect(
      gateVerdict(
        {
          ...gate,
          status: 'rejected',
          votes: [{ by: 'alice', role: 'lead', decision: 'reject', reason: 'data not reconciled', at: AT, automatic: false }],
        },
        true,
      ),
    ).toEqual({ status: 'failed', error: 'no-go: rejected by alice (lead): data not reconciled', rejectedBy: 'alice' });
    expect(gateVerdict({ ...gate, status: 'rejected', closedByDeadline: true, closesAt: LATER }, true)).toEqual({
      status: 'failed',
      error: `no-go: nobody decided by the gate's deadline, ${LATER}`,
    });
    expect(gateVerdict(gate, false)).toEqual({ status: 'cancelled', gate: { ...gate, status: 'cancelled' } });
  });
});

describe('steps', () => {
  it('says which checks failed, in one sentence', () => {
    const check = (name: string, detail: string) => ({ name, kind: 'http', passed: false, detail, at: AT });
    expect(failedChecksError([check('health', 'expected 200, got 503'), check('rows', '0 rows')])).toBe(
      'check "health" failed: expected 200, got 503; check "rows" failed: 0 rows',
    );
  });

  it('picks up waiting steps, sleeping steps and failures, not fresh or finished ones', () => {
    const { s } = state();
    const step = s.steps.copy!;
    expect(resumable(step)).toBe(false);
    expect(resumable({ ...step, status: 'waiting' })).toBe(true);
    expect(resumable({ ...step, status: 'running' })).toBe(false);
    expect(resumable({ ...step, status: 'running', waitUntil: LATER })).toBe(true);
    expect(resumable({ ...step, status: 'running', resolution: { scope: 'forward', error: 'x', kind: 'failed', since: AT } })).toBe(true);
    expect(resumable({ ...step, status: 'succeeded' })).toBe(false);
  });

  it('cancels the steps that never started when the forward part is over', () => {
    const { s } = state();
    s.steps.freeze!.status = 'succeeded';
    cancelPending(s, LATER);
    expect(s.steps.freeze).toMatchObject({ status: 'succeeded' });
    expect(s.steps.copy).toMatchObject({ status: 'cancelled', endedAt: LATER });
    expect(s.steps.go).toMatchObject({ status: 'cancelled', endedAt: LATER });
  });

  it('a back-out undoes what ran and has an undo, not gates, and not what never ran', () => {
    const { rb, s } = state();
    s.steps.freeze!.status = 'succeeded';
    s.steps.copy!.status = 'failed';
    s.steps.note!.status = 'succeeded';
    s.steps.go!.status = 'succeeded';
    const withUndo = new Set(
      rb.phases
        .flatMap((p) => p.steps)
        .filter((d) => d.backout)
        .map((d) => d.id),
    );
    markForBackout(s, (id) => withUndo.has(id));
    expect(s.steps.freeze!.backout).toEqual({ status: 'pending', attempts: 0 });
    expect(s.steps.copy!.backout).toEqual({ status: 'not_needed', attempts: 0 });
    expect(s.steps.note!.backout).toEqual({ status: 'pending', attempts: 0 });
    expect(s.steps.go!.backout).toBeUndefined();
    expect(s.steps.check!.backout).toBeUndefined();
    expect(stepsToUndo(s)).toEqual(['freeze', 'note']);
    s.steps.freeze!.backout = { status: 'succeeded', attempts: 1 };
    s.steps.note!.backout = { status: 'resolved', attempts: 1 };
    expect([isUndone(s.steps.freeze!), isUndone(s.steps.note!), isUndone(s.steps.copy!)]).toEqual([true, true, false]);
  });

  it('a live run may not pretend: the steps whose action or undo is simulated', () => {
    expect(
      simulatedSteps([
        { id: 'a', action: { kind: 'shell' } },
        { id: 'b', action: { kind: 'simulate' } },
        { id: 'c', action: { kind: 'shell' }, backout: { kind: 'simulate' } },
        { id: 'd' },
      ]),
    ).toEqual(['b', 'c']);
  });
});

describe('how a run ends', () => {
  it('completed with its duration when every step is done; stopped naming the steps not done', () => {
    const { s } = state();
    for (const step of Object.values(s.steps)) step.status = 'succeeded';
    s.steps.note!.status = 'skipped';
    expect(forwardEnding(s, LATER)).toEqual({ status: 'completed', outcome: 'completed in 1h30m' });
    s.steps.go!.status = 'failed';
    s.steps.check!.status = 'cancelled';
    expect(forwardEnding(s, LATER)).toEqual({ status: 'failed', outcome: 'stopped with steps not done: go, check' });
  });

  it('backed out, with its reason and how many steps were undone', () => {
    const { s } = state();
    s.backout = { status: 'running', reason: 'late' };
    s.steps.freeze!.backout = { status: 'succeeded', attempts: 1 };
    s.steps.note!.backout = { status: 'resolved', attempts: 1 };
    s.steps.copy!.backout = { status: 'not_needed', attempts: 0 };
    expect(backedOutEnding(s)).toEqual({ status: 'backed_out', outcome: 'backed out (late); 2 step(s) undone' });
    s.backout = { status: 'running' };
    expect(backedOutEnding(s).outcome).toBe('backed out (no reason given); 2 step(s) undone');
  });

  it('a cancel names what was running, cancels what was not finished, and says what still stands', () => {
    const { s } = state();
    s.steps.freeze!.status = 'succeeded';
    s.steps.copy!.status = 'running';
    s.steps.note!.status = 'waiting';
    s.steps.note!.waitingFor = 'manual';
    const running = runningAtCancel(s);
    expect(running).toEqual(['copy']);
    expect(cancelDecision(s, LATER)).toEqual({
      kind: 'cancel',
      by: 'temporal',
      role: 'temporal',
      target: 'rules-1',
      reason: 'the workflow was cancelled through Temporal',
      at: LATER,
      automatic: false,
    });
    // The running step finished (and succeeded) before the run stopped.
    s.steps.copy!.status = 'succeeded';
    s.steps.copy!.endedAt = AT;
    endAfterCancel(s, running, LATER);
    expect(s.steps.copy).toMatchObject({ status: 'succeeded', endedAt: AT });
    expect(s.steps.note).toMatchObject({ status: 'cancelled', endedAt: LATER });
    expect(s.steps.note!.waitingFor).toBeUndefined();
    expect(s.steps.go).toMatchObject({ status: 'cancelled', endedAt: LATER });
    expect(s.status).toBe('failed');
    expect(s.outcome).toBe(
      'cancelled through Temporal; nothing was backed out; copy finished first; still applied: freeze, copy: undo them by hand with their back-out actions, or start a new run',
    );
  });

  it('a cancel during a back-out says what was and was not undone', () => {
    const { s } = state();
    s.steps.freeze!.status = 'succeeded';
    s.steps.freeze!.backout = { status: 'succeeded', attempts: 1 };
    s.steps.copy!.status = 'cancelled';
    s.backout = { status: 'running', reason: 'late' };
    endAfterCancel(s, [], LATER);
    expect(s.outcome).toBe('cancelled through Temporal; the back-out stopped part-way (undone: freeze); no step had changed anything');
    s.steps.freeze!.backout = { status: 'waiting', attempts: 1 };
    endAfterCancel(s, [], LATER);
    expect(s.outcome).toBe(
      'cancelled through Temporal; the back-out stopped part-way (nothing undone yet); still applied: freeze: undo them by hand with their back-out actions, or start a new run',
    );
  });
});

describe('requests', () => {
  it('believes `automatic` only in a rehearsal started with --auto-approve', () => {
    const input = { runId: 'rules-1', mode: 'rehearsal' as const };
    expect(refuseAutomatic({ by: 'alice', automatic: true }, { ...input, autoApprove: true })).toBeUndefined();
    expect(refuseAutomatic({ by: 'alice' }, input)).toBeUndefined();
    expect(refuseAutomatic({ by: 'alice', automatic: true }, input)).toBe(
      'automatic requests are accepted only in rehearsals started with --auto-approve, and rules-1 was not; send it as a person (without "automatic")',
    );
    expect(refuseAutomatic({ by: 'alice', automatic: true }, { ...input, mode: 'live', autoApprove: true })).toMatch(/^automatic requests/);
    expect(refuseAutomatic(null, input)).toBeUndefined();
  });

  it('a decision keeps a checked signature and the fields it covers; nothing of anyone else’s', () => {
    const { rb } = state();
    const signature = { key: KEY, at: AT, nonce: 'n1', value: 'sig' };
    expect(signatureFields(rb, { by: 'alice', gateId: 'go', signature } as { by: string; signature: typeof signature })).toEqual({
      signature,
      request: { by: 'alice', gateId: 'go' },
    });
    // bob has no key in the runbook: his signature is not checked, so it is not kept.
    expect(signatureFields(rb, { by: 'bob', signature })).toEqual({});
    expect(signatureFields(rb, { by: 'alice' })).toEqual({});
  });
});
