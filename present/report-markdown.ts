/**
 * The run report as Markdown, for a wiki page or a ticket. Names from the runbook are escaped so they show as
 * written: HTML special characters as entities (Markdown renderers pass raw HTML through), and the characters that
 * would break a table or start formatting with a backslash.
 */
import type { RunReport } from '../timing/report.js';
import { showDelta, showMs } from './durations.js';

/** Text as Markdown shows it literally, in a paragraph or a table cell. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!)
    .replace(/([\\`*_[\]|#])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

const m = escapeMarkdown;
const pct = (x: number) => `${Math.round(x * 100)}%`;

function table(headers: string[], rows: string[][]): string[] {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

/** A text timeline: one bar per step, planned (`░`) and actual (`█`), on a 40-character scale. */
function textTimeline(report: RunReport): string[] {
  const width = 40;
  const scale = Math.max(1, report.timelineEndMs);
  const at = (ms: number) => Math.round((ms / scale) * width);
  const idWidth = Math.min(30, Math.max(4, ...report.timeline.map((r) => r.stepId.length)));
  const lines: string[] = [];
  for (const row of report.timeline) {
    const planned =
      ' '.repeat(at(row.plannedStartMs)) +
      '░'.repeat(Math.max(row.plannedMs > 0 ? 1 : 0, at(row.plannedStartMs + row.plannedMs) - at(row.plannedStartMs)));
    const actual =
      row.actualStartMs === null
        ? ''
        : ' '.repeat(at(row.actualStartMs)) + '█'.repeat(Math.max(1, at(row.actualStartMs + (row.actualMs ?? 0)) - at(row.actualStartMs)));
    const id = row.stepId.length > idWidth ? `${row.stepId.slice(0, idWidth - 1)}…` : row.stepId.padEnd(idWidth);
    lines.push(`${id} plan ${planned}`, `${' '.repeat(idWidth)} real ${actual}`);
  }
  // In a code block: nothing in it is read as Markdown or HTML, so the step ids need no escaping here.
  return ['```text', ...lines, '```'];
}

/** The whole report as Markdown. */
export function reportMarkdown(report: RunReport, generatedAt: string): string {
  const r = report;
  const out: string[] = [];
  out.push(`# ${m(`${r.runId}: ${r.mode} of ${r.runbook} v${r.runbookVersion}`)}`, '');
  out.push(
    m(
      `runbook ${r.runbook} v${r.runbookVersion} (${r.versionHash}), led by ${r.startedBy}, started ${r.startedAt ?? '—'}; report made ${generatedAt}`,
    ),
    '',
  );
  for (const section of [
    summaryMarkdown,
    timelineMarkdown,
    decisionsMarkdown,
    failuresMarkdown,
    reconciliationsMarkdown,
    backoutMarkdown,
    hypercareMarkdown,
    previousMarkdown,
    forecastMarkdown,
  ])
    out.push(...section(r));
  return `${out.join('\n')}\n`;
}

/** The summary: status, time against the plan and the window. */
function summaryMarkdown(r: RunReport): string[] {
  const out: string[] = [];
  out.push('## Summary', '');
  const over = r.durationMs !== null && r.plannedMs > 0 ? r.durationMs - r.plannedMs : null;
  out.push(`- status: **${m(r.status.replace('_', ' '))}**${r.outcome ? ` — ${m(r.outcome)}` : ''}`);
  out.push(`- took ${showMs(r.durationMs)} against ${showMs(r.plannedMs)} planned${over === null ? '' : ` (${showDelta(over)})`}`);
  if (r.window) out.push(`- window ${showMs(r.window.lengthMs)}`);
  out.push(`- ${r.decisions.length} decisions, ${r.failedChecks.length} failed checks, ${r.failedSteps.length} failed attempts`, '');
  return out;
}

/** The timeline as text and the table of steps. */
function timelineMarkdown(r: RunReport): string[] {
  const out: string[] = [];
  out.push('## Timeline', '', ...textTimeline(r), '');
  out.push(
    ...table(
      ['step', 'phase', 'owner', 'status', 'planned', 'actual', '±'],
      r.timeline.map((row) => [
        `${row.onCriticalPath ? '**' : ''}${m(row.stepId)}${row.onCriticalPath ? '**' : ''}`,
        m(row.phaseId),
        m(row.owner),
        m(row.status + (row.attempts > 1 ? ` (${row.attempts} attempts)` : '')),
        row.plannedMs === 0 ? '—' : showMs(row.plannedMs),
        showMs(row.actualMs),
        showDelta(row.overMs),
      ]),
    ),
    '',
    'Bold: on the critical path.',
    '',
  );
  return out;
}

