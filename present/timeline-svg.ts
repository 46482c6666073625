/**
 * The timeline of a run as SVG: per step, the planned bar (outlined) above the actual one (filled by status), on one
 * time scale, the critical path in bold. The report draws it; the status page can too. Pure.
 */
import { formatDuration } from '../runbook/duration.js';
import type { RunReport, TimelineRow } from '../timing/report.js';
import { showMs } from './durations.js';
import { escapeHtml as e } from './html.js';

const STATUS_COLOUR: Record<string, string> = {
  succeeded: '#2e7d32',
  simulated: '#7cb342',
  failed: '#c62828',
  skipped: '#9e9e9e',
  cancelled: '#9e9e9e',
};

/** The timeline: per step, the planned bar (outlined) above the actual one (filled by status), on one time scale. */
export function timelineSvg(report: RunReport): string {
  const rows = report.timeline;
  const labelWidth = 220;
  const chartWidth = 640;
  const rowHeight = 22;
  const top = 28;
  const height = top + rows.length * rowHeight + 10;
  const scaleMs = Math.max(1, report.timelineEndMs);
  const x = (ms: number) => labelWidth + (ms / scaleMs) * chartWidth;
  const parts: string[] = [];
  // Ticks: about six, at round durations.
  const step = niceStep(scaleMs / 6);
  for (let t = 0; t <= scaleMs; t += step) {
    parts.push(
      `<line x1="${x(t).toFixed(1)}" y1="${top - 6}" x2="${x(t).toFixed(1)}" y2="${height - 6}" class="tick"/>`,
      `<text x="${x(t).toFixed(1)}" y="${top - 10}" class="axis">${e(t === 0 ? '0' : formatDuration(t))}</text>`,
    );
  }
  rows.forEach((row: TimelineRow, i) => {
    const y = top + i * rowHeight;
    const label = row.stepId.length > 30 ? `${row.stepId.slice(0, 29)}…` : row.stepId;
    // Each row is a group whose tooltip names the step in full; the label holds only its id.
    parts.push(
      `<g class="row"><title>${e(`${row.stepId}: ${row.title}`)}</title>`,
      `<text x="${labelWidth - 8}" y="${y + 14}" class="label${row.onCriticalPath ? ' critical' : ''}">${e(label)}</text>`,
    );
    if (row.plannedMs > 0 || row.plannedStartMs > 0) {
      parts.push(
        `<rect x="${x(row.plannedStartMs).toFixed(1)}" y="${y + 2}" width="${Math.max(1, x(row.plannedStartMs + row.plannedMs) - x(row.plannedStartMs)).toFixed(1)}" height="7" class="planned"><title>${e(`${row.stepId} planned ${showMs(row.plannedMs)}`)}</title></rect>`,
      );
    }
    if (row.actualStartMs !== null) {
      const width = Math.max(1.5, x(row.actualStartMs + (row.actualMs ?? 0)) - x(row.actualStartMs));
      parts.push(
        `<rect x="${x(row.actualStartMs).toFixed(1)}" y="${y + 10}" width="${width.toFixed(1)}" height="9" fill="${STATUS_COLOUR[row.status] ?? '#1565c0'}" class="actual"><title>${e(`${row.stepId} ${row.status} in ${showMs(row.actualMs)}`)}</title></rect>`,
      );
    }
    parts.push('</g>');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" aria-label="Timeline: planned and actual time of each step" viewBox="0 0 ${labelWidth + chartWidth + 20} ${height}" width="100%">${parts.join('')}</svg>`;
}

/** A round tick interval near `ms`: 1, 2 or 5 times a power of ten of seconds or minutes. */
function niceStep(ms: number): number {
  const candidates = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 21_600, 43_200, 86_400].map((s) => s * 1000);
  return candidates.find((c) => c >= ms) ?? Math.ceil(ms / 86_400_000) * 86_400_000;
}
