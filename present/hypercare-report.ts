/**
 * `cutover report RUN --hypercare`: what the hypercare of a run came to, as Markdown: every incident with its time to
 * resolve and whether it breached, MTTR per severity against its target, each KPI's freshness (checks, stale rounds,
 * the latest reading), the parallel run's drift per round (the rounds the run kept), and the exit decision with the votes cast on it. Pure: from the run's state.
 */
import { differing } from '../run/hypercare-drift.js';
import { mttrBySeverity } from '../run/hypercare.js';
import type { RunState } from '../run/state.js';
import { formatDuration } from '../runbook/duration.js';

/** A table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

export function hypercareReportMarkdown(state: RunState, generatedAt: string): string {
  const hc = state.hypercare!;
  const end = hc.status === 'exited' ? (hc.exit.decidedAt ?? state.endedAt) : undefined;
  const lines: string[] = [
    `# Hypercare of ${state.runId}`,
    '',
    `${state.runbookName} v${state.runbookVersion}, ${state.mode}. Hypercare began ${hc.startedAt}` +
      (end ? ` and exited ${end} (${formatDuration(Date.parse(end) - Date.parse(hc.startedAt))}).` : '; it is still open.'),
    '',
    `Generated ${generatedAt}.`,
    '',
    '## MTTR per severity',
    '',
    '| severity | resolved | open | MTTR | target | verdict | breached |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const m of mttrBySeverity(hc, { targets: hc.targetsMs ?? {}, approaching: 0.75 })) {
    const verdict = m.mttrMs === undefined || m.targetMs === undefined ? '—' : m.mttrMs <= m.targetMs ? 'within target' : 'over target';
    lines.push(
      `| sev${m.severity} | ${m.resolved} | ${m.open} | ${m.mttrMs === undefined ? '—' : formatDuration(m.mttrMs)} | ${m.targetMs === undefined ? '—' : formatDuration(m.targetMs)} | ${verdict} | ${m.breaches} |`,
    );
  }
  lines.push('', '## Incidents', '');
  if (hc.incidents.length === 0) lines.push('None.');
  else {
    lines.push('| id | sev | owner | title | opened | by | resolved | took | markers |', '|---|---|---|---|---|---|---|---|---|');
    for (const i of hc.incidents) {
      const took = i.resolvedAt ? formatDuration(Date.parse(i.resolvedAt) - Date.parse(i.openedAt)) : 'open';
      const markers = [i.approachingAt ? `approaching ${i.approachingAt}` : '', i.breachedAt ? `breached ${i.breachedAt}` : ''].filter(
        Boolean,
      );
      lines.push(
        `| ${i.id} | ${i.severity} | ${cell(i.owner)} | ${cell(i.title)}${i.external ? ` (${cell(i.external)})` : ''} | ${i.openedAt} | ${cell(i.openedBy)} | ${i.resolvedAt ?? ''}${i.resolvedBy ? ` by ${cell(i.resolvedBy)}` : ''} | ${took} | ${markers.join(', ')} |`,
      );
    }
  }
  lines.push('', '## KPI freshness', '');
  if (hc.kpis.length === 0) lines.push('No KPIs.');
  else {
    lines.push('| KPI | owner | checks | stale | last data | last check | now |', '|---|---|---|---|---|---|---|');
    for (const k of hc.kpis) {
      const now = k.fresh === undefined ? 'not checked' : k.fresh ? 'fresh' : `stale: ${cell(k.detail ?? '')}`;
      lines.push(
        `| ${k.id} | ${k.owner ?? '—'} | ${k.rounds} | ${k.staleRounds} | ${k.lastDataAt ?? '—'} | ${k.checkedAt ?? '—'} | ${now} |`,
      );
    }
  }
  if (hc.reconciles && hc.reconciles.length > 0) {
    lines.push('', '## Parallel-run drift', '');
    for (const r of hc.reconciles) {
      const kept = r.last.length < r.rounds ? ` (the last ${r.last.length} shown)` : '';
      lines.push(
        `### ${cell(r.title ?? r.id)}`,
        '',
        `Owner ${r.owner ?? '—'}; ${r.rounds} rounds, ${r.driftRounds} with drift${kept}.`,
        '',
        '| round | at | differing | missing | extra | mismatched |',
        '|---|---|---|---|---|---|',
      );
      for (const round of r.last) {
        const n = differing(round);
        lines.push(
          n === undefined
            ? `| ${round.round} | ${round.at} | could not compare: ${cell(round.error ?? '')} | | | |`
            : `| ${round.round} | ${round.at} | ${n} | ${round.missing} | ${round.extra} | ${round.mismatched} |`,
        );
      }
      lines.push('');
    }
    lines.pop();
  }
  lines.push('', '## Exit decision', '');
  const exit = hc.exit;
  lines.push(
    exit.status === 'approved'
      ? `Approved ${exit.decidedAt ?? ''} (${exit.rule}: ${exit.approvers.join(', ')}).`
      : exit.status === 'open'
        ? `Open: the criteria hold; waiting for ${exit.awaiting.join(', ') || 'an approver'}.`
        : `Not open: ${(exit.unmetCriteria ?? []).join('; ') || 'not reviewed yet'}.`,
  );
  const votes = state.decisions.filter((d) => d.target === 'hypercare-exit' && (d.kind === 'approve' || d.kind === 'reject'));
  if (votes.length > 0) {
    lines.push('');
    for (const v of votes)
      lines.push(
        `- ${v.at} ${v.by} (${v.role}) ${v.kind === 'approve' ? 'approved' : 'said not yet'}${v.reason ? `: ${cell(v.reason)}` : ''}`,
      );
  }
  return `${lines.join('\n')}\n`;
}
