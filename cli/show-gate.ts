/**
 * `cutover gate RUN GATE [--json]`: what an approver looks at before voting. The question, its
 * state, who it still needs, its deadline, and the evidence the run assembled for it (checks,
 * reconciliations, failed, skipped and simulated steps, time against the plan) with the digest a
 * vote names: `cutover approve` sends the digest it shows, and the run refuses a vote on evidence
 * that has changed since.
 */
import { formatDuration } from '../runbook/duration.js';
import { summarizeEvidence } from '../run/evidence.js';
import { unmetRequirements } from '../run/transitions.js';
import { EXIT, UsageError } from './errors.js';
import type { Output } from './output.js';
import { readRun } from './find-run.js';

/** `cutover gate RUN GATE [--json]` */
export async function showGate(runId: string, gateId: string, json: boolean, out: Output): Promise<number> {
  const { state, note } = await readRun(runId);
  const step = state.steps[gateId];
  if (!step?.gate) {
    const gates = state.order.filter((id) => state.steps[id]?.gate);
    throw new UsageError(`run ${runId} has no gate ${gateId}; its gates are ${gates.join(', ') || 'none'}`);
  }
  const gate = step.gate;
  if (json) {
    out.json({ run: runId, gate: gateId, ...gate, needs: [...gate.awaiting, ...unmetRequirements(gate)], ...(note ? { note } : {}) });
    return EXIT.ok;
  }
  // Shown from the record store while Temporal is away: the run writes its snapshot as a gate opens and closes (runs from
  // before patch gate-snapshots only at their start and back-out), but votes since come from the decisions recorded.
  if (note) out.warn(`${note}; the gate may have opened or closed since`);
  const since = gate.openedAt ? ` since ${gate.openedAt}` : '';
  const left = gate.closesAt ? Date.parse(gate.closesAt) - Date.now() : undefined;
  out.line(
    `gate ${gateId} of ${runId}: ${gate.status.toUpperCase()}${since}` +
      (gate.closesAt && gate.status === 'open'
        ? `; closes ${gate.closesAt}${left! > 0 ? ` (in ${formatDuration(left!)})` : ''}, then ${gate.onDeadline ?? 'no-go'}`
        : ''),
  );
  if (gate.question) out.line(`question: ${gate.question}`);
  const noReturn = gate.pointOfNoReturn;
  if (noReturn && gate.status === 'open') {
    const passed = Date.parse(noReturn.at) <= Date.now();
    out.line(
      `point of no return: ${noReturn.at}${passed ? ' — PASSED: a go now leaves no room to back out inside the window' : ''} (window ends ${noReturn.windowEnd}; back-out ${noReturn.backoutSource === 'measured' ? 'P90 measured in rehearsals' : 'planned'} ${formatDuration(noReturn.backoutMs)})`,
    );
  }
  const needs = [...gate.awaiting, ...unmetRequirements(gate)];
  if (gate.status === 'open') out.line(`needs: ${needs.join(', ') || 'a vote'}`);
  if (gate.status === 'open' && gate.unmetCriteria?.length)
    out.line(`takes no approvals until its criteria are met: ${gate.unmetCriteria.join('; ')}`);
  for (const vote of gate.votes) out.line(`  ${vote.by} (${vote.role}) ${vote.decision}d${vote.reason ? `: "${vote.reason}"` : ''}`);
  const e = gate.evidence;
  if (!e) {
    out.line(
      gate.status === 'pending' ? 'evidence: assembled when the gate opens' : 'evidence: none assembled (a run from before evidence)',
    );
    return EXIT.ok;
  }
  out.line(`evidence ${e.digest.slice(0, 12)} (assembled ${e.at}): ${summarizeEvidence(e, formatDuration)}`);
  for (const c of e.checks) out.line(`  ${c.passed ? '✔' : '✖'} ${c.step} / ${c.name}: ${c.detail}`);
  for (const r of e.reconciliations) {
    out.line(
      `  ${r.within_limits ? '✔' : '✖'} ${r.step}${r.check ? ` / ${r.check}` : ''}: ${r.matched} matched, ${r.mismatched} differ, ${r.missing_in_target} missing, ${r.extra_in_target} extra${r.sampled ? ' (sample)' : ''}`,
    );
  }
  if (gate.status === 'open') {
    out.line(`vote on it: cutover approve ${runId} ${gateId} --as <you> --evidence ${e.digest}`);
  }
  return EXIT.ok;
}
