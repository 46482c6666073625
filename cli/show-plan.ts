/** `cutover plan`: the runbook (validated as `validate` does) as the one-page plan (present/plan-page.ts). */
import { planHtml, planMarkdown } from '../present/plan-page.js';
import { loadRunbook } from './load-runbook.js';
import type { Output } from './output.js';
import { deliverReport } from './report-file.js';

export function showPlan(file: string, format: 'html' | 'md', target: string | undefined, out: Output): number {
  const { runbook } = loadRunbook(file);
  return deliverReport(format === 'html' ? planHtml(runbook) : planMarkdown(runbook), target, out);
}
