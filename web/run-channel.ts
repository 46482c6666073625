/**
 * One watcher per run in flight, shared by every open page of it: the live page's Server-Sent Events fan-out.
 *
 * A {@link RunChannel} follows its run through {@link RunFollower} (the summary each time, pages only when the
 * revision moved) every `pollMs` while anyone watches, renders the page's changing parts (web/run-sections.ts), and
 * sends each viewer only the parts that changed, as one numbered event. So the Temporal queries a run costs do not
 * grow with its viewers: 1 viewer or 300 read the run the same number of times. Between changes the parts are drawn
 * again every {@link AGE_EVERY_MS} (the now-line moves, the forecast ages) without asking Temporal anything.
 *
 * Resumable: the channel keeps its last {@link KEPT_EVENTS} events, and a browser that lost its connection comes back
 * with `Last-Event-ID` and gets exactly the events it missed (a whole snapshot when they are gone, or the channel is a
 * new one). Event ids are `EPOCH-SEQ`: the epoch names the channel, so an id from a channel that ended (the page
 * restarted, or nobody watched for a while) is never mistaken for one of this channel's.
 */
import { RunFollower, type RunQueries } from '../common/run-follower.js';
import type { RunContext } from '../present/run-view.js';
import type { RunState } from '../run/state.js';
import { liveForecast, type LiveForecast, type LiveModel } from '../timing/live-forecast.js';
import { runSections } from './run-sections.js';

/** How often a watched run is asked whether it changed: well inside the second a change may take to reach a page. */
export const POLL_MS = 250;
/** How often the parts are drawn again with no change: the now-line and the forecast move with the clock. */
export const AGE_EVERY_MS = 5_000;
/** Events kept for viewers that come back. */
export const KEPT_EVENTS = 500;
/** How long a channel nobody watches goes on (a reload, a dropped connection) before it stops. */
export const LINGER_MS = 30_000;

/** One open page: where its events go, and the phase its timeline is zoomed to (`''` for the whole run). */
export interface Viewer {
  write(chunk: string): void;
  /** Ends its stream (the channel stopped). */
  end(): void;
  zoom: string;
}

/** Thrown when an event id from a browser is not one this page gives out. */
export class BadEventIdError extends Error {
  constructor(value: string) {
    super(`the Last-Event-ID \`${value.slice(0, 40)}\` is not one this page gave out (they look like \`k3x9-12\`); reload the page`);
    this.name = 'BadEventIdError';
  }
}

/** `EPOCH-SEQ`, or undefined when there was none. */
export function parseEventId(value: string | undefined): { epoch: string; seq: number } | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^([a-z0-9]{1,16})-(\d{1,12})$/.exec(value);
  if (!m) throw new BadEventIdError(value);
  return { epoch: m[1]!, seq: Number(m[2]) };
}

interface LiveEvent {
  seq: number;
  /** Section key → its HTML; a zoomed timeline's key is `timeline@PHASE`. */
  sections: Record<string, string>;
}

/** What a channel is made from. */
export interface ChannelOptions {
  queries: RunQueries;
  /** Roles, the lead, phase titles: from the runbook the run was started with, when the store has it. */
  context?: () => Promise<RunContext | undefined>;
  /** The live re-forecast's model, fitted once per channel. */
  forecastModel?: () => Promise<LiveModel | undefined>;
  pollMs?: number;
  now?: () => number;
  /** Called once when the channel stops (nobody watched for `LINGER_MS`, or the run is gone). */
  onStop?: () => void;
}

let epochs = 0;
const EPOCH_BASE = Date.now().toString(36).slice(-5);

/** The one watcher of a run, and its viewers. */
export class RunChannel {
  readonly runId: string;
  readonly epoch = `${EPOCH_BASE}${(epochs++).toString(36)}`;
  readonly #follower: RunFollower;
  readonly #options: ChannelOptions;
  readonly #viewers = new Set<Viewer>();
  readonly #events: LiveEvent[] = [];
  /** The parts as last sent, by key. */
  readonly #sections = new Map<string, string>();
  #seq = 0;
  #context: RunContext | undefined;
  #model: LiveModel | undefined;
  #renderedAt = 0;
  #readAt = 0;
  #forecast: LiveForecast | undefined;
  /** The read under way: reads never overlap (the follower keeps one state). */
  #reading: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #linger: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Why the last read failed (Temporal down), shown to viewers; cleared by the next good read. */
  #problem: string | undefined;
  /** Resolves after the first read, good or not. */
  readonly ready: Promise<void>;

