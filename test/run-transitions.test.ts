/**
 * The pure rules of a run, without Temporal: initial state, who may vote or act, how votes
 * close a gate, and the run status people see.
 */
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/parse.js';
import type { RunState } from '../run/state.js';
import type { Runbook } from '../runbook/schema.js';
import {
  applyVote,
  deriveRunStatus,
  gateClosesAt,
  pointOfNoReturn,
  initialRunState,
  refuseBackout,
  refuseManualDone,
  refuseResolve,
  refuseVote,
  rolesOf,
  voteRole,
} from '../run/transitions.js';

const AT = '2026-12-05T22:00:00.000Z';

function runbook(): Runbook {
  const parsed = parseRunbook(
    `
name: rules
version: 1
lead: lead
roles:
  lead: [alice]
  dba: [bob]
  business: [dana, alice]
phases:
  - id: load
    kind: migration
    steps:
      - { id: a, title: A, owner: dba, expected: 10m, action: { kind: shell, command: "true" } }
      - { id: m, title: M, owner: business, expected: 5m, depends_on: [a], rehearsal: skip, action: { kind: manual } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead, business] } }
      - { id: anyone, title: Any, owner: lead, gate: { approvers: [lead, business], rule: any } }
`,
    'rules.yaml',
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.runbook;
}

function state(mode: 'rehearsal' | 'live' = 'rehearsal'): { rb: Runbook; s: RunState } {
  const rb = runbook();
  const s = initialRunState(
    { runId: 'rules-1', runNumber: 1, runbook: rb, versionHash: 'h', mode, startedBy: 'alice', baseDir: '/tmp' },
    AT,
  );
  return { rb, s };
}

describe('initial state', () => {
  it('lists every step in runbook order with its plan and treatment', () => {
    const { s } = state();
    expect(s.order).toEqual(['a', 'm', 'go', 'anyone']);
    expect(s.steps.a).toMatchObject({
      status: 'pending',
      plannedStartMs: 0,
      plannedDurationMs: 600_000,
      treatment: 'run',
      idempotencyKey: 'rules-1/a',
    });
    expect(s.steps.m).toMatchObject({ plannedStartMs: 600_000, treatment: 'skip', dependsOn: ['a'] });
    // The phase barrier: the gate waits for the last step of the previous phase.
    expect(s.steps.go!.dependsOn).toEqual(['m']);
    expect(s.steps.go!.gate).toMatchObject({ status: 'pending', awaiting: ['lead', 'business'], votes: [] });
  });

  it('runs everything in a live run, whatever the rehearsal setting', () => {
    expect(state('live').s.steps.m!.treatment).toBe('run');
  });
});

describe('votes', () => {
  const open = (s: RunState, id = 'go') => {
    s.steps[id]!.gate = { ...s.steps[id]!.gate!, status: 'open' };
  };

  it('refuses votes on a gate that has not opened', () => {
    const { rb, s } = state();
    expect(refuseVote(rb, s, { gateId: 'go', by: 'alice' }, 'approve')).toBe('gate `go` is not open yet; it opens when m finish');
  });

  it('refuses people without an approver role, and unknown gates', () => {
    const { rb, s } = state();
    open(s);
    expect(refuseVote(rb, s, { gateId: 'go', by: 'bob' }, 'approve')).toMatch(
      /bob may not vote on gate `go`: approvers are the roles lead, business/,
    );
    expect(refuseVote(rb, s, { gateId: 'a', by: 'alice' }, 'approve')).toMatch(/there is no gate `a` in this run; gates: go, anyone/);
  });

  it('needs a reason to reject', () => {
    const { rb, s } = state();
    open(s);
    expect(refuseVote(rb, s, { gateId: 'go', by: 'dana' }, 'reject')).toBe('a rejection needs a reason (--reason)');
    expect(refuseVote(rb, s, { gateId: 'go', by: 'dana', reason: 'no' }, 'reject')).toBeUndefined();
  });

  it('counts a person holding two approver roles for the role still awaited, once', () => {
    const { rb, s } = state();
    open(s);
    const gate = s.steps.go!.gate!;
    expect(rolesOf(rb, 'alice')).toEqual(['lead', 'business']);
    expect(voteRole(rb, gate, { gateId: 'go', by: 'alice' })).toBe('lead');
    const afterAlice = applyVote(gate, { by: 'alice', role: 'lead', decision: 'approve', at: AT, automatic: false });
    expect(afterAlice).toMatchObject({ status: 'open', awaiting: ['business'] });
    s.steps.go!.gate = afterAlice;
    expect(refuseVote(rb, s, { gateId: 'go', by: 'alice' }, 'approve')).toBe('alice has already voted on gate `go`');
    expect(voteRole(rb, afterAlice, { gateId: 'go', by: 'dana' })).toBe('business');
    const afterDana = applyVote(afterAlice, { by: 'dana', role: 'business', decision: 'approve', at: AT, automatic: false });
    expect(afterDana).toMatchObject({ status: 'approved', awaiting: [], decidedAt: AT });
  });

  it('refuses a role the person does not hold', () => {
    const { rb, s } = state();
    open(s);
    expect(refuseVote(rb, s, { gateId: 'go', by: 'dana', role: 'lead' }, 'approve')).toBe(
      'dana does not hold the approver role lead (holds business)',
    );
  });

  it('one approval is enough with rule any; one rejection closes any gate', () => {
    const { s } = state();
    const any = s.steps.anyone!.gate!;
    expect(
      applyVote({ ...any, status: 'open' }, { by: 'dana', role: 'business', decision: 'approve', at: AT, automatic: true }).status,
    ).toBe('approved');
    const all = { ...s.steps.go!.gate!, status: 'open' as const };
    const approved = applyVote(all, { by: 'alice', role: 'lead', decision: 'approve', at: AT, automatic: false });
    expect(applyVote(approved, { by: 'dana', role: 'business', decision: 'reject', reason: 'no', at: AT, automatic: false }).status).toBe(
      'rejected',
    );
  });

  it('refuses votes once the gate is decided', () => {
    const { rb, s } = state();
    s.steps.go!.gate = { ...s.steps.go!.gate!, status: 'rejected' };
    expect(refuseVote(rb, s, { gateId: 'go', by: 'dana' }, 'approve')).toBe('gate `go` is closed (rejected)');
  });
});

describe('other requests', () => {
  it('only the owner role completes a waiting manual step', () => {
    const { rb, s } = state();
    expect(refuseManualDone(rb, s, { stepId: 'm', by: 'dana' })).toBe('step `m` is not waiting to be marked done (it is pending)');
    s.steps.m = { ...s.steps.m!, status: 'waiting', waitingFor: 'manual' };
    expect(refuseManualDone(rb, s, { stepId: 'm', by: 'bob' })).toBe('bob does not hold the role business that owns step `m`');
    expect(refuseManualDone(rb, s, { stepId: 'm', by: 'dana' })).toBeUndefined();
    expect(refuseManualDone(rb, s, { stepId: 'zz', by: 'dana' })).toBe('there is no step `zz` in this run');
  });

  it('only the lead backs out, with a reason, once', () => {
    const { rb, s } = state();
    expect(refuseBackout(rb, s, { by: 'bob', reason: 'x' })).toMatch(/only the lead may request a back-out/);
    expect(refuseBackout(rb, s, { by: 'alice', reason: ' ' })).toBe('a back-out needs a reason (--reason)');
    expect(refuseBackout(rb, s, { by: 'alice', reason: 'late' })).toBeUndefined();
    s.backout = { status: 'running' };
    expect(refuseBackout(rb, s, { by: 'alice', reason: 'late' })).toBe('the run is already backing out (running)');
  });

  it('only the lead resolves, and only a step with a failure waiting', () => {
    const { rb, s } = state();
    expect(refuseResolve(rb, s, { stepId: 'a', by: 'alice', action: 'retry', reason: 'r' })).toBe(
      'step `a` has no failure waiting to be resolved',
    );
    s.steps.a!.resolution = { scope: 'forward', error: 'boom', kind: 'failed', since: AT };
    expect(refuseResolve(rb, s, { stepId: 'a', by: 'bob', action: 'retry', reason: 'r' })).toMatch(/only the lead may resolve/);
    expect(refuseResolve(rb, s, { stepId: 'a', by: 'alice', action: 'done', reason: '' })).toBe(
      'resolving a failure needs a reason (--reason)',
    );
    expect(refuseResolve(rb, s, { stepId: 'a', by: 'alice', action: 'done', reason: 'fixed' })).toBeUndefined();
  });
});

describe('run status', () => {
  it('is waiting while a person is needed, backing out while undoing', () => {
    const { s } = state();
    expect(deriveRunStatus(s)).toBe('running');
    s.steps.m = { ...s.steps.m!, status: 'waiting', waitingFor: 'manual' };
    expect(deriveRunStatus(s)).toBe('waiting');
    s.steps.m = { ...s.steps.m, status: 'cancelled' };
    s.backout = { status: 'running' };
    expect(deriveRunStatus(s)).toBe('backing_out');
    s.steps.a!.backout = { status: 'waiting', attempts: 1 };
    expect(deriveRunStatus(s)).toBe('waiting');
  });
});

describe('gate deadlines', () => {
  const withWindow = (deadline: string) => {
    const parsed = parseRunbook(
      `name: d\nversion: 1\nlead: lead\nroles: { lead: [alice] }\nwindow: { start: 2026-12-05T22:00:00Z, length: 4h }\nphases:\n  - id: g\n    kind: go_no_go\n    steps:\n      - { id: go, title: Go, owner: lead, gate: { approvers: [lead], deadline: ${deadline} } }\n`,
      'd.yaml',
    );
    if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('; '));
    return parsed.runbook;
  };
  const gateOf = (rb: Runbook) => rb.phases[0]!.steps[0]!.gate!;
  const rehearsalStart = '2026-11-24T09:00:00.000Z';
  const opened = '2026-11-24T09:40:00.000Z';

  it('closes after the opening, at a time on the night, or after the window start; a rehearsal moves the night to its own start', () => {
    const after = withWindow('{ after_opening: 30m }');
    expect(gateClosesAt(gateOf(after), after, 'rehearsal', rehearsalStart, opened)).toBe('2026-11-24T10:10:00.000Z');
    const at = withWindow('{ at: "2026-12-05T23:30:00Z" }');
    expect(gateClosesAt(gateOf(at), at, 'live', '2026-12-05T22:01:00.000Z', '2026-12-05T23:00:00.000Z')).toBe('2026-12-05T23:30:00.000Z');
    // The rehearsal started at 09:00 plays a night that starts at 22:00: 23:30 on the night is 10:30 today.
    expect(gateClosesAt(gateOf(at), at, 'rehearsal', rehearsalStart, opened)).toBe('2026-11-24T10:30:00.000Z');
    const windowed = withWindow('{ after_window_start: 2h }');
    expect(gateClosesAt(gateOf(windowed), windowed, 'live', '2026-12-05T22:05:00.000Z', opened)).toBe('2026-12-06T00:00:00.000Z');
    expect(gateClosesAt(gateOf(windowed), windowed, 'rehearsal', rehearsalStart, opened)).toBe('2026-11-24T11:00:00.000Z');
    const none = runbook();
    expect(gateClosesAt(none.phases[1]!.steps[0]!.gate!, none, 'live', AT, AT)).toBeUndefined();
  });
});

