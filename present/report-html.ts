/**
 * The run report as one self-contained HTML file: inline CSS, an inline SVG timeline, no script and no external
 * asset, so it reads offline, mails as an attachment and prints (a print stylesheet keeps tables and the chart whole
 * on paper). Every text from the runbook or the record store goes through {@link escapeHtml}: a step called
 * `<script>` shows as those characters.
 */
import type { RunReport } from '../timing/report.js';
import { showDelta, showMs } from './durations.js';
import { escapeHtml } from './html.js';
import { timelineSvg } from './timeline-svg.js';

const e = escapeHtml;
const pct = (x: number) => `${Math.round(x * 100)}%`;

function table(headers: string[], rows: string[][], className = ''): string {
  return `<table${className ? ` class="${className}"` : ''}><thead><tr>${headers.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 1.8rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; } th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #f5f5f5; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #666; } .bad { color: #c62828; font-weight: 600; } .good { color: #2e7d32; font-weight: 600; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5rem; } .figures div { min-width: 8rem; } .figures b { display: block; font-size: 1.2rem; }
svg.timeline text { font: 11px system-ui, sans-serif; } svg.timeline .label { text-anchor: end; } svg.timeline .critical { font-weight: 700; }
svg.timeline .axis { text-anchor: middle; fill: #666; } svg.timeline .tick { stroke: #e3e3e3; }
svg.timeline .planned { fill: none; stroke: #555; stroke-dasharray: 3 2; }
.legend span { margin-right: 1rem; } .swatch { display: inline-block; width: .9rem; height: .6rem; margin-right: .3rem; vertical-align: middle; }
@media print { body { margin: 0; max-width: none; font-size: 11px; } h2 { break-after: avoid; } table, svg, tr { break-inside: avoid; } a { color: inherit; } }
`;

/** The whole report as one HTML document. */
export function reportHtml(report: RunReport, generatedAt: string): string {
  const r = report;
  const sections: string[] = [];
  const head = `${r.runId}: ${r.mode} of ${r.runbook} v${r.runbookVersion}`;
  sections.push(`<h1>${e(head)}</h1>`);
  sections.push(
    `<p class="muted">${e(`runbook ${r.runbook} v${r.runbookVersion} (${r.versionHash}), led by ${r.startedBy}, started ${r.startedAt ?? '—'}; report made ${generatedAt}`)}</p>`,
  );

  sections.push(
    ...summaryHtml(r),
    ...timelineHtml(r),
    ...decisionsHtml(r),
    ...failuresHtml(r),
    ...reconciliationsHtml(r),
    ...backoutHtml(r),
    ...hypercareHtml(r),
    ...previousHtml(r),
    ...forecastHtml(r),
  );

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(head)}</title>
<style>${STYLE}</style>
</head>
<body>
${sections.join('\n')}
</body>
</html>
`;
}

/** The summary: status, time against the plan and the window, how many decisions and failed checks. */
function summaryHtml(r: RunReport): string[] {
  const sections: string[] = [];
  const over = r.durationMs !== null && r.plannedMs > 0 ? r.durationMs - r.plannedMs : null;
  sections.push('<h2>Summary</h2>');
  sections.push(
    `<div class="figures">${[
      ['status', `<span class="${r.status === 'completed' ? 'good' : 'bad'}">${e(r.status.replace('_', ' '))}</span>`],
      ['took', e(showMs(r.durationMs))],
      ['planned', e(showMs(r.plannedMs))],
      ['against the plan', e(over === null ? '—' : showDelta(over))],
      ...(r.window ? [['window', e(showMs(r.window.lengthMs))]] : []),
      ['decisions', String(r.decisions.length)],
      ['failed checks', String(r.failedChecks.length)],
    ]
      .map(([k, v]) => `<div><span class="muted">${e(k!)}</span><b>${v}</b></div>`)
      .join('')}</div>`,
  );
  if (r.outcome) sections.push(`<p>${e(r.outcome)}</p>`);
  return sections;
}

/** The timeline chart and the table of steps. */
function timelineHtml(r: RunReport): string[] {
  const sections: string[] = [];
  sections.push('<h2>Timeline</h2>');
  sections.push(
    `<p class="legend muted"><span><i class="swatch" style="border:1px dashed #555"></i>planned</span><span><i class="swatch" style="background:#2e7d32"></i>succeeded</span><span><i class="swatch" style="background:#c62828"></i>failed</span><span><i class="swatch" style="background:#7cb342"></i>simulated</span><span><b>bold</b>: on the critical path</span></p>`,
  );
  sections.push(timelineSvg(r));
  sections.push(
    table(
      ['step', 'phase', 'owner', 'status', 'planned', 'actual', '±'],
      r.timeline.map((row) => [
        `${e(row.stepId)}<br><span class="muted">${e(row.title)}</span>`,
        e(row.phaseId),
        e(row.owner),
        e(row.status + (row.attempts > 1 ? ` (${row.attempts} attempts)` : '')),
        e(row.plannedMs === 0 ? '—' : showMs(row.plannedMs)),
        e(showMs(row.actualMs)),
        e(showDelta(row.overMs)),
      ]),
      'steps',
    ),
  );
  return sections;
}

/** Every decision, with who, in which role, and why. */
function decisionsHtml(r: RunReport): string[] {
  const sections: string[] = [];
  sections.push('<h2>Decisions</h2>');
  sections.push(
    r.decisions.length === 0
      ? '<p class="muted">No decisions were recorded.</p>'
      : table(
          ['when', 'who', 'decided', 'on', 'why'],
          r.decisions.map((d) => [
            e(d.at),
            e(`${d.by} (${d.role})${d.automatic ? ' [automatic]' : ''}${d.signature ? ' signed' : ''}`),
            e(d.kind.replace('_', ' ')),
            e(d.target ?? ''),
            e(d.reason ?? ''),
          ]),
          'decisions',
        ),
  );
  return sections;
}

/** Failed checks and failed step attempts. */
function failuresHtml(r: RunReport): string[] {
  const sections: string[] = [];
  sections.push('<h2>Failed checks and steps</h2>');
  if (r.failedChecks.length === 0 && r.failedSteps.length === 0) sections.push('<p class="muted">No check and no step failed.</p>');
  if (r.failedChecks.length > 0) {
    sections.push(
      table(
        ['step', 'check', 'kind', 'when', 'what it found'],
        r.failedChecks.map((c) => [e(`${c.stepId} (attempt ${c.attempt})`), e(c.name), e(c.kind), e(c.at), e(c.detail)]),
        'failed-checks',
      ),
    );
  }
  if (r.failedSteps.length > 0) {
    sections.push(
      table(
        ['step', 'attempt', 'when', 'error'],
        r.failedSteps.map((s) => [
          e(s.stepId + (s.purpose === 'backout' ? ' (back-out)' : '')),
          String(s.attempt),
          e(s.at ?? ''),
          e(s.error),
        ]),
        'failed-steps',
      ),
    );
  }
  return sections;
}

/** What reconciliations found. */
function reconciliationsHtml(r: RunReport): string[] {
  const sections: string[] = [];
  if (r.reconciliations.length > 0) {
    sections.push('<h2>Reconciliation</h2>');
    sections.push(
      table(
        ['step', 'comparison', 'verdict', 'matched', 'missing in target', 'extra in target', 'mismatched'],
        r.reconciliations.map((c) => [
          e(`${c.stepId}${c.attempt > 1 ? ` (attempt ${c.attempt})` : ''}`),
          e(`${c.check === '' ? 'action' : `check "${c.check}"`}${c.round > 1 ? `, round ${c.round}` : ''}`),
          c.withinLimits
            ? '<span class="good">within limits</span>'
            : `<span class="bad">outside limits</span> ${e(c.violations.join('; '))}`,
          e(c.matched.toLocaleString('en-US')),
          e(c.missingInTarget.toLocaleString('en-US')),
          e(c.extraInTarget.toLocaleString('en-US')),
          e(c.mismatched.toLocaleString('en-US')),
        ]),
        'reconciliations',
      ),
    );
    sections.push(`<p class="muted">${e(`The differing rows: cutover reconcile-report ${r.runId} STEP`)}</p>`);
  }
  return sections;
}

/** The back-out and each step's undo. */
function backoutHtml(r: RunReport): string[] {
  const sections: string[] = [];
  sections.push('<h2>Back-out</h2>');
  if (!r.backout) sections.push('<p class="muted">The run did not back out.</p>');
  else {
    sections.push(
      `<p>${e(`Backed out (${r.backout.trigger ?? 'requested'})${r.backout.reason ? `: ${r.backout.reason}` : ''}${r.backout.requestedBy ? `, by ${r.backout.requestedBy}` : ''}; took ${showMs(r.backout.durationMs)}.`)}</p>`,
    );
    if (r.backout.undos.length > 0) {
      sections.push(
        table(
          ['step', 'back-out', 'took'],
          r.backout.undos.map((u) => [e(u.stepId), e(u.status), e(showMs(u.durationMs))]),
          'undos',
        ),
      );
    }
  }
  return sections;
}

/** Hypercare: time to resolve failures, against the target. */
function hypercareHtml(r: RunReport): string[] {
  const sections: string[] = [];
  const h = r.hypercare;
  if (h.mttrTargetMs !== null || h.resolved.length > 0) {
    sections.push('<h2>Hypercare: time to resolve</h2>');
    sections.push(
      `<p>${e(`Mean time to resolve ${h.mttrMs === null ? '— (nothing failed and was resolved)' : showMs(h.mttrMs)}${h.mttrTargetMs !== null ? ` against a target of ${showMs(h.mttrTargetMs)}` : ''}`)}${
        h.met === null ? '' : h.met ? ' <span class="good">met</span>' : ' <span class="bad">missed</span>'
      }</p>`,
    );
    if (h.resolved.length > 0) {
      sections.push(
        table(
          ['step', 'failed', 'resolved', 'by', 'how', 'took'],
          h.resolved.map((x) => [e(x.stepId), e(x.failedAt), e(x.resolvedAt), e(x.by), e(x.how), e(showMs(x.resolveMs))]),
          'resolutions',
        ),
      );
    }
  }
  return sections;
}

/** Against the previous rehearsal. */
function previousHtml(r: RunReport): string[] {
  const sections: string[] = [];
  sections.push('<h2>Against the previous rehearsal</h2>');
  const p = r.previous;
  if (!p) sections.push('<p class="muted">This is the first recorded rehearsal of this runbook.</p>');
  else {
    sections.push(
      `<p>${e(`Against ${p.a.runId} (${p.a.status}, took ${showMs(p.a.durationMs)}): ${p.totalDeltaMs === null ? 'no comparable total' : showDelta(p.totalDeltaMs)}${p.sameVersion ? '' : '; the runbook changed between them'}.`)}</p>`,
    );
    if (p.added.length > 0) sections.push(`<p>${e(`Added: ${p.added.join(', ')}`)}</p>`);
    if (p.removed.length > 0) sections.push(`<p>${e(`Removed: ${p.removed.join(', ')}`)}</p>`);
    if (p.criticalPath.joined.length + p.criticalPath.left.length > 0) {
      sections.push(
        `<p>${e(`Critical path: ${p.criticalPath.joined.length > 0 ? `joined by ${p.criticalPath.joined.join(', ')}` : ''}${p.criticalPath.joined.length > 0 && p.criticalPath.left.length > 0 ? '; ' : ''}${p.criticalPath.left.length > 0 ? `left by ${p.criticalPath.left.join(', ')}` : ''}.`)}</p>`,
      );
    }
    if (p.slower.length > 0) {
      sections.push(
        table(
          ['slower step', 'before', 'now', '±'],
          p.slower.map((s) => [e(s.stepId), e(showMs(s.aMs)), e(showMs(s.bMs)), e(showDelta(s.deltaMs))]),
          'slower',
        ),
      );
    }
  }
  return sections;
}

/** The forecast of the night as it stood after this run. */
function forecastHtml(r: RunReport): string[] {
  const sections: string[] = [];
  sections.push('<h2>Forecast of the night</h2>');
  const f = r.forecast;
  if (!f) sections.push('<p class="muted">No forecast.</p>');
  else {
    const w = f.window;
    sections.push(
      `<div class="figures">${[
        ['P50', showMs(f.p50Ms)],
        ['P90', showMs(f.p90Ms)],
        ...(w ? [['inside the window', pct(w.pInside)]] : []),
        ['back-out P90', showMs(f.backout.p90Ms)],
        ...(w ? [['latest safe go/no-go', w.latestSafeGoNoGo ?? `start + ${showMs(w.latestSafeGoNoGoMs)}`]] : []),
      ]
        .map(([k, v]) => `<div><span class="muted">${e(k!)}</span><b>${e(v!)}</b></div>`)
        .join('')}</div>`,
    );
    sections.push(
      `<p class="muted">${e(`From ${f.basis.runs} recorded runs (${f.basis.sameVersionRuns} of this version, ${f.basis.backedOutRuns} backed out), ${f.simulations.toLocaleString('en-US')} simulated nights, seed ${f.seed}; back-out ${f.backout.source === 'measured' ? 'measured' : 'as planned'}. Most likely critical path (${pct(f.criticalPath.probability)} of nights): ${f.criticalPath.steps.join(' → ')}.`)}</p>`,
    );
    if (f.riskContributors.length > 0) {
      sections.push(
        table(
          ['risk', 'adds on late nights', 'critical', 'P50', 'P90', 'planned'],
          f.riskContributors.map((s) => [
            e(s.stepId),
            e(`+${showMs(s.tailMs)}`),
            e(pct(s.criticality)),
            e(showMs(s.p50Ms)),
            e(showMs(s.p90Ms)),
            e(showMs(s.plannedMs)),
          ]),
          'risks',
        ),
      );
    }
    if (f.outliers.length > 0) {
      sections.push(
        `<p>${e(`Outliers down-weighted: ${f.outliers.map((o) => `${o.stepId} in ${o.runId} (${showMs(o.durationMs)} against ${showMs(o.typicalMs)})`).join('; ')}`)}</p>`,
      );
    }
    if (f.neverRehearsed.length > 0)
      sections.push(`<p>${e(`Never measured (taken at their plan): ${f.neverRehearsed.map((s) => s.stepId).join(', ')}`)}</p>`);
  }
  return sections;
}
