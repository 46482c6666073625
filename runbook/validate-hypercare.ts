/**
 * The rules of a runbook's `hypercare:` block that need the whole runbook: roles that exist, KPIs with their own ids
 * and a connection that can answer a query, owners of interfaces and systems the runbook has, and (when the run goes
 * on into hypercare: `exit` is given) an owner after go-live for every interface, system and KPI. A missing owner is a
 * warning for `validate` and a refusal for `run --live` ({@link postGoLiveOwnerProblems}). Pure.
 */
import type { DocumentProblem, ProblemPath } from '../lib/yaml-document/problems.js';
import { hint, need, undefinedRole, type Checking } from './checking.js';
import type { Runbook } from './schema.js';
import { hasHypercareStage } from './hypercare-rules.js';

export { hasHypercareStage };

/** Every rule of the `hypercare:` block; nothing when the runbook has none. */
export function checkHypercare(c: Checking): void {
  const hypercare = c.runbook.hypercare;
  if (!hypercare) return;
  const role = (name: string, path: ProblemPath, what: string) => {
    if (c.definedRoles.has(name)) need(c, name, what);
    else c.errors.push({ path, message: undefinedRole(c, `${what} role`, name) });
  };
  const kpiIds = new Set<string>();
  hypercare.kpis.forEach((kpi, i) => {
    const path: ProblemPath = ['hypercare', 'kpis', i];
    if (kpiIds.has(kpi.id))
      c.errors.push({
        path: [...path, 'id'],
        message: `duplicate KPI id \`${kpi.id}\`: an earlier KPI already uses it; give each KPI its own id`,
      });
    kpiIds.add(kpi.id);
    if (kpi.owner !== undefined) role(kpi.owner, [...path, 'owner'], `the owner of KPI \`${kpi.id}\`,`);
    if (kpi.source.kind === 'sql') {
      const name = kpi.source.connection;
      const connection = c.runbook.connections[name];
      if (!Object.hasOwn(c.runbook.connections, name) || !connection)
        c.errors.push({
          path: [...path, 'source', 'connection'],
          message:
            `connection \`${name}\` is not defined in \`connections\`` +
            hint(name, Object.keys(c.runbook.connections), '; add it under `connections` with its driver', c.budget),
        });
      else if (connection.driver === 'csv')
        c.errors.push({
          path: [...path, 'source', 'connection'],
          message: `connection \`${name}\` is a CSV file, which cannot answer a query; name a sqlite or postgres connection, or use kind: http`,
        });
    }
  });
  const reconcileIds = new Set<string>();
  (hypercare.reconcile ?? []).forEach((rec, i) => {
    const path: ProblemPath = ['hypercare', 'reconcile', i];
    if (reconcileIds.has(rec.id))
      c.errors.push({
        path: [...path, 'id'],
        message: `duplicate reconcile id \`${rec.id}\`: give each parallel-run reconciliation its own id`,
      });
    reconcileIds.add(rec.id);
    if (rec.owner !== undefined) role(rec.owner, [...path, 'owner'], `the owner of reconciliation \`${rec.id}\`,`);
    for (const side of ['source', 'target'] as const) {
      const name = rec[side].connection;
      if (!Object.hasOwn(c.runbook.connections, name))
        c.errors.push({
          path: [...path, side, 'connection'],
          message:
            `connection \`${name}\` is not defined in \`connections\`` +
            hint(name, Object.keys(c.runbook.connections), '; add it under `connections` with its driver', c.budget),
        });
    }
  });
  const interfaces = interfaceSteps(c.runbook);
  for (const [stepId, owner] of Object.entries(hypercare.owners?.interfaces ?? {})) {
    const path: ProblemPath = ['hypercare', 'owners', 'interfaces', stepId];
    if (!interfaces.has(stepId))
      c.errors.push({
        path,
        target: 'key',
        message:
          `\`${stepId}\` is not a step of an interface_switch_on phase` +
          hint(stepId, interfaces.keys(), '; name the id of an interface_switch_on step', c.budget),
      });
    else role(owner, path, `the owner of interface \`${stepId}\` after go-live,`);
  }
  for (const [name, owner] of Object.entries(hypercare.owners?.systems ?? {})) {
    const path: ProblemPath = ['hypercare', 'owners', 'systems', name];
    if (!Object.hasOwn(c.runbook.connections, name))
      c.errors.push({
        path,
        target: 'key',
        message:
          `\`${name}\` is not a connection of the runbook` +
          hint(name, Object.keys(c.runbook.connections), '; name one under `connections`', c.budget),
      });
    else role(owner, path, `the owner of system \`${name}\` after go-live,`);
  }
  hypercare.exit?.approvers.forEach((name, k) => role(name, ['hypercare', 'exit', 'approvers', k], 'the hypercare exit approver'));
  hypercare.retirement.forEach((milestone, i) =>
    role(milestone.owner, ['hypercare', 'retirement', i, 'owner'], `the owner of retirement milestone \`${milestone.id}\`,`),
  );
  if (!hypercare.exit && (hypercare.kpis.length > 0 || hypercare.owners !== undefined))
    c.warnings.push({
      path: ['hypercare'],
      target: 'key',
      message:
        '`hypercare` has KPIs or owners but no `exit`, so the run ends after go-live and never checks them; add `exit` with its approvers',
    });
  c.warnings.push(...postGoLiveOwnerProblems(c.runbook));
}

/** The steps of interface_switch_on phases, by id, with where they are. */
function interfaceSteps(runbook: Runbook): Map<string, ProblemPath> {
  const out = new Map<string, ProblemPath>();
  runbook.phases.forEach((phase, i) => {
    if (phase.kind !== 'interface_switch_on') return;
    phase.steps.forEach((step, k) => out.set(step.id, ['phases', i, 'steps', k, 'id']));
  });
  return out;
}

/**
 * Every interface, system and KPI without an owner after go-live, when the run goes on into hypercare: `validate`
 * warns, `run --live` refuses. Empty for a runbook without a hypercare exit.
 */
export function postGoLiveOwnerProblems(runbook: Runbook): DocumentProblem[] {
  const hypercare = runbook.hypercare;
  if (!hypercare || !hasHypercareStage(runbook)) return [];
  const problems: DocumentProblem[] = [];
  const owned = hypercare.owners?.interfaces ?? {};
  for (const [stepId, path] of interfaceSteps(runbook)) {
    if (!Object.hasOwn(owned, stepId))
      problems.push({
        path,
        message: `interface \`${stepId}\` has no owner after go-live; add \`${stepId}: ROLE\` under \`hypercare.owners.interfaces\``,
      });
  }
  const systems = hypercare.owners?.systems ?? {};
  for (const name of Object.keys(runbook.connections)) {
    if (!Object.hasOwn(systems, name))
      problems.push({
        path: ['connections', name],
        target: 'key',
        message: `system \`${name}\` has no owner after go-live; add \`${name}: ROLE\` under \`hypercare.owners.systems\``,
      });
  }
  hypercare.kpis.forEach((kpi, i) => {
    if (kpi.owner === undefined)
      problems.push({
        path: ['hypercare', 'kpis', i, 'id'],
        message: `KPI \`${kpi.id}\` has no owner after go-live; add \`owner: ROLE\`, the role a stale report is an incident for`,
      });
  });
  return problems;
}
