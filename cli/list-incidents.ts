/** `cutover incident list RUN [--json]`: a run's hypercare incidents, from the run in flight or the record store. */
import { hypercareLines, hypercareView } from '../present/hypercare-view.js';
import { EXIT, RequestRefusedError } from './errors.js';
import { readRun } from './find-run.js';
import type { Output } from './output.js';

export async function listIncidents(runId: string, json: boolean, out: Output): Promise<number> {
  const found = await readRun(runId);
  const hypercare = found.state.hypercare;
  if (!hypercare)
    throw new RequestRefusedError(
      `run ${runId} has no hypercare: it is in hypercare from go-live on when its runbook's \`hypercare\` has an \`exit\``,
    );
  const now = Date.now();
  if (json) {
    out.json({ run: runId, incidents: hypercare.incidents, summary: hypercareView(hypercare, now) });
    return EXIT.ok;
  }
  if (found.note) out.warn(found.note);
  const resolved = hypercare.incidents.filter((i) => i.status === 'resolved');
  for (const line of hypercareLines(hypercareView(hypercare, now), now, { resolved }).slice(1)) out.line(line);
  return EXIT.ok;
}