/** Every decision, with who, in which role, and why. */
function decisionsMarkdown(r: RunReport): string[] {
  const out: string[] = [];
  out.push('## Decisions', '');
  if (r.decisions.length === 0) out.push('No decisions were recorded.', '');
  else {
    out.push(
      ...table(
        ['when', 'who', 'decided', 'on', 'why'],
        r.decisions.map((d) => [
          m(d.at),
          m(`${d.by} (${d.role})${d.automatic ? ' [automatic]' : ''}${d.signature ? ' signed' : ''}`),
          m(d.kind.replace('_', ' ')),
          m(d.target ?? ''),
          m(d.reason ?? ''),
        ]),
      ),
      '',
    );
  }
  return out;
}

/** Failed checks and failed step attempts. */
function failuresMarkdown(r: RunReport): string[] {
  const out: string[] = [];
  out.push('## Failed checks and steps', '');
  if (r.failedChecks.length === 0 && r.failedSteps.length === 0) out.push('No check and no step failed.', '');
  if (r.failedChecks.length > 0) {
    out.push(
      ...table(
        ['step', 'check', 'kind', 'when', 'what it found'],
        r.failedChecks.map((c) => [m(`${c.stepId} (attempt ${c.attempt})`), m(c.name), m(c.kind), m(c.at), m(c.detail)]),
      ),
      '',
    );
  }
  if (r.failedSteps.length > 0) {
    out.push(
      ...table(
        ['step', 'attempt', 'when', 'error'],
        r.failedSteps.map((s) => [
          m(s.stepId + (s.purpose === 'backout' ? ' (back-out)' : '')),
          String(s.attempt),
          m(s.at ?? ''),
          m(s.error),
        ]),
      ),
      '',
    );
  }
  return out;
}

/** What reconciliations found. */
function reconciliationsMarkdown(r: RunReport): string[] {
  const out: string[] = [];
  if (r.reconciliations.length > 0) {
    out.push('## Reconciliation', '');
    out.push(
      ...table(
        ['step', 'comparison', 'verdict', 'matched', 'missing in target', 'extra in target', 'mismatched'],
        r.reconciliations.map((c) => [
          m(`${c.stepId}${c.attempt > 1 ? ` (attempt ${c.attempt})` : ''}`),
          m(`${c.check === '' ? 'action' : `check "${c.check}"`}${c.round > 1 ? `, round ${c.round}` : ''}`),
          c.withinLimits ? 'within limits' : `**outside limits** ${m(c.violations.join('; '))}`,
          c.matched.toLocaleString('en-US'),
          c.missingInTarget.toLocaleString('en-US'),
          c.extraInTarget.toLocaleString('en-US'),
          c.mismatched.toLocaleString('en-US'),
        ]),
      ),
      '',
      m(`The differing rows: cutover reconcile-report ${r.runId} STEP`),
      '',
    );
  }
  return out;
}

/** The back-out and each step's undo. */
function backoutMarkdown(r: RunReport): string[] {
  const out: string[] = [];
  out.push('## Back-out', '');
  if (!r.backout) out.push('The run did not back out.', '');
  else {
    out.push(
      m(
        `Backed out (${r.backout.trigger ?? 'requested'})${r.backout.reason ? `: ${r.backout.reason}` : ''}${r.backout.requestedBy ? `, by ${r.backout.requestedBy}` : ''}; took ${showMs(r.backout.durationMs)}.`,
      ),
      '',
    );
    if (r.backout.undos.length > 0) {
      out.push(
        ...table(
          ['step', 'back-out', 'took'],
          r.backout.undos.map((u) => [m(u.stepId), m(u.status), showMs(u.durationMs)]),
        ),
        '',
      );
    }
  }
  return out;
}

