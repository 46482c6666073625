/**
 * The live page's watchers: at most one {@link RunChannel} per run in flight, made when the first page asks and
 * stopped when nobody has watched for a while, and the Server-Sent Events route that joins a page to it.
 */
import type { Request, Response } from 'express';
import type { RunQueries } from '../common/run-follower.js';
import type { RunDetail } from '../prisma/records.js';
import { driftContext } from '../present/hypercare-view.js';
import { runbookTexts, type RunContext } from '../present/run-view.js';
import { parseRunbook } from '../runbook/parse.js';
import type { LiveModel } from '../timing/live-forecast.js';
import { parseEventId, RunChannel } from './run-channel.js';
import { runSections } from './run-sections.js';

/** What the live page needs beyond the status page's own dependencies. */
export interface LiveDeps {
  /** The run's summary and step-page queries through Temporal; absent when the page has no Temporal. */
  follow?: (runId: string) => RunQueries;
  /** The live re-forecast's model of a run from its record (timing/live-model-source.ts); none: no forecast shown. */
  forecastModel?: (record: RunDetail) => Promise<LiveModel | undefined>;
  /** How often a watched run is read (default `POLL_MS`). */
  pollMs?: number;
  /** How long a browser waits before reconnecting (the stream's `retry`), ms. */
  retryMs?: number;
}

/** Roles, the lead and the runbook's words, from the runbook the run was started with; none when it does not parse. */
export function runContextOf(record: Pick<RunDetail, 'id' | 'runbookSource'> | null): RunContext | undefined {
  if (!record) return undefined;
  const parsed = parseRunbook(record.runbookSource, `${record.id} (recorded runbook)`);
  if (!parsed.ok) return undefined;
  const { runbook } = parsed;
  return {
    roles: runbook.roles,
    lead: runbook.lead,
    ...driftContext(runbook),
    texts: runbookTexts(runbook),
    ...(runbook.rota ? { rota: { shifts: runbook.rota, ...(runbook.window?.start ? { windowStart: runbook.window.start } : {}) } } : {}),
  };
}

/** The channels of the runs being watched. */
export class LiveHub {
  readonly #deps: LiveDeps;
  readonly #findRun: (runId: string) => Promise<RunDetail | null>;
  readonly #channels = new Map<string, RunChannel>();

  constructor(deps: LiveDeps, findRun: (runId: string) => Promise<RunDetail | null>) {
    this.#deps = deps;
    this.#findRun = findRun;
  }

  /** How many runs are watched now. */
  get size(): number {
    return this.#channels.size;
  }

  /** The channel of a run if one watches it now; none is made. */
  held(runId: string): RunChannel | undefined {
    return this.#channels.get(runId);
  }

  /** The channel of a run, made on first need; undefined when the page has no Temporal. */
  channel(runId: string): RunChannel | undefined {
    const held = this.#channels.get(runId);
    if (held) return held;
    if (!this.#deps.follow) return undefined;
    const record = this.#findRun(runId).catch(() => null);
    const model = this.#deps.forecastModel;
    const channel: RunChannel = new RunChannel(runId, {
      queries: this.#deps.follow(runId),
      context: async () => runContextOf(await record),
      ...(model ? { forecastModel: async () => ((await record) ? model((await record)!) : undefined) } : {}),
      ...(this.#deps.pollMs !== undefined ? { pollMs: this.#deps.pollMs } : {}),
      onStop: () => {
        if (this.#channels.get(runId) === channel) this.#channels.delete(runId);
      },
    });
    this.#channels.set(runId, channel);
    return channel;
  }

  /** Stops every channel (the server is closing). */
  close(): void {
    for (const channel of [...this.#channels.values()]) channel.stop();
  }
}

/** How often an idle stream sends a comment, so proxies do not close it. */
const KEEP_ALIVE_MS = 15_000;

/** Starts an event stream on `res` (the run page's and the acting view's). */
export function openStream(res: Response, retryMs: number): void {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    // A buffering proxy (nginx) would hold the events back.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.write(`retry: ${retryMs}\n\n`);
}

/**
 * `GET /runs/:id/events[?phase=P]`: the run page's parts as they change. A run with no live channel (ended, or no
 * Temporal) gets one snapshot from `fallback` and an `end` event, so the page says it will not change.
 *
 * @throws BadEventIdError when `Last-Event-ID` is not one this page gave out
 */
export async function streamRun(
  req: Request<{ id: string }>,
  res: Response,
  hub: LiveHub,
  options: { retryMs?: number; ended: boolean; fallback: () => Promise<{ state: RunDetail['state']; context?: RunContext }> },
): Promise<void> {
  const runId = req.params.id;
  const since = parseEventId(req.get('Last-Event-ID'));
  const zoom = typeof req.query.phase === 'string' ? req.query.phase : '';
  const channel = options.ended ? undefined : hub.channel(runId);
  if (channel) await channel.ready;
  const retryMs = options.retryMs ?? 1_000;
  if (!channel?.state) {
    const { state, context } = await options.fallback();
    openStream(res, retryMs);
    if (state) {
      const sections = runSections({ state, now: Date.now(), ...(context ? { context } : {}), ...(zoom ? { phase: zoom } : {}) });
      res.write(`event: snapshot\ndata: ${JSON.stringify({ sections })}\n\n`);
    }
    const sentence =
      channel?.problem ??
      (options.ended ? 'The run has ended; this is its final state.' : 'Live updates are not available; reload for the latest.');
    res.write(`event: end\ndata: ${JSON.stringify({ sentence })}\n\n`);
    res.end();
    return;
  }
  openStream(res, retryMs);
  const leave = channel.join({ write: (chunk) => res.write(chunk), end: () => res.end(), zoom }, since);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  req.on('close', () => {
    clearInterval(keepAlive);
    leave();
  });
}
