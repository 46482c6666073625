/**
 * `cutover list [--runbook NAME] [--limit N] [--json]`: the runs the record store holds, newest first.
 */
import { formatDuration } from '../runbook/duration.js';
import { EXIT } from './errors.js';
import type { Output } from './output.js';
import { readSettings } from './settings.js';
import { openRecordStore } from '../prisma/store.js';

/** `cutover list [--runbook NAME] [--limit N] [--json]` */
export async function listRuns(options: { runbook?: string; limit?: number; json: boolean }, out: Output): Promise<number> {
  const settings = readSettings();
  const store = await openRecordStore(settings);
  try {
    const runs = await store.listRuns({
      ...(options.runbook ? { runbookName: options.runbook } : {}),
      ...(options.limit ? { limit: options.limit } : {}),
    });
    if (options.json) {
      out.json(runs);
      return EXIT.ok;
    }
    if (runs.length === 0) {
      out.line(`no runs recorded yet in ${settings.databaseDisplay}; start one with \`cutover rehearse FILE\``);
      return EXIT.ok;
    }
    out.line(`${'RUN'.padEnd(28)} ${'MODE'.padEnd(10)} ${'STATUS'.padEnd(12)} ${'STARTED'.padEnd(20)} ${'TOOK'.padStart(8)}  OUTCOME`);
    for (const run of runs) {
      const took = run.startedAt && run.endedAt ? formatDuration(Date.parse(run.endedAt) - Date.parse(run.startedAt)) : '';
      out.line(
        `${run.id.padEnd(28)} ${run.mode.padEnd(10)} ${run.status.padEnd(12)} ${(run.startedAt ?? run.createdAt).slice(0, 19).replace('T', ' ').padEnd(20)} ${took.padStart(8)}  ${run.outcome ?? ''}`.trimEnd(),
      );
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
