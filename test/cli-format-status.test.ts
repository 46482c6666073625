/**
 * What `cutover status` prints for a run in flight: the plan against the clock, steps over
 * their plan flagged, who a gate still waits for.
 */
import { describe, expect, it } from 'vitest';
import type { ReconcileSummary } from '../reconcile/result.js';
import { commandName } from '../cli/command-name.js';
import { describeReconciliations } from '../cli/follow-run.js';
import { formatStatus } from '../cli/show-status.js';
import { parseRunbook } from '../runbook/parse.js';
import { initialRunState } from '../run/transitions.js';
import { liveForecast, liveModel } from '../timing/live-forecast.js';

const parsed = parseRunbook(
  `
name: night
version: 2
lead: lead
roles: { lead: [alice], dba: [bob], business: [dana] }
phases:
  - id: load
    kind: migration
    steps:
      - { id: customers, title: Customers, owner: dba, expected: 10m, action: { kind: shell, command: "true" } }
      - { id: orders, title: Orders, owner: dba, expected: 20m, depends_on: [customers], action: { kind: shell, command: "true" } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead, business] } }
`,
  'night.yaml',
);

describe('status of a run in flight', () => {
  it('shows the plan, elapsed time, running steps and overruns', () => {
    if (!parsed.ok) throw new Error('fixture invalid');
    const start = '2026-12-05T22:00:00.000Z';
    const state = initialRunState(
      { runId: 'night-4', runNumber: 4, runbook: parsed.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice', baseDir: '/' },
      start,
    );
    state.steps.customers = {
      ...state.steps.customers!,
      status: 'succeeded',
      attempts: 2,
      startedAt: start,
      endedAt: '2026-12-05T22:15:00.000Z',
    };
    state.steps.orders = { ...state.steps.orders!, status: 'running', attempts: 1, startedAt: '2026-12-05T22:15:00.000Z' };
    const now = Date.parse('2026-12-05T22:40:00.000Z');
    const lines = formatStatus(state, now);
    expect(lines[2]).toBe('plan: 30m00s on the critical path; elapsed 40m00s (10m00s over plan)');
    const customers = lines.find((l) => l.includes('customers'))!;
    expect(customers).toMatch(/succeeded\s+10m00s\s+15m00s\s+2 attempts; 5m00s over plan$/);
    const orders = lines.find((l) => l.includes('orders'))!;
    // Running: the actual so far, marked unfinished; 25m of a 20m plan is over by more than 20%.
    expect(orders).toMatch(/running\s+20m00s\s+25m00s…\s+5m00s over plan$/);
    expect(lines.find((l) => l.includes(' go '))).toMatch(/pending/);
    // An open gate with a deadline says how long it has, and what it decides then.
    state.steps.go = {
      ...state.steps.go!,
      status: 'waiting',
      gate: { ...state.steps.go!.gate!, status: 'open', closesAt: '2026-12-05T22:52:00.000Z', onDeadline: 'no-go' },
    };
    expect(formatStatus(state, now).find((l) => l.includes(' go '))).toMatch(
      /needs lead, business; closes in 12m00s \(2026-12-05T22:52:00.000Z\), then no-go$/,
    );
    state.steps.go.gate!.pointOfNoReturn = {
      at: '2026-12-05T22:30:00.000Z',
      windowEnd: '2026-12-06T00:00:00.000Z',
      backoutMs: 90 * 60_000,
    };
    expect(formatStatus(state, now).find((l) => l.includes(' go '))).toMatch(
      /; PAST the point of no return \(2026-12-05T22:30:00.000Z\): a go now leaves no room to back out inside the window; closes in 12m00s/,
    );
    expect(formatStatus(state, Date.parse('2026-12-05T22:20:00.000Z')).find((l) => l.includes(' go '))).toMatch(
      /; point of no return 2026-12-05T22:30:00.000Z \(in 10m00s\); closes in 32m00s/,
    );
    expect(lines[1]).not.toContain('execution');
  });

  it('says when the run will finish, from the live re-forecast', () => {
    if (!parsed.ok) throw new Error('fixture invalid');
    const start = '2026-12-05T22:00:00.000Z';
    const state = initialRunState(
      { runId: 'night-4', runbook: parsed.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice' },
      start,
    );
    state.steps.customers = {
      ...state.steps.customers!,
      status: 'succeeded',
      attempts: 1,
      startedAt: start,
      endedAt: '2026-12-05T22:10:00.000Z',
    };
    state.steps.orders = { ...state.steps.orders!, status: 'running', attempts: 1, startedAt: '2026-12-05T22:10:00.000Z' };
    const now = Date.parse('2026-12-05T22:20:00.000Z');
    // No rehearsal recorded: every step at its plan (with the spread plans have); orders, 10m in, has about 10m left.
    const forecast = liveForecast(liveModel({ runbook: parsed.runbook, versionHash: 'h', runs: [] }), state, now);
    const line = formatStatus(state, now, { forecast })[3]!;
    expect(line).toMatch(/^forecast: finish 22:\d\d UTC \(P50, in \d+m\d\ds\) to \d\d:\d\d UTC \(P90, in /);
    expect(line).toContain('a back-out now has nothing to undo');
    expect(forecast.p50Ms).toBeGreaterThan(20 * 60_000);
  });

  it('says when the run has continued as new', () => {
    if (!parsed.ok) throw new Error('fixture invalid');
    const state = initialRunState(
      { runId: 'night-5', runbook: parsed.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice' },
      '2026-12-05T22:00:00.000Z',
    );
    state.execution = 3;
    expect(formatStatus(state)[1]).toContain('; execution 3 (the run continues as new');
  });

  it("shows what each reconciliation found, a running comparison's progress, and where the rows are", () => {
    if (!parsed.ok) throw new Error('fixture invalid');
    const start = '2026-12-05T22:00:00.000Z';
    const state = initialRunState(
      { runId: 'night-5', runNumber: 5, runbook: parsed.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice', baseDir: '/' },
      start,
    );
    const counts = {
      duplicate_keys: { source: 0, target: 0 },
      null_keys: { source: 0, target: 0 },
      rows_read: { source: 1500, target: 1501 },
      seconds: 1.2,
    };
    state.steps.customers = {
      ...state.steps.customers!,
      status: 'failed',
      attempts: 1,
      startedAt: start,
      endedAt: '2026-12-05T22:05:00.000Z',
      reconcile: {
        ...counts,
        matched: 1497,
        mismatched: 2,
        missing_in_target: 0,
        extra_in_target: 1,
        sampled: true,
        within_limits: false,
        limit_violations: ['2 rows with differing values (limit 0)', '1 key only in the target (limit 0)'],
      },
      checks: [
        {
          name: 'orders agree',
          kind: 'reconcile',
          passed: true,
          detail: '...',
          at: '2026-12-05T22:05:00.000Z',
          reconcile: {
            ...counts,
            matched: 1500,
            mismatched: 0,
            missing_in_target: 0,
            extra_in_target: 0,
            sampled: false,
            within_limits: true,
            limit_violations: [],
            round: 5,
            drift: -2,
          },
        },
      ],
    };
    state.steps.orders = { ...state.steps.orders!, status: 'running', attempts: 1, startedAt: '2026-12-05T22:05:00.000Z' };
    const progress = { orders: 'comparison comparing: 340,000 source and 120,000 target rows read' };
    const lines = formatStatus(state, Date.parse('2026-12-05T22:06:00.000Z'), { progress });
    expect(lines.find((l) => l.includes(' orders '))).toMatch(
      /running\s+20m00s\s+1m00s…\s+comparison comparing: 340,000 source and 120,000 target rows read$/,
    );
    const at = lines.indexOf('reconciliations (the differing rows: cutover reconcile-report night-5 STEP):');
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 3)).toEqual([
      '  customers                      action: 1,497 matched, 2 differ, 0 missing in the target, 1 only in the target (sample); outside limits: 2 rows with differing values (limit 0); 1 key only in the target (limit 0)',
      '                                 check "orders agree": round 5, drift -2: 1,500 matched, 0 differ, 0 missing in the target, 0 only in the target; within limits',
    ]);
    // A run without reconciliations has no such section.
    expect(
      formatStatus({ ...state, steps: { ...state.steps, customers: { ...state.steps.customers, reconcile: undefined, checks: [] } } }).join(
        '\n',
      ),
    ).not.toContain('reconciliations');
  });
});

describe('follow output of reconciliations', () => {
  it('says once what each comparison found, again for each new round of a repeating check, and where the rows are', () => {
    if (!parsed.ok) throw new Error('fixture invalid');
    const start = '2026-12-05T22:00:00.000Z';
    const state = initialRunState(
      { runId: 'night-6', runNumber: 6, runbook: parsed.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice', baseDir: '/' },
      start,
    );
    const summary = (mismatched: number, extra = 0): ReconcileSummary => ({
      matched: 1498,
      mismatched,
      missing_in_target: 0,
      extra_in_target: extra,
      duplicate_keys: { source: 0, target: 0 },
      null_keys: { source: 0, target: 0 },
      rows_read: { source: 1500, target: 1501 },
      sampled: false,
      within_limits: mismatched === 0,
      limit_violations: mismatched === 0 ? [] : [`${mismatched} rows with differing values (limit 0)`],
      seconds: 1,
    });
    const step = {
      ...state.steps.customers!,
      status: 'failed' as const,
      attempts: 1,
      startedAt: start,
      endedAt: '2026-12-05T22:05:00.000Z',
      reconcile: summary(2, 1),
      checks: [
        {
          name: 'still agree',
          kind: 'reconcile',
          passed: true,
          detail: 'round 4',
          at: '2026-12-05T22:04:00.000Z',
          reconcile: { ...summary(0), round: 4, drift: -1 },
        },
      ],
    };
    const lines = describeReconciliations(step, 'night-6');
    expect(lines.map((l) => l.text)).toEqual([
      '22:05:00  ≈ load/customers                   compared: 1,498 matched, 2 differ, 0 missing in the target, 1 only in the target; outside limits: 2 rows with differing values (limit 0)\n' +
        `          the differing rows: ${commandName()} reconcile-report night-6 customers`,
      // Nothing differs: no pointer to rows.
      '22:04:00  ≈ load/customers                   check "still agree" compared: round 4, drift -1: 1,498 matched, 0 differ, 0 missing in the target, 0 only in the target; within limits',
    ]);
    // A new round is a new line; the same result seen again (the next poll) is not.
    const next = describeReconciliations(
      { ...step, checks: [{ ...step.checks[0]!, at: '2026-12-05T23:04:00.000Z', reconcile: { ...summary(3), round: 5, drift: 3 } }] },
      'night-6',
    );
    expect(next[0]!.version).toBe(lines[0]!.version);
    expect(next[1]!.version).not.toBe(lines[1]!.version);
    expect(next[1]!.text).toContain('round 5, drift +3: ');
    expect(next[1]!.text).toContain(`reconcile-report night-6 customers --check "still agree"`);
    expect(describeReconciliations(state.steps.orders!, 'night-6')).toEqual([]);
  });
});
