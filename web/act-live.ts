/**
 * The acting view, live (issue 19): `GET /act/events` sends a signed-in person the cards of what they may do now each
 * time that changes: a gate that opens, another person's vote, a step that fails and waits for the lead, a run that
 * starts or ends. It reads runs through the same {@link LiveHub} channels the run page uses (one watcher per run, however
 * many pages follow it), joining each run in flight as one more viewer, and looks for runs that started or ended every
 * `relistMs` in the record store. The page (web/people-assets.ts) adds, replaces and removes cards by key, and leaves
 * alone a card the person is typing in or signing.
 */
import type { Request, Response } from 'express';
import type { RunDetail } from '../prisma/records.js';
import type { WebPeopleStore } from '../prisma/web-people.js';
import type { RunState } from '../run/state.js';
import type { Runbook } from '../runbook/schema.js';
import { openStream, type LiveHub } from './live-hub.js';
import type { ActCard } from './people-pages.js';
import type { RunChannel } from './run-channel.js';

/** How often the stream looks for runs that started or ended (the runs it follows tell their own changes at once). */
export const RELIST_MS = 2_000;
/** How often an idle stream sends a comment, so proxies do not close it. */
const KEEP_ALIVE_MS = 15_000;

/** What the live acting view reads runs through. */
export interface ActLive {
  hub: LiveHub;
  /** The ids of the runs in flight (started, not ended), from the record store. */
  inFlight(): Promise<string[]>;
  findRun(runId: string): Promise<RunDetail | null>;
  relistMs?: number;
  /** How long a browser waits before reconnecting, ms. */
  retryMs?: number;
}

/** A run in flight as the acting view reads it. */
export interface RunForPerson {
  record: Pick<RunDetail, 'id' | 'runbookName'>;
  state: RunState;
  runbook: Runbook;
}

/** Whose stream it is. */
export interface ActViewer {
  person: string;
  /** The session's id hash: the stream ends when the session does (sign-out, revoke, expiry). */
  idHash: string;
  people: WebPeopleStore;
  runbookOf(record: RunDetail): Runbook | undefined;
  /** The person's cards in these runs (web/act.ts). */
  cardsFor(runs: readonly RunForPerson[]): ActCard[];
}

interface Watched {
  record: RunDetail;
  runbook: Runbook;
  channel: RunChannel;
  leave: () => void;
}

/** One SSE event. */
const frame = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;

/** A stream that only says, in one sentence, why it ends (the page then stops asking). */
export function endStream(res: Response, sentence: string): void {
  openStream(res, 1_000);
  res.end(frame('end', { sentence }));
}

/** Streams `who`'s cards on `res` until the browser leaves or the session ends. */
export async function streamAct(req: Request, res: Response, live: ActLive, who: ActViewer): Promise<void> {
  openStream(res, live.retryMs ?? 1_000);
  const watched = new Map<string, Watched>();
  let lastSent = '';
  let pending = false;
  let closed = false;
  let relistTimer: NodeJS.Timeout | undefined;

  const send = () => {
    pending = false;
    if (closed) return;
    const runs: RunForPerson[] = [];
    for (const w of watched.values()) if (w.channel.state) runs.push({ record: w.record, state: w.channel.state, runbook: w.runbook });
    const data = frame('cards', { cards: who.cardsFor(runs) });
    if (data === lastSent) return;
    lastSent = data;
    res.write(data);
  };
  // A channel tells every change; several at once (a snapshot per run joined) make one event.
  const soon = () => {
    if (pending || closed) return;
    pending = true;
    setImmediate(send);
  };
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(relistTimer);
    clearInterval(keepAlive);
    for (const w of watched.values()) w.leave();
    watched.clear();
    res.end();
  };

  // Runs nothing in can be for this person (no role of theirs, or a recorded runbook that does not parse): not followed.
  const passedOver = new Set<string>();
  const join = async (runId: string) => {
    const record = await live.findRun(runId);
    const runbook = record ? who.runbookOf(record) : undefined;
    if (record && !runbook) passedOver.add(runId);
    if (runbook && !Object.values(runbook.roles).some((people) => people.includes(who.person))) passedOver.add(runId);
    if (!record || !runbook || passedOver.has(runId)) return;
    const channel = live.hub.channel(runId);
    if (!channel) return;
    await channel.ready;
    if (closed || watched.has(runId)) return;
    const entry: Watched = { record, runbook, channel, leave: () => undefined };
    watched.set(runId, entry);
    entry.leave = channel.join(
      {
        write: soon,
        // The channel stopped (nobody else watched, or the run is gone): joined again at the next look if still in flight.
        end: () => {
          if (watched.get(runId) === entry) watched.delete(runId);
          soon();
        },
        zoom: '',
      },
      undefined,
    );
  };

  const relist = async () => {
    try {
      if (!(await who.people.session(who.idHash, new Date().toISOString()))) {
        res.write(frame('end', { sentence: 'Your session ended; sign in with your passkey again.' }));
        close();
        return;
      }
      const ids = new Set(await live.inFlight());
      for (const [runId, w] of watched)
        if (!ids.has(runId)) {
          w.leave();
          watched.delete(runId);
        }
      await Promise.all([...ids].filter((id) => !watched.has(id) && !passedOver.has(id)).map(join));
      soon();
    } catch (error) {
      console.error(`status page: the acting view of ${who.person}: ${(error as Error)?.message ?? String(error)}`);
    }
    if (!closed) relistTimer = setTimeout(() => void relist(), live.relistMs ?? RELIST_MS);
  };

  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  req.on('close', close);
  await relist();
}