  constructor(runId: string, options: ChannelOptions) {
    this.runId = runId;
    this.#options = options;
    this.#follower = new RunFollower(options.queries);
    this.ready = this.#start();
  }

  /** The run as last read, if any read succeeded. */
  get state(): RunState | undefined {
    return this.#follower.state;
  }

  /** The live re-forecast as last made, while the run is in flight and has a model. */
  get forecast(): LiveForecast | undefined {
    return this.#forecast;
  }

  /** Context the channel drew with (roles, lead, phase titles). */
  get context(): RunContext | undefined {
    return this.#context;
  }

  /**
   * The run's state, read again first when nobody watches and the last read is older than a poll (the wallboard asks
   * this way); keeps the channel from stopping for another `LINGER_MS`.
   */
  async current(): Promise<RunState | undefined> {
    await this.ready;
    if (this.#stopped) return this.state;
    if (this.#viewers.size === 0) {
      const now = (this.#options.now ?? Date.now)();
      if (now - this.#readAt >= (this.#options.pollMs ?? POLL_MS)) await this.#tick(false);
      clearTimeout(this.#linger);
      this.#linger = setTimeout(() => this.stop(), LINGER_MS).unref();
    }
    return this.state;
  }

  /** Why the run cannot be read now, if it cannot. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /** How many pages watch. */
  get viewers(): number {
    return this.#viewers.size;
  }

  /** The id of the last event. */
  get lastId(): string {
    return `${this.epoch}-${this.#seq}`;
  }

  /** The page's changing parts as they stand, the timeline zoomed to `zoom`. */
  sectionsFor(zoom: string): Record<string, string> {
    const key = zoom ? `timeline@${zoom}` : 'timeline';
    if (!this.#sections.has(key) && this.state) this.#render(this.state, [zoom]);
    const out: Record<string, string> = {};
    for (const [k, v] of this.#sections) if (!k.startsWith('timeline@')) out[k] = v;
    out.timeline = this.#sections.get(key) ?? '';
    return out;
  }

  /**
   * Adds a viewer: sends what it missed since `since` (or everything, as a snapshot) and then every change.
   * Returns the function that removes it.
   */
  join(viewer: Viewer, since: { epoch: string; seq: number } | undefined): () => void {
    clearTimeout(this.#linger);
    this.#linger = undefined;
    const oldest = this.#events[0]?.seq ?? this.#seq + 1;
    const replay = since && since.epoch === this.epoch && since.seq <= this.#seq && since.seq >= oldest - 1;
    if (replay) {
      for (const event of this.#events)
        if (event.seq > since.seq) viewer.write(frame('sections', `${this.epoch}-${event.seq}`, pick(event.sections, viewer.zoom)));
    } else {
      viewer.write(frame('snapshot', this.lastId, this.sectionsFor(viewer.zoom)));
    }
    if (this.#problem) viewer.write(frame('problem', undefined, { sentence: this.#problem }));
    if (this.state?.endedAt) viewer.write(frame('end', undefined, { sentence: 'The run has ended; this is its final state.' }));
    this.#viewers.add(viewer);
    this.#schedule(0);
    return () => {
      this.#viewers.delete(viewer);
      if (this.#viewers.size === 0) this.#linger = setTimeout(() => this.stop(), LINGER_MS).unref();
    };
  }

  /** Stops following and ends the viewers' streams (a browser that reconnects gets a new channel and a snapshot). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#linger);
    for (const viewer of this.#viewers) viewer.end();
    this.#viewers.clear();
    this.#options.onStop?.();
  }

  async #start(): Promise<void> {
    const [context, model] = await Promise.all([
      this.#options.context?.().catch(() => undefined),
      this.#options.forecastModel?.().catch((error: unknown) => {
        console.error(`status page: no live forecast for ${this.runId}: ${(error as Error)?.message ?? String(error)}`);
        return undefined;
      }),
    ]);
    this.#context = context;
    this.#model = model;
    await this.#tick(false);
    // Nobody may have joined (a first paint): linger, then stop.
    if (this.#viewers.size === 0 && !this.#linger) this.#linger = setTimeout(() => this.stop(), LINGER_MS).unref();
  }

  #schedule(ms: number): void {
    if (this.#stopped || this.#timer || this.state?.endedAt) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#tick(true);
    }, ms);
  }

  #tick(again: boolean): Promise<void> {
    this.#reading ??= this.#read(again).finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  async #read(again: boolean): Promise<void> {
    let changed = false;
    this.#readAt = (this.#options.now ?? Date.now)();
    try {
      changed = (await this.#follower.read()) !== undefined;
      if (this.#problem) changed = true;
      this.#problem = undefined;
    } catch (error) {
      const gone = (error as Error)?.name === 'WorkflowNotFoundError';
      const sentence = gone
        ? 'Temporal no longer has this run; reload the page for the state the record store holds.'
        : 'Live state from Temporal is unavailable right now; the page shows what it last read and keeps trying.';
      if (sentence !== this.#problem) {
        console.error(`status page: following ${this.runId}: ${(error as Error)?.message ?? String(error)}`);
        this.#problem = sentence;
        this.#broadcast(frame('problem', undefined, { sentence }));
      }
      if (gone) {
        this.#broadcast(frame('end', undefined, { sentence }));
        this.stop();
        return;
      }
    }
    const state = this.state;
    const now = (this.#options.now ?? Date.now)();
    if (state && (changed || now - this.#renderedAt >= AGE_EVERY_MS)) {
      const sections = this.#render(state, this.#zooms());
      if (Object.keys(sections).length > 0) {
        this.#seq += 1;
        const event = { seq: this.#seq, sections };
        this.#events.push(event);
        if (this.#events.length > KEPT_EVENTS) this.#events.shift();
        for (const viewer of this.#viewers) {
          // Sent even when nothing a zoomed viewer shows changed: its ids stay consecutive, so it can tell a gap.
          viewer.write(frame('sections', this.lastId, pick(sections, viewer.zoom)));
        }
      }
      if (state.endedAt) this.#broadcast(frame('end', undefined, { sentence: 'The run has ended; this is its final state.' }));
    }
    if (again && this.#viewers.size > 0)
      this.#schedule(this.#problem ? Math.max(1_000, this.#options.pollMs ?? POLL_MS) : (this.#options.pollMs ?? POLL_MS));
  }

  /** The phases viewers have zoomed to, and the whole run. */
  #zooms(): string[] {
    return [...new Set(['', ...[...this.#viewers].map((v) => v.zoom)])];
  }

  /** Draws every part; returns (and keeps) those that differ from what was last sent. */
  #render(state: RunState, zooms: readonly string[]): Record<string, string> {
    const now = (this.#options.now ?? Date.now)();
    this.#renderedAt = now;
    const forecast = this.#model && !state.endedAt ? safeForecast(this.#model, state, now) : undefined;
    this.#forecast = forecast;
    const base = { state, now, ...(forecast ? { forecast } : {}), ...(this.#context ? { context: this.#context } : {}) };
    const drawn: Record<string, string> = {};
    for (const zoom of zooms) {
      const all = runSections({ ...base, ...(zoom ? { phase: zoom } : {}) });
      if (!zoom) Object.assign(drawn, all);
      else drawn[`timeline@${zoom}`] = all.timeline;
    }
    const changed: Record<string, string> = {};
    for (const [key, value] of Object.entries(drawn)) {
      if (this.#sections.get(key) === value) continue;
      this.#sections.set(key, value);
      changed[key] = value;
    }
    return changed;
  }

  #broadcast(chunk: string): void {
    for (const viewer of this.#viewers) viewer.write(chunk);
  }
}

/** The live forecast, or none when it cannot be made for this state (a runbook changed under the run). */
function safeForecast(model: LiveModel, state: RunState, now: number) {
  try {
    return liveForecast(model, state, now);
  } catch (error) {
    console.error(`status page: live forecast of ${state.runId} failed: ${(error as Error)?.message ?? String(error)}`);
    return undefined;
  }
}

/** The parts a viewer zoomed to `zoom` shows: its own timeline under the key `timeline`. */
function pick(sections: Record<string, string>, zoom: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(sections)) {
    if (key === 'timeline') {
      if (!zoom) out.timeline = value;
    } else if (key.startsWith('timeline@')) {
      if (key === `timeline@${zoom}`) out.timeline = value;
    } else out[key] = value;
  }
  return out;
}

/** One Server-Sent Event. */
function frame(type: string, id: string | undefined, data: unknown): string {
  return `${id ? `id: ${id}\n` : ''}event: ${type}\ndata: ${JSON.stringify(type === 'sections' || type === 'snapshot' ? { sections: data } : data)}\n\n`;
}
