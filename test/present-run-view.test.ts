/**
 * The presentation model: the one place status words, symbols, durations, what waits for whom, the
 * critical path and the window are derived from a run's state.
 */
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/parse.js';
import {
  backoutProgress,
  criticalPath,
  decisionLine,
  modeLabel,
  plannedRunMs,
  runHeader,
  statusWord,
  stepRow,
  waitingItems,
} from '../present/run-view.js';
import { plannedSchedule } from '../runbook/graph.js';
import { initialRunState } from '../run/transitions.js';

const parsed = parseRunbook(
  `
name: night
version: 2
lead: lead
roles: { lead: [alice], dba: [bob, carol], business: [dana] }
phases:
  - id: load
    kind: migration
    steps:
      - { id: freeze, title: Freeze, owner: dba, expected: 5m, action: { kind: shell, command: "true" } }
      - { id: customers, title: Customers, owner: dba, expected: 10m, depends_on: [freeze], action: { kind: shell, command: "true" } }
      - { id: orders, title: Orders, owner: dba, expected: 20m, depends_on: [freeze], action: { kind: shell, command: "true" } }
      - { id: notes, title: Notes, owner: dba, expected: 1m, action: { kind: shell, command: "true" } }
      - { id: tell, title: Tell the business, owner: business, expected: 2m, depends_on: [customers], action: { kind: manual, instructions: Call them. } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead, business], question: "Switch on?" } }
`,
  'night.yaml',
);
if (!parsed.ok) throw new Error('fixture invalid');
const runbook = parsed.runbook;
const start = '2026-12-05T22:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(start) + minutes * 60_000).toISOString();
const fresh = () => initialRunState({ runId: 'night-1', runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice' }, start);
const context = { roles: runbook.roles, lead: runbook.lead };

describe('words and symbols', () => {
  it('says every status in words, and the mode unmistakably', () => {
    expect(statusWord('backed_out')).toBe('backed out');
    expect(modeLabel('live')).toBe('LIVE');
    expect(modeLabel('rehearsal')).toBe('REHEARSAL');
  });

  it('shows a decision in one line', () => {
    expect(
      decisionLine({ kind: 'approve', by: 'dana', role: 'business', target: 'go', reason: 'numbers agree', at: start, automatic: false }),
    ).toBe('dana (business) approved go: numbers agree');
    expect(decisionLine({ kind: 'request_backout', by: 'alice', role: 'lead', at: start, automatic: true })).toBe(
      'alice (lead) requested back-out [automatic]',
    );
  });
});

describe('critical path', () => {
  it('marks the chain that ends last, the same as the planned schedule', () => {
    const state = fresh();
    const path = criticalPath(state);
    expect([...path].sort()).toEqual([...plannedSchedule(runbook).criticalPath].sort());
    expect(path.has('orders')).toBe(true);
    expect(path.has('customers')).toBe(false);
    expect(plannedRunMs(Object.values(state.steps))).toBe(plannedSchedule(runbook).criticalPathMs);
  });
});

describe('rows', () => {
  it('shows planned against actual, running steps unfinished, overruns, attempts and the critical mark', () => {
    const state = fresh();
    Object.assign(state.steps.freeze!, { status: 'succeeded', attempts: 2, startedAt: at(0), endedAt: at(9) });
    Object.assign(state.steps.orders!, { status: 'running', attempts: 1, startedAt: at(9) });
    const path = criticalPath(state);
    const freeze = stepRow(state.steps.freeze!, Date.parse(at(12)), path);
    expect(freeze).toMatchObject({ word: 'succeeded', symbol: '✔', planned: '5m00s', actual: '9m00s', overPlan: '4m00s over plan' });
    expect(freeze.attempts).toBe(2);
    expect(freeze.critical).toBe(true);
    const orders = stepRow(state.steps.orders!, Date.parse(at(12)), path);
    expect(orders).toMatchObject({ word: 'running', symbol: '▶', active: true, actual: '3m00s…', critical: true });
    expect(orders.overPlan).toBeUndefined();
    expect(stepRow(state.steps.go!, Date.parse(at(12)), path)).toMatchObject({ word: 'pending', planned: '—', actual: '' });
  });

  it('shows the undo in place of the step once back-out reaches it, and a failed check', () => {
    const state = fresh();
    Object.assign(state.steps.freeze!, {
      status: 'succeeded',
      startedAt: at(0),
      endedAt: at(5),
      backout: { status: 'running', attempts: 1, startedAt: at(6) },
    });
    expect(stepRow(state.steps.freeze!, Date.parse(at(7)))).toMatchObject({ word: 'undoing', symbol: '↩', active: true });
    state.steps.freeze!.backout = { status: 'succeeded', attempts: 1, startedAt: at(6), endedAt: at(7) };
    expect(stepRow(state.steps.freeze!, Date.parse(at(7)))).toMatchObject({ word: 'backed out', active: false });
    Object.assign(state.steps.customers!, {
      status: 'failed',
      checks: [{ name: 'counts agree', kind: 'sql', passed: false, detail: 'expected 10, got 9', at: at(4) }],
    });
    expect(stepRow(state.steps.customers!, Date.parse(at(7))).note).toBe('check "counts agree" failed: expected 10, got 9');
  });
});

describe('what waits for people', () => {
  it('pins gates, manual steps and failures with who may act', () => {
    const state = fresh();
    Object.assign(state.steps.go!, {
      status: 'waiting',
      waitingFor: 'approval',
      startedAt: at(30),
      gate: { ...state.steps.go!.gate!, status: 'open', openedAt: at(30), closesAt: at(45), onDeadline: 'no-go' },
    });
    Object.assign(state.steps.tell!, { status: 'waiting', waitingFor: 'manual', startedAt: at(20) });
    Object.assign(state.steps.orders!, {
      status: 'waiting',
      waitingFor: 'resolution',
      resolution: { scope: 'forward', error: 'exit 3', kind: 'failed', since: at(25) },
    });
    const items = waitingItems(
      state.order.map((id) => state.steps[id]!),
      context,
    );
    expect(items.map((i) => [i.stepId, i.kind, i.who])).toEqual([
      ['orders', 'resolution', 'lead (alice)'],
      ['tell', 'manual', 'business (dana)'],
      ['go', 'gate', 'each of lead (alice), business (dana)'],
    ]);
    expect(items[2]!.what).toBe('gate go: Switch on?');
    expect(items[2]!.closes).toEqual({ at: at(45), then: 'no-go' });
    expect(items[0]!.what).toBe('orders failed: exit 3; retry or record done');
  });
});

describe('the run at a glance', () => {
  it('shows elapsed against plan, the window left and the point of no return', () => {
    const state = fresh();
    const planned = plannedRunMs(Object.values(state.steps));
    const window = { end: at(60), pointOfNoReturn: at(40), backoutMs: 20 * 60_000 };
    const header = runHeader(state, planned, Date.parse(at(30)), { window });
    expect(header).toMatchObject({ mode: 'REHEARSAL', status: 'RUNNING', elapsed: '30m00s', planned: '25m00s', overPlan: '5m00s' });
    expect(header.window).toMatchObject({ end: at(60), left: '30m00s' });
    expect(header.pointOfNoReturn).toEqual({ at: at(40), passed: false, in: '10m00s' });
    expect(runHeader(state, planned, Date.parse(at(50)), { window }).pointOfNoReturn?.passed).toBe(true);
    expect(runHeader(state, planned, Date.parse(at(61)), { window }).window?.left).toBe('-1m00s');
  });

  it('counts back-out progress', () => {
    const state = fresh();
    state.backout = { status: 'running', trigger: 'requested', reason: 'numbers off', requestedBy: 'alice' };
    state.steps.freeze!.backout = { status: 'succeeded', attempts: 1 };
    state.steps.customers!.backout = { status: 'running', attempts: 1 };
    state.steps.notes!.backout = { status: 'not_needed', attempts: 0 };
    expect(backoutProgress(state, Object.values(state.steps))).toEqual({
      status: 'running',
      why: 'the lead requested it: numbers off',
      by: 'alice',
      undone: 1,
      toUndo: 2,
      running: ['customers'],
      waiting: [],
    });
    expect(backoutProgress(fresh(), [])).toBeUndefined();
  });
});
