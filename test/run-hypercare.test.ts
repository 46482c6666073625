/**
 * Hypercare's pure rules over 30 simulated days with hourly rounds: incidents opened and resolved at known times give
 * the exact MTTR per severity, markers carry the minute they were due, a stale KPI opens one incident for its owner,
 * and the exit gate opens only while its criteria hold. Refusals are one sentence each.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { publicKeyText, signRequest } from '../cli/keys.js';
import { sha256, verifyText } from '../common/signatures.js';
import { chainedText, verifyDecisionLog } from '../run/decision-log.js';
import type { Decision } from '../run/state.js';
import {
  applyIncident,
  HYPERCARE_ACTOR,
  incidentEntry,
  configTimes,
  kpisDue,
  mttrBySeverity,
  nextMarkerAt,
  openKpiIncident,
  raiseMarkers,
  refuseIncident,
  reviewExitGate,
  startHypercare,
  takeReading,
  unmetExitCriteria,
  type HypercareState,
  type IncidentRequest,
} from '../run/hypercare.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';

const RUNBOOK = `
name: demo
version: 1
lead: lead
roles: { lead: [ana], bi: [ben], ops: [olga] }
phases:
  - id: go
    kind: preparation
    steps: [{ id: a, title: A, owner: lead, expected: 1m, action: { kind: manual } }]
hypercare:
  mttr: { sev1: 1h, sev2: 4h, sev3: 1d }
  kpis:
    - { id: orders, owner: bi, sla: 24h, repeat: 1h, source: { kind: http, url: "http://127.0.0.1/x" } }
  exit: { approvers: [lead, bi], mttr_days: 7 }
`;

function runbook(): Runbook {
  const result = parseRunbook(RUNBOOK, 'runbook.yaml');
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.runbook;
}

const T0 = Date.parse('2027-01-04T00:00:00Z');
const at = (hours: number, minutes = 0) => new Date(T0 + hours * 3_600_000 + minutes * 60_000).toISOString();

function open(state: HypercareState, severity: number, when: string, owner = 'ops'): string {
  return applyIncident(state, { action: 'open', by: 'olga', severity, title: `sev${severity} at ${when}`, owner }, when).id;
}

describe('incidents', () => {
  it('refuses an unknown severity, an unknown incident, a resolved one and a stranger, one sentence each', () => {
    const book = runbook();
    const state = startHypercare(book, at(0));
    const request = (r: Partial<IncidentRequest>) =>
      ({ action: 'open', by: 'olga', severity: 2, title: 'x', owner: 'ops', ...r }) as IncidentRequest;
    expect(refuseIncident(book, state, request({ severity: 5 }))).toBe('severity 5 is not one of 1, 2, 3, 4 (1 is the worst)');
    expect(refuseIncident(book, state, request({ owner: 'dba' }))).toBe('owner role `dba` is not a role of this runbook (lead, bi, ops)');
    expect(refuseIncident(book, state, request({ by: 'mallory' }))).toBe(
      'mallory holds no role in this runbook, so may not report or change incidents',
    );
    expect(refuseIncident(book, state, { action: 'resolve', by: 'olga', incidentId: 'INC-9' })).toBe(
      'there is no incident INC-9 in this run; `cutover incident list RUN` shows them',
    );
    const id = open(state, 2, at(1));
    expect(refuseIncident(book, state, { action: 'resolve', by: 'ben', incidentId: id })).toBe(
      'ben may not resolve INC-1: its owner role ops or the lead may',
    );
    applyIncident(state, { action: 'resolve', by: 'olga', incidentId: id }, at(2));
    expect(refuseIncident(book, state, { action: 'resolve', by: 'ana', incidentId: id })).toBe(
      `incident INC-1 was already resolved at ${at(2)} by olga`,
    );
    expect(refuseIncident(book, undefined, request({}))).toMatch(/^the run is not in hypercare/);
  });

  it('30 days of hourly rounds: the exact MTTR per severity, and each marker at the minute it was due', () => {
    const book = runbook();
    const times = configTimes(book);
    const state = startHypercare(book, at(0));
    // sev1 opened at 10:07 on day 1 and resolved 1h20m later: approaching at 10:52 (75% of 1h), breach at 11:07.
    const sev1 = open(state, 1, at(10, 7));
    const sev2a = open(state, 2, at(30)); // resolved after 2h
    const sev2b = open(state, 2, at(100)); // resolved after 3h
    const sev3 = open(state, 3, at(200, 30)); // resolved after 30h: a breach of 1d
    const plan: Record<number, string[]> = { 11: [], 12: [sev1], 32: [sev2a], 103: [sev2b], 231: [] };
    const marks: Record<string, string[]> = {};
    for (let hour = 1; hour <= 30 * 24; hour += 1) {
      const now = T0 + hour * 3_600_000;
      // The run wakes at each round and at each marker due before it: both give the due minute.
      for (;;) {
        const next = nextMarkerAt(state, times);
        if (next === undefined || next > now) break;
        for (const incident of raiseMarkers(state, times, next))
          (marks[incident.id] ??= []).push(`${incident.approachingAt}|${incident.breachedAt}`);
      }
      for (const id of plan[hour] ?? []) applyIncident(state, { action: 'resolve', by: 'olga', incidentId: id }, at(hour, 27));
      if (hour === 230) applyIncident(state, { action: 'resolve', by: 'olga', incidentId: sev3 }, at(230, 30));
    }
    const incident = (id: string) => state.incidents.find((i) => i.id === id)!;
    expect([incident(sev1).approachingAt, incident(sev1).breachedAt]).toEqual([at(10, 52), at(11, 7)]);
    expect(incident(sev2a).breachedAt).toBeUndefined();
    expect(incident(sev3).breachedAt).toBe(at(224, 30));
    const mttr = mttrBySeverity(state, times);
    expect(mttr.map((m) => [m.severity, m.resolved, m.mttrMs, m.targetMs, m.breaches])).toEqual([
      [1, 1, 2 * 3_600_000 + 20 * 60_000, 3_600_000, 1], // 10:07 -> 12:27
      [2, 2, ((2 * 60 + 27 + 3 * 60 + 27) / 2) * 60_000, 4 * 3_600_000, 0], // 2h27m and 3h27m
      [3, 1, 30 * 3_600_000, 86_400_000, 1],
      [4, 0, undefined, undefined, 0],
    ]);
  });
});

describe('KPIs and the exit gate', () => {
  it('a stale KPI opens one incident for its owner; the exit opens only while every criterion holds', () => {
    const book = runbook();
    const state = startHypercare(book, at(0));
    const now = (h: number) => T0 + h * 3_600_000;
    expect(unmetExitCriteria(book, state, now(0))).toEqual(['KPI orders has not been checked yet']);
    expect(kpisDue(book, state, now(0))).toEqual(['orders']);

    // Hour 1: fresh (data from 3 hours ago). The gate opens.
    expect(takeReading(book, state, { kpiId: 'orders', latest: at(-2), at: at(1) })).toBeUndefined();
    expect(kpisDue(book, state, now(1.5))).toEqual([]);
    expect(reviewExitGate(state, unmetExitCriteria(book, state, now(1)), at(1))).toBe(true);
    expect(state.exit.status).toBe('open');

    // Hour 2: the data stopped at hour -2: 28 h old, past its 24 h SLA. One incident, sev3, for bi; not two.
    const stale = takeReading(book, state, { kpiId: 'orders', latest: at(-26), at: at(2) });
    expect(stale).toMatchObject({ action: 'open', severity: 3, owner: 'bi' });
    const inc = openKpiIncident(state, 'orders', stale!, at(2));
    expect(takeReading(book, state, { kpiId: 'orders', latest: at(-26), at: at(3) })).toBeUndefined();
    expect(unmetExitCriteria(book, state, now(3))).toEqual([`KPI orders is stale: data from ${at(-26)}, 1d 5h old (SLA 24h)`]);
    reviewExitGate(state, unmetExitCriteria(book, state, now(3)), at(3));
    expect(state.exit.status).toBe('pending');

    // A sev1 keeps it shut, and so does its MTTR past target once resolved, until 7 days have passed since.
    takeReading(book, state, { kpiId: 'orders', latest: at(3), at: at(4) });
    applyIncident(state, { action: 'resolve', by: 'ben', incidentId: inc.id }, at(4));
    const sev1 = open(state, 1, at(5));
    expect(unmetExitCriteria(book, state, now(6))).toEqual([`sev1 incident ${sev1} is open (sev1 at ${at(5)})`]);
    applyIncident(state, { action: 'resolve', by: 'olga', incidentId: sev1 }, at(7));
    takeReading(book, state, { kpiId: 'orders', latest: at(7), at: at(8) });
    expect(unmetExitCriteria(book, state, now(8))).toEqual(['sev1 MTTR over the last 7 days is 2h00m, over its 1h00m target']);
    takeReading(book, state, { kpiId: 'orders', latest: at(7 + 7 * 24), at: at(8 + 7 * 24) });
    expect(unmetExitCriteria(book, state, now(8 + 7 * 24))).toEqual([]);
    reviewExitGate(state, [], at(8 + 7 * 24));
    expect(state.exit.status).toBe('open');
  });
});

describe('incidents in the decision log', () => {
  it('a signed incident entry verifies offline; one whose reason or target was changed, or the run’s own made to look signed, does not', () => {
    const olga = generateKeyPairSync('ed25519').privateKey;
    const keys = { olga: { key: publicKeyText(olga) } };
    const crypto = { sha256, verify: verifyText };
    const RUN = 'crm-go-live-4';
    const open = { action: 'open', by: 'olga', severity: 2, title: 'Orders late', owner: 'ops' } as const;
    const resolve = { action: 'resolve', by: 'olga', incidentId: 'INC-1', note: 'queue drained' } as const;
    const entry = (request: IncidentRequest, id: string, at: string): Decision => ({
      kind: 'incident',
      by: 'olga',
      role: 'ops',
      ...incidentEntry(request, id),
      at,
      automatic: false,
      signature: signRequest(olga, RUN, 'incident', request),
      request: { ...request },
    });
    const stale = { action: 'open', by: HYPERCARE_ACTOR, severity: 3, title: 'KPI orders is stale', owner: 'bi' } as const;
    const chain = (decisions: Decision[], live = true) => {
      let previous = '';
      const entries = decisions.map((d, seq) => {
        const hash = sha256(chainedText(previous, seq, d));
        previous = hash;
        return { ...d, seq, hash };
      });
      return verifyDecisionLog(RUN, entries, keys, crypto, live ? { mode: 'live' } : {});
    };
    const byTheRun: Decision = {
      kind: 'incident',
      by: HYPERCARE_ACTOR,
      role: 'kpi',
      ...incidentEntry(stale, 'INC-2'),
      at: at(3),
      automatic: true,
    };
    expect(chain([entry(open, 'INC-1', at(1)), entry(resolve, 'INC-1', at(2)), byTheRun])).toEqual([]);
    expect(chain([{ ...entry(open, 'INC-1', at(1)), reason: 'nothing much' }])).toEqual([
      'entry 0 (incident by olga on INC-1 (open)) shows the reason "nothing much": its signature does not cover that',
    ]);
    expect(chain([{ ...entry(resolve, 'INC-1', at(2)), target: 'INC-7 (resolve)' }])).toEqual([
      'entry 0 (incident by olga on INC-7 (resolve)) shows the target "INC-7 (resolve)": its signature does not cover that',
    ]);
    expect(chain([{ ...byTheRun, by: 'olga' }])).toEqual([
      'entry 0 (incident by olga on INC-2 (open)) is marked automatic, and a live run takes no automatic request',
    ]);
  });
});
