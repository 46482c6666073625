/**
 * `cutover events RUN [--follow] [--json]`: the events a run told people of, in order, each with where its messages got
 * to (sent, retrying with the reason, gave up with the reason). Read from the record store, where the run's notifier
 * writes them, so it works for a run in flight and for one that ended long ago. `--follow` prints what comes next until
 * the run has ended and every message has its answer.
 */
import { allSettled, eventLines, eventViews, type EventView } from '../present/delivery-view.js';
import { openRecordStore } from '../prisma/store.js';
import type { RecordStore } from '../prisma/record-store.js';
import { parseRunbook } from '../runbook/parse.js';
import { EXIT, UnknownRunError } from './errors.js';
import type { Output } from './output.js';
import { readSettings } from './settings.js';

/** How often `--follow` reads the store again. */
const FOLLOW_EVERY_MS = 1000;

async function viewsOf(store: RecordStore, runId: string): Promise<EventView[]> {
  const [events, deliveries] = await Promise.all([store.events(runId), store.deliveries({ runId })]);
  return eventViews(events, deliveries);
}

/** `cutover events RUN [--follow] [--json]` */
export async function showEvents(runId: string, options: { json: boolean; follow: boolean }, out: Output): Promise<number> {
  const store = await openRecordStore(readSettings());
  try {
    const run = await store.findRun(runId);
    if (!run) throw new UnknownRunError(runId);
    const parsed = parseRunbook(run.runbookSource, `${runId} (recorded runbook)`);
    if (parsed.ok && !parsed.runbook.notifications) {
      out.warn(`run ${runId}: its runbook has no \`notifications:\`, so it tells nobody (docs/notifications.md shows how)`);
      if (options.json) out.json({ runId, events: [] });
      return EXIT.ok;
    }
    if (!options.follow) {
      const views = await viewsOf(store, runId);
      if (options.json) out.json({ runId, events: views });
      else if (views.length === 0) out.line(`run ${runId} has told no event yet`);
      else for (const line of eventLines(views)) out.line(line);
      return EXIT.ok;
    }
    return await follow(store, runId, options.json, out);
  } finally {
    await store.close();
  }
}

/**
 * Prints each event once it is recorded, and each message's line once it has its answer; as JSON, one object per line
 * (an event with its deliveries, printed when they are all answered). Ends when the run has told that it ended and
 * every message is answered.
 */
async function follow(store: RecordStore, runId: string, json: boolean, out: Output): Promise<number> {
  const printed = new Map<number, string>();
  for (;;) {
    const views = await viewsOf(store, runId);
    for (const view of views) {
      const settled = allSettled([view]);
      const text = json ? (settled ? JSON.stringify(view) : '') : eventLines([view]).join('\n');
      if (text === '' || printed.get(view.seq) === text) continue;
      const before = printed.get(view.seq)?.split('\n') ?? [];
      // Lines already printed for this event are not printed again: only the new answers follow.
      if (json) out.line(text);
      else for (const line of text.split('\n').filter((l) => !before.includes(l))) out.line(line);
      printed.set(view.seq, text);
    }
    if (views.some((v) => v.kind === 'run_ended') && allSettled(views)) return EXIT.ok;
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
  }
}