/** Hypercare: time to resolve failures, against the target. */
function hypercareMarkdown(r: RunReport): string[] {
  const out: string[] = [];
  const h = r.hypercare;
  if (h.mttrTargetMs !== null || h.resolved.length > 0) {
    out.push('## Hypercare: time to resolve', '');
    out.push(
      `Mean time to resolve ${h.mttrMs === null ? '— (nothing failed and was resolved)' : showMs(h.mttrMs)}${h.mttrTargetMs !== null ? ` against a target of ${showMs(h.mttrTargetMs)}` : ''}${h.met === null ? '' : h.met ? ': **met**' : ': **missed**'}`,
      '',
    );
    if (h.resolved.length > 0) {
      out.push(
        ...table(
          ['step', 'failed', 'resolved', 'by', 'how', 'took'],
          h.resolved.map((x) => [m(x.stepId), m(x.failedAt), m(x.resolvedAt), m(x.by), m(x.how), showMs(x.resolveMs)]),
        ),
        '',
      );
    }
  }
  return out;
}

/** Against the previous rehearsal. */
function previousMarkdown(r: RunReport): string[] {
  const out: string[] = [];
  out.push('## Against the previous rehearsal', '');
  const p = r.previous;
  if (!p) out.push('This is the first recorded rehearsal of this runbook.', '');
  else {
    out.push(
      m(
        `Against ${p.a.runId} (${p.a.status}, took ${showMs(p.a.durationMs)}): ${p.totalDeltaMs === null ? 'no comparable total' : showDelta(p.totalDeltaMs)}${p.sameVersion ? '' : '; the runbook changed between them'}.`,
      ),
      '',
    );
    if (p.added.length > 0) out.push(`- added: ${m(p.added.join(', '))}`);
    if (p.removed.length > 0) out.push(`- removed: ${m(p.removed.join(', '))}`);
    if (p.criticalPath.joined.length > 0) out.push(`- joined the critical path: ${m(p.criticalPath.joined.join(', '))}`);
    if (p.criticalPath.left.length > 0) out.push(`- left the critical path: ${m(p.criticalPath.left.join(', '))}`);
    if (p.slower.length > 0) {
      out.push(
        '',
        ...table(
          ['slower step', 'before', 'now', '±'],
          p.slower.map((s) => [m(s.stepId), showMs(s.aMs), showMs(s.bMs), showDelta(s.deltaMs)]),
        ),
      );
    }
    out.push('');
  }
  return out;
}

/** The forecast of the night as it stood after this run. */
function forecastMarkdown(r: RunReport): string[] {
  const out: string[] = [];
  out.push('## Forecast of the night', '');
  const f = r.forecast;
  if (!f) out.push('No forecast.', '');
  else {
    const w = f.window;
    out.push(
      `- P50 **${showMs(f.p50Ms)}**, P90 **${showMs(f.p90Ms)}**${w ? `; ${pct(w.pInside)} of nights end inside the ${showMs(w.lengthMs)} window` : ''}`,
    );
    out.push(
      `- back-out P90 ${showMs(f.backout.p90Ms)} (${f.backout.source === 'measured' ? `measured in ${f.backout.runs} runs` : 'as planned'})`,
    );
    if (w) out.push(`- latest safe go/no-go: ${m(w.latestSafeGoNoGo ?? `window start + ${showMs(w.latestSafeGoNoGoMs)}`)}`);
    out.push(`- most likely critical path (${pct(f.criticalPath.probability)} of nights): ${m(f.criticalPath.steps.join(' → '))}`);
    out.push(
      `- from ${f.basis.runs} recorded runs (${f.basis.sameVersionRuns} of this version, ${f.basis.backedOutRuns} backed out), ${f.simulations.toLocaleString('en-US')} simulated nights, seed ${f.seed}`,
    );
    if (f.riskContributors.length > 0) {
      out.push(
        '',
        ...table(
          ['risk', 'adds on late nights', 'critical', 'P50', 'P90', 'planned'],
          f.riskContributors.map((s) => [
            m(s.stepId),
            `+${showMs(s.tailMs)}`,
            pct(s.criticality),
            showMs(s.p50Ms),
            showMs(s.p90Ms),
            showMs(s.plannedMs),
          ]),
        ),
      );
    }
    if (f.outliers.length > 0) {
      out.push(
        '',
        `Outliers down-weighted: ${m(f.outliers.map((o) => `${o.stepId} in ${o.runId} (${showMs(o.durationMs)} against ${showMs(o.typicalMs)})`).join('; '))}`,
      );
    }
    if (f.neverRehearsed.length > 0)
      out.push('', `Never measured (taken at their plan): ${m(f.neverRehearsed.map((s) => s.stepId).join(', '))}`);
    out.push('');
  }
  return out;
}
