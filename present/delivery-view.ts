/**
 * What a person sees of a run's notifications, derived once from the record store's events and delivery attempts:
 * each event with where each of its messages got to (sent, retrying, gave up, not tried yet), and one sentence per
 * delivery that failed. `cutover events`, `cutover status`, the console and the page render it. Pure, but for
 * {@link undeliveredLines}, which reads the two record lists from a store it is given.
 */
import type { DeliveryRecord, EventRecord } from '../prisma/records.js';

/** Where one message of an event got to. */
export interface DeliveryView {
  channel: string;
  recipient: string;
  /** `pending`: routed, no attempt recorded yet. */
  status: 'pending' | 'sent' | 'retrying' | 'gave_up';
  attempts: number;
  /** What the receiver answered or why it failed (the last attempt's). */
  reason?: string;
  at?: string;
}

/** One event and its messages. */
export interface EventView {
  seq: number;
  id: string;
  kind: string;
  at: string;
  summary: string;
  deliveries: DeliveryView[];
}

/** The run's events in order, each with its deliveries' latest state. */
export function eventViews(events: readonly EventRecord[], attempts: readonly DeliveryRecord[]): EventView[] {
  const latest = new Map<string, DeliveryRecord & { count: number }>();
  for (const row of attempts) {
    const key = JSON.stringify([row.eventId, row.channel, row.recipient]);
    const before = latest.get(key);
    // A row recorded as sent stays the answer, whatever a late duplicate attempt recorded after it.
    if (before?.status === 'sent') continue;
    latest.set(key, { ...row, count: (before?.count ?? 0) + 1 });
  }
  return events.map((event) => ({
    seq: event.seq,
    id: event.eventId,
    kind: event.kind,
    at: event.at,
    summary: event.summary,
    deliveries: event.deliveries.map(({ channel, recipient }) => {
      const row = latest.get(JSON.stringify([event.eventId, channel, recipient]));
      return {
        channel,
        recipient,
        status: row?.status ?? 'pending',
        attempts: row ? Math.max(row.attempt, row.count) : 0,
        ...(row?.reason ? { reason: row.reason } : {}),
        ...(row ? { at: row.at } : {}),
      };
    }),
  }));
}

/** Whether every message of every event has an answer (sent or given up). */
export function allSettled(views: readonly EventView[]): boolean {
  return views.every((event) => event.deliveries.every((d) => d.status === 'sent' || d.status === 'gave_up'));
}

/** `to bob on mail` / `on hook` (a shared channel). */
function whereTo(d: Pick<DeliveryView, 'channel' | 'recipient'>): string {
  return d.recipient.startsWith('#') ? `on ${d.channel}` : `to ${d.recipient} on ${d.channel}`;
}

/**
 * One sentence per message that failed: given up for good, or still retrying after a failure, with the reason and
 * what to do: `the gate_opened:go message to ben on mail gave up after 1 attempt: channel mail: …; fix the channel
 * (cutover notify test RUNBOOK checks it)`.
 */
export function failedDeliveryLines(views: readonly EventView[], options: { withReasons?: boolean } = {}): string[] {
  const lines: string[] = [];
  for (const event of views) {
    for (const d of event.deliveries) {
      if (d.status !== 'gave_up' && d.status !== 'retrying') continue;
      const tries = `${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`;
      if (options.withReasons === false) {
        lines.push(
          `the ${event.id} message ${whereTo(d)} ${d.status === 'gave_up' ? `gave up after ${tries}` : `is being retried (${tries} so far)`}`,
        );
        continue;
      }
      lines.push(
        d.status === 'gave_up'
          ? `the ${event.id} message ${whereTo(d)} gave up after ${tries}: ${d.reason ?? 'no reason recorded'}; fix the channel (\`cutover notify test RUNBOOK\` checks it)`
          : `the ${event.id} message ${whereTo(d)} is being retried (${tries} so far): ${d.reason ?? 'no reason recorded'}`,
      );
    }
  }
  return lines;
}

const STATUS_WORD: Record<DeliveryView['status'], string> = { pending: 'pending', sent: 'sent', retrying: 'RETRYING', gave_up: 'GAVE UP' };

/** The lines of `cutover events`: each event, then one line per message. */
export function eventLines(views: readonly EventView[]): string[] {
  const lines: string[] = [];
  for (const event of views) {
    lines.push(`${event.at.slice(11, 19)}  ${event.id}  ${event.summary}`);
    for (const d of event.deliveries) {
      const tries = d.attempts > 1 ? ` (${d.attempts} attempts)` : '';
      const why = d.status === 'sent' || d.status === 'pending' ? '' : `: ${d.reason ?? ''}`;
      lines.push(`          ${STATUS_WORD[d.status].padEnd(8)} ${whereTo(d)}${tries}${why}`);
    }
    if (event.deliveries.length === 0) lines.push('          (no route sends this event)');
  }
  return lines;
}

/** What {@link undeliveredLines} reads of the record store. */
export interface DeliveryRecords {
  deliveries(query: { runId: string }): Promise<DeliveryRecord[]>;
  events(runId: string): Promise<EventRecord[]>;
}

/**
 * The run's messages that did not reach people ({@link failedDeliveryLines}), read from the store: `cutover status`,
 * the console and the page say so. None when the store cannot say: extra information is never worth failing a screen.
 */
export async function undeliveredLines(store: DeliveryRecords, runId: string, options: { withReasons?: boolean } = {}): Promise<string[]> {
  try {
    const rows = await store.deliveries({ runId });
    return rows.length === 0 ? [] : failedDeliveryLines(eventViews(await store.events(runId), rows), options);
  } catch {
    return [];
  }
}
