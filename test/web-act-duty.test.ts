/**
 * The acting view offers what the run would take now: with a rota, a gate's vote and a manual step's done only to
 * whoever is on duty for the role (and the lead), not to everyone the role names (run/duty.ts decides; the run refuses
 * the others with who is on duty). Pure: the cards are computed from a run's state.
 */
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/parse.js';
import { initialRunState } from '../run/transitions.js';
import type { RunState } from '../run/state.js';
import { openFor } from '../web/act.js';

const STARTED = '2026-12-05T22:00:00.000Z';
const HOUR = 3_600_000;

const parsed = parseRunbook(
  `
name: duty
version: 1
lead: lead
roles: { lead: [lea], dba: [ana, cy], business: [bo] }
people: { dan: {} }
rota:
  - { role: dba, person: ana, from: T-1h, to: T+4h }
  - { role: dba, person: cy, from: T+4h, to: T+12h }
phases:
  - id: load
    kind: migration
    steps:
      - { id: check, title: Check the load, owner: dba, action: { kind: manual } }
      - { id: go, title: Go, owner: lead, gate: { approvers: [dba, business] } }
`,
  'duty.yaml',
);

function waiting(): RunState {
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const state = initialRunState(
    { runId: 'duty-1', runNumber: 1, runbook: parsed.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'lea', baseDir: '/tmp' },
    STARTED,
  );
  state.status = 'waiting';
  state.steps.check = { ...state.steps.check!, status: 'waiting', waitingFor: 'manual' };
  state.steps.go = {
    ...state.steps.go!,
    status: 'waiting',
    waitingFor: 'approval',
    gate: { status: 'open', approvers: ['dba', 'business'], votes: [], awaiting: ['dba', 'business'], rule: 'all' },
  };
  return state;
}

const cards = (person: string, atMs: number) => {
  if (!parsed.ok) throw new Error('runbook');
  const open = openFor(person, [{ record: { id: 'duty-1', runbookName: 'duty' }, state: waiting(), runbook: parsed.runbook }], atMs);
  return { gates: open.gates.map((g) => g.gateId), manual: open.manual.map((m) => m.step.id) };
};

describe('the acting view and the rota', () => {
  it('offers a role’s gate and manual step to whoever is on duty for it, and to nobody else of the role', () => {
    const early = Date.parse(STARTED) + 1 * HOUR;
    const late = Date.parse(STARTED) + 6 * HOUR;
    expect(cards('ana', early)).toEqual({ gates: ['go'], manual: ['check'] });
    expect(cards('cy', early)).toEqual({ gates: [], manual: [] });
    expect(cards('ana', late)).toEqual({ gates: [], manual: [] });
    expect(cards('cy', late)).toEqual({ gates: ['go'], manual: ['check'] });
    // A role without a rota is unchanged; someone with no role sees nothing.
    expect(cards('bo', late)).toEqual({ gates: ['go'], manual: [] });
    expect(cards('dan', early)).toEqual({ gates: [], manual: [] });
  });
});
