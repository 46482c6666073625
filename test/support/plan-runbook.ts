/** A big runbook for plan tests: `steps` steps over seven phases and four streams, with the marks the plan draws. */
const KINDS = ['preparation', 'data_freeze', 'migration', 'migration', 'reconciliation', 'go_no_go', 'interface_switch_on', 'hypercare'];

export function bigPlanRunbook(steps: number): string {
  const phases: string[] = [];
  const perPhase = Math.ceil((steps - 2) / 6);
  let made = 0;
  const phaseIds = ['prepare', 'freeze', 'load', 'load-more', 'reconcile', 'decide', 'switch-on', 'hypercare'];
  for (let p = 0; p < phaseIds.length; p++) {
    const id = phaseIds[p]!;
    const lines: string[] = [];
    if (KINDS[p] === 'go_no_go') {
      lines.push(`      - { id: go-no-go, title: Go / no-go, owner: lead, gate: { approvers: [lead] } }`);
      made++;
    } else {
      const count = p === phaseIds.length - 1 ? Math.max(1, steps - made - 1) : Math.min(perPhase, steps - made - 1);
      for (let i = 0; i < count; i++) {
        const n = made + i + 1;
        const stream = ['Data', 'Interfaces', 'Business', 'Infrastructure'][n % 4];
        const dep = i >= 4 ? `, depends_on: [s${n - 4}]` : '';
        const extra =
          n === 10 ? ', not_before: +2h' : n === steps - 3 ? ', milestone: retirement' : n % 25 === 0 ? ', milestone: true' : '';
        lines.push(
          `      - { id: s${n}, title: "Task ${n} of the ${id} phase", owner: ${['dba', 'integration', 'business'][n % 3]}, stream: ${stream}, expected: ${5 + (n % 7) * 5}m${dep}${extra}, action: { kind: manual, instructions: do it } }`,
        );
      }
      made += count;
    }
    phases.push(`  - id: ${id}\n    kind: ${KINDS[p]}\n    steps:\n${lines.join('\n')}`);
  }
  return `name: big-plan
version: "1"
lead: lead
roles: { lead: [alice], dba: [bob], integration: [carol], business: [dana] }
window: { start: "2026-12-05T22:00:00Z", length: 12h }
change_window: { start: "2026-12-05T21:30:00Z", end: "2026-12-06T10:00:00Z" }
freeze_windows:
  - { start: "2026-12-06T03:00:00Z", end: "2026-12-06T04:00:00Z", reason: bank batch }
phases:
${phases.join('\n')}
`;
}
