/**
 * The runbook's `hypercare:` block: MTTR targets per severity, KPIs with freshness sources, owners after go-live, the
 * exit gate and retirement milestones. Problems are located (file:line:column, field); a missing owner after go-live
 * is a warning for `validate` and a refusal for a live run; a runbook without an exit behaves as before.
 */
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/parse.js';
import { liveRunProblems } from '../runbook/validate.js';
import { hasHypercareStage } from '../runbook/validate-hypercare.js';
import { dedent, problemsOf, warningsOf } from './support/runbook-text.js';

/** Lines 1-17: roles, a connection, one switch-on step; `hypercare:` starts on line 18. */
const BASE = dedent(`
  name: demo
  version: 1
  lead: lead
  roles:
    lead: [ana]
    bi: [ben]
  connections:
    crm: { driver: sqlite, path: crm.db }
  phases:
    - id: switch
      kind: interface_switch_on
      steps:
        - id: sync-on
          title: Turn sync on
          owner: lead
          expected: 1m
          action: { kind: manual }
`);

const withHypercare = (block: string) => BASE + dedent(block);

const FULL = withHypercare(`
  hypercare:
    mttr: { sev1: 1h, sev2: 4h, sev3: 1d }
    kpis:
      - id: orders
        title: Daily orders report
        owner: bi
        sla: 24h
        repeat: 1h
        source: { kind: sql, connection: crm, query: "SELECT max(loaded_at) FROM orders" }
    owners:
      interfaces: { sync-on: bi }
      systems: { crm: bi }
    exit:
      approvers: [lead, bi]
      mttr_days: 7
    retirement:
      - { id: legacy-off, title: Switch the legacy CRM off, date: 2027-02-01, owner: lead }
`);

describe('the hypercare block', () => {
  it('takes MTTR per severity, KPIs, owners, an exit and retirement milestones, with defaults', () => {
    const result = parseRunbook(FULL, 'runbook.yaml');
    expect(result.ok && result.warnings).toEqual([]);
    if (!result.ok) return;
    const h = result.runbook.hypercare!;
    expect(h.mttr).toEqual({ sev1: '1h', sev2: '4h', sev3: '1d' });
    expect(h.kpis[0]).toMatchObject({ id: 'orders', owner: 'bi', sla: '24h', repeat: '1h', severity: 3 });
    expect(h.exit).toEqual({ approvers: ['lead', 'bi'], rule: 'all', no_open: [1, 2], mttr_days: 7, drift_rounds: 3 });
    expect(h.approaching).toBe(0.75);
    expect(hasHypercareStage(result.runbook)).toBe(true);
    expect(liveRunProblems(result.runbook).filter((p) => /after go-live/.test(p.message))).toEqual([]);
  });

  it('still takes the single MTTR target of runbooks written before, and goes on no longer than they did', () => {
    const result = parseRunbook(withHypercare('hypercare: { mttr: 30m }\n'), 'runbook.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.runbook.hypercare?.mttr).toBe('30m');
    expect(hasHypercareStage(result.runbook)).toBe(false);
    expect(result.warnings).toEqual([]);
  });

  it('locates a bad severity target, an unknown role, an unknown connection and a duplicate KPI', () => {
    const text = withHypercare(`
      hypercare:
        mttr: { sev1: 1h, sev5: 2h }
    `);
    expect(problemsOf(text)).toEqual(['runbook.yaml:19:21 hypercare.mttr.sev5: unknown field `sev5`; remove it']);
    const roles = withHypercare(`
      hypercare:
        kpis:
          - { id: orders, owner: bl, sla: 24h, repeat: 1h, source: { kind: sql, connection: crn, query: "SELECT 1" } }
          - { id: orders, owner: bi, sla: 24h, repeat: 1h, source: { kind: http, url: "http://x/" } }
        exit: { approvers: [leed] }
    `);
    expect(problemsOf(roles)).toEqual([
      'runbook.yaml:20:28 hypercare.kpis[0].owner: the owner of KPI `orders`, role `bl` is not defined in `roles`; did you mean `bi`?',
      'runbook.yaml:20:87 hypercare.kpis[0].source.connection: connection `crn` is not defined in `connections`; did you mean `crm`?',
      'runbook.yaml:21:13 hypercare.kpis[1].id: duplicate KPI id `orders`: an earlier KPI already uses it; give each KPI its own id',
      'runbook.yaml:22:23 hypercare.exit.approvers[0]: the hypercare exit approver role `leed` is not defined in `roles`; did you mean `lead`?',
    ]);
  });

  it('locates a parallel-run reconciliation with an unknown connection or owner', () => {
    const text = withHypercare(`
      hypercare:
        reconcile:
          - { id: orders, owner: bl, source: { connection: crn, table: orders }, target: { connection: crm, table: orders }, key: id, repeat: 1h }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:20:28 hypercare.reconcile[0].owner: the owner of reconciliation `orders`, role `bl` is not defined in `roles`; did you mean `bi`?',
      'runbook.yaml:20:54 hypercare.reconcile[0].source.connection: connection `crn` is not defined in `connections`; did you mean `crm`?',
    ]);
  });

  it('refuses an owner for a step that is not an interface, and a system that is not a connection', () => {
    const text = withHypercare(`
      hypercare:
        owners:
          interfaces: { sync-of: bi }
          systems: { erp: bi }
        exit: { approvers: [lead] }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:20:19 hypercare.owners.interfaces.sync-of: `sync-of` is not a step of an interface_switch_on phase; did you mean `sync-on`?',
      'runbook.yaml:21:16 hypercare.owners.systems.erp: `erp` is not a connection of the runbook; name one under `connections`',
    ]);
  });
});

describe('owners after go-live', () => {
  const missing = withHypercare(`
    hypercare:
      kpis:
        - { id: orders, sla: 24h, repeat: 1h, source: { kind: http, url: "http://x/" } }
      exit: { approvers: [lead] }
  `);

  it('`validate` warns, at the interface, the system and the KPI without one', () => {
    const result = parseRunbook(missing, 'runbook.yaml');
    expect(result.ok).toBe(true);
    expect(warningsOf(missing)).toEqual([
      'runbook.yaml:8:3 connections.crm: system `crm` has no owner after go-live; add `crm: ROLE` under `hypercare.owners.systems`',
      'runbook.yaml:13:13 phases[0].steps[0].id: interface `sync-on` has no owner after go-live; add `sync-on: ROLE` under `hypercare.owners.interfaces`',
      'runbook.yaml:20:13 hypercare.kpis[0].id: KPI `orders` has no owner after go-live; add `owner: ROLE`, the role a stale report is an incident for',
    ]);
  });

  it('a live run is refused for each of them', () => {
    const result = parseRunbook(missing, 'runbook.yaml');
    if (!result.ok) throw new Error('expected a valid runbook');
    expect(
      liveRunProblems(result.runbook)
        .filter((p) => /after go-live/.test(p.message))
        .map((p) => p.message.split(';')[0]),
    ).toEqual([
      'interface `sync-on` has no owner after go-live',
      'system `crm` has no owner after go-live',
      'KPI `orders` has no owner after go-live',
    ]);
  });

  it('without an exit nothing is owed, but KPIs that are never checked are worth a warning', () => {
    const text = withHypercare(`
      hypercare:
        kpis:
          - { id: orders, sla: 24h, repeat: 1h, source: { kind: http, url: "http://x/" } }
    `);
    expect(warningsOf(text)).toEqual([
      'runbook.yaml:18:1 hypercare: `hypercare` has KPIs or owners but no `exit`, so the run ends after go-live and never checks them; add `exit` with its approvers',
    ]);
  });
});