describe('the point of no return', () => {
  it('is the window end less the planned back-out; a rehearsal starts the window at its own start', () => {
    const parsed = parseRunbook(
      `name: pnr\nversion: 1\nlead: lead\nroles: { lead: [alice] }\nwindow: { start: 2026-12-05T22:00:00Z, length: 4h }\nphases:\n  - id: p\n    kind: migration\n    steps:\n` +
        `      - { id: a, title: A, owner: lead, expected: 30m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }\n` +
        `      - { id: b, title: B, owner: lead, expected: 15m, action: { kind: shell, command: "true" }, backout: { kind: manual } }\n` +
        `      - { id: c, title: C, owner: lead, expected: 2h, action: { kind: shell, command: "true" } }\n`,
      'pnr.yaml',
    );
    if (!parsed.ok) throw new Error('fixture invalid');
    expect(pointOfNoReturn(parsed.runbook, 'live', '2026-12-05T22:03:00.000Z')).toEqual({
      at: '2026-12-06T01:15:00.000Z',
      windowEnd: '2026-12-06T02:00:00.000Z',
      backoutMs: 45 * 60_000,
    });
    expect(pointOfNoReturn(parsed.runbook, 'rehearsal', '2026-11-24T09:00:00.000Z')?.at).toBe('2026-11-24T12:15:00.000Z');
    expect(pointOfNoReturn(runbook(), 'live', AT)).toBeUndefined();
  });
});
