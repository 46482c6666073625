/** `cutover report RUN --hypercare [--out FILE]`: the hypercare of a run, from the record store or the run in flight. */
import { hypercareReportMarkdown } from '../present/hypercare-report.js';
import { RequestRefusedError, UsageError } from './errors.js';
import { readRun } from './find-run.js';
import type { Output } from './output.js';
import { deliverReport } from './report-file.js';

export async function writeHypercareReport(runId: string, options: { format: 'md' | 'html'; out?: string }, out: Output): Promise<number> {
  if (options.format !== 'md') throw new UsageError('--hypercare writes Markdown only; leave out --format html');
  const found = await readRun(runId);
  if (!found.state.hypercare)
    throw new RequestRefusedError(
      `run ${runId} had no hypercare: a run has one from go-live on when its runbook's \`hypercare\` has an \`exit\``,
    );
  if (found.note) out.warn(found.note);
  return deliverReport(hypercareReportMarkdown(found.state, new Date().toISOString()), options.out, out);
}
