/**
 * What `cutover status` prints for a run in flight: the plan against the clock, steps over
 * their plan flagged, who a gate still waits for.
 */
import { describe, expect, it } from 'vitest';
import { formatStatus } from '../cli/review-commands.js';
import { parseRunbook } from '../runbook/parse.js';
import { initialRunState } from '../runbook/transitions.js';

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
    expect(lines[1]).not.toContain('execution');
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
});
