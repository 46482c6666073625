/** Deputies, `ack_within` and the rota as the runbook writes them (located refusals), and who is on duty when. Pure. */
import { describe, expect, it } from 'vitest';
import { dutyNow, onItText } from '../present/duty-view.js';
import { initialRunState } from '../run/transitions.js';
import { parseRunbook } from '../runbook/parse.js';
import { actingRunbook, refuseOffDuty } from '../run/duty.js';
import { onDuty } from '../runbook/rota.js';
import { runSections } from '../web/run-sections.js';
import { problemsOf } from './support/runbook-text.js';

/** Lines 1-13; the block under test from line 14. */
const HEAD = `name: demo
version: 1
lead: lead
roles:
  lead: [lea]
  dba: [ana, cy]
people: { dan: {} }
phases:
  - id: prep
    kind: preparation
    steps:
      - { id: backup, title: Back up, owner: dba, action: { kind: manual } }
      - { id: load, title: Load, owner: dba, ack_within: 5m, action: { kind: shell, command: 'true' } }
`;

describe('deputies, ack_within and the rota in a runbook', () => {
  it('refuses each mistake with one sentence at its line', () => {
    const problems = problemsOf(`${HEAD}deputies: { dbb: [dan], dba: [dna] }
rota:
  - { role: dba, person: ana, from: T-2h, to: T+6h }
  - { role: dba, person: cy, from: T+5h, to: T+12h }
  - { role: dba, person: cy, from: T+14h, to: T+13h }
  - { role: ops, person: bob, from: T, to: T+1h }
`);
    expect(problems).toEqual([
      'runbook.yaml:13:58 phases[0].steps[1].ack_within: step `load` has `ack_within`, but nobody waits on it: only manual steps and gates are acknowledged; remove it',
      'runbook.yaml:14:13 deputies.dbb: `dbb` is not a role in `roles`; did you mean `dba`?',
      'runbook.yaml:14:31 deputies.dba[0]: `dna` is not a person the runbook knows; did you mean `ana`?',
      'runbook.yaml:17:36 rota[1].from: the shift of cy as dba (T+5h to T+12h) overlaps rota entry 1, ana (T-2h to T+6h); one person is on duty for a role at a time, so move one end',
      'runbook.yaml:18:47 rota[2].to: the shift of cy as dba ends at T+13h, not after it starts at T+14h: it is empty; make `to` later than `from`',
      'runbook.yaml:19:13 rota[3].role: `ops` is not a role in `roles`; name one of the roles under `roles`',
      'runbook.yaml:19:26 rota[3].person: `bob` is not a person the runbook knows; name someone who holds a role in `roles` or is listed under `people`',
    ]);
  });

  it('picks who is on duty at a time, and says who is on duty now and next', () => {
    const T = Date.parse('2026-12-05T22:00:00Z');
    const rota = [
      { role: 'dba', person: 'ana', from: 'T-2h', to: 'T+6h' },
      { role: 'dba', person: 'cy', from: 'T+6h', to: 'T+12h' },
    ];
    const book = { roles: { dba: ['ana', 'cy'], lead: ['lea'] }, rota };
    expect(onDuty(book, 'dba', T + 5 * 3_600_000, T)).toEqual(['ana']);
    expect(onDuty(book, 'dba', T + 6 * 3_600_000, T)).toEqual(['cy']);
    expect(onDuty(book, 'dba', T + 13 * 3_600_000, T)).toEqual([]);
    expect(onDuty(book, 'lead', T, T)).toBeUndefined();
    // A live run counts from the window's start; a rehearsal from its own.
    const live = { mode: 'live' as const, startedAt: '2026-12-05T21:00:00Z' };
    expect(dutyNow({ shifts: rota, windowStart: '2026-12-05T22:00:00Z' }, live, T + 60_000)).toEqual([
      'dba: ana on duty; next cy from 04:00 UTC',
    ]);
    const rehearsal = { mode: 'rehearsal' as const, startedAt: '2026-12-05T10:00:00Z' };
    expect(dutyNow({ shifts: rota, windowStart: '2026-12-05T22:00:00Z' }, rehearsal, Date.parse('2026-12-05T23:00:00Z'))).toEqual([
      'dba: nobody on duty',
    ]);
  });

  it('lets whoever is on duty act for a role; between shifts, the people `roles` names', () => {
    const T = Date.parse('2026-12-05T22:00:00Z');
    const parsed = parseRunbook(
      `${HEAD.replace(/ +- \{ id: load.*\n/, '')}deputies: { dba: [dan] }\nrota:\n  - { role: dba, person: ana, from: T-2h, to: T+6h }\n  - { role: dba, person: dan, from: T+6h, to: T+12h }\n`,
      'runbook.yaml',
    );
    if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('; '));
    const book = parsed.runbook;
    expect(refuseOffDuty(book, ['dba'], 'cy', T + 3_600_000, T)).toBe(
      'cy is not on duty for dba now: the rota has ana (until 04:00 UTC); they, a deputy of dba or the lead may act',
    );
    expect(refuseOffDuty(book, ['dba'], 'ana', T + 3_600_000, T)).toBeUndefined();
    // dan is on the rota later, and a deputy of dba: off shift, he acknowledges as a deputy, but does not act for dba.
    expect(refuseOffDuty(book, ['dba'], 'dan', T + 3_600_000, T, ['dan'])).toBeUndefined();
    expect(refuseOffDuty(book, ['dba'], 'dan', T + 3_600_000, T)).toMatch(/^dan is not on duty for dba now: the rota has ana/);
    expect(actingRunbook(book, T + 7 * 3_600_000, T).roles.dba).toEqual(['dan']);
    // Between shifts nobody is on duty: the people `roles` names act, and the rota's others wait.
    expect(actingRunbook(book, T + 13 * 3_600_000, T).roles.dba).toEqual(['ana', 'cy']);
    expect(refuseOffDuty(book, ['dba'], 'cy', T + 13 * 3_600_000, T)).toBeUndefined();
    expect(refuseOffDuty(book, ['lead'], 'cy', T, T)).toBeUndefined();
  });

  it('shows who is on a waiting step, and nobody once it stopped waiting', () => {
    const acks = [{ by: 'ana', at: '2026-12-05T22:14:00Z', for: 'manual' as const }];
    expect(onItText({ status: 'waiting', waitingFor: 'manual', acks })).toBe('on it: ana since 22:14 UTC');
    expect(onItText({ status: 'succeeded', acks })).toBeUndefined();
  });

  it('the run page shows who is on a waiting step and who is on duty now and next', () => {
    const parsed = parseRunbook(
      `${HEAD.replace(/ +- \{ id: load.*\n/, '')}rota:\n  - { role: dba, person: ana, from: T-2h, to: T+6h }\n  - { role: dba, person: cy, from: T+6h, to: T+12h }\n`,
      'runbook.yaml',
    );
    if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('; '));
    const start = '2026-12-05T22:00:00.000Z';
    const state = initialRunState(
      { runId: 'demo-1', runbook: parsed.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'lea' },
      start,
    );
    Object.assign(state.steps.backup!, {
      status: 'waiting',
      waitingFor: 'manual',
      startedAt: start,
      acks: [{ by: 'cy', at: '2026-12-05T22:03:00.000Z', for: 'manual' }],
    });
    const { waiting } = runSections({
      state,
      now: Date.parse('2026-12-05T23:00:00Z'),
      context: { roles: parsed.runbook.roles, lead: 'lead', rota: { shifts: parsed.runbook.rota! } },
    });
    expect(waiting).toContain('On duty: dba: ana on duty; next cy from 04:00 UTC');
    expect(waiting).toMatch(
      /manual step backup: Back up; mark it done<\/strong><br>who may act: dba \(ana, cy\) · <strong class="on-it">on it: cy since 22:03 UTC<\/strong>/,
    );
  });
});
