/**
 * Which deliveries an event makes: the routes that take its kind, the people they name (or whoever must act), the
 * rehearsal audience, and one delivery per channel (per person for e-mail). Each delivery has an idempotency key
 * that stays the same for the same event and recipient, so a receiver drops a repeat. Pure.
 */
import type { Runbook } from '../runbook/schema.js';
import type { NotificationEvent } from './event.js';

/** One message to send: an event, a channel, and who it is for. */
export interface PlannedDelivery {
  channel: string;
  /** The person an e-mail goes to, or `#channel` for a shared channel (webhook, Slack, Teams, command). */
  recipient: string;
  /** The people it is meant for (mentioned on shared channels). */
  people: string[];
}

function expand(runbook: Runbook, names: readonly string[]): string[] {
  const out = new Set<string>();
  for (const name of names) for (const person of runbook.roles[name] ?? [name]) out.add(person);
  return [...out];
}

/** The people who must act on `event`: those named, and the holders of the roles named. */
export function actors(runbook: Runbook, event: NotificationEvent): string[] {
  if (!event.action) return [];
  return expand(runbook, [...event.action.people, ...event.action.roles]);
}

/**
 * The deliveries of `event`: every route that takes its kind, to its `to` (or to whoever must act), on its `via`.
 * In a rehearsal only the rehearsal audience's people and channels are used, when the runbook names them.
 */
export function planDeliveries(runbook: Runbook, event: NotificationEvent): PlannedDelivery[] {
  const notifications = runbook.notifications;
  if (!notifications) return [];
  const rehearsal = event.mode === 'rehearsal' ? notifications.rehearsal : undefined;
  const audience = rehearsal?.audience ? new Set(expand(runbook, rehearsal.audience)) : undefined;
  const channelsAllowed = rehearsal?.channels ? new Set(rehearsal.channels) : undefined;
  const byChannel = new Map<string, Set<string>>();
  for (const route of notifications.routes) {
    if (route.on && !route.on.includes(event.kind)) continue;
    const people = (route.to ? expand(runbook, route.to) : actors(runbook, event)).filter((p) => !audience || audience.has(p));
    for (const channel of route.via) {
      if (channelsAllowed && !channelsAllowed.has(channel)) continue;
      const set = byChannel.get(channel) ?? new Set<string>();
      for (const person of people) set.add(person);
      byChannel.set(channel, set);
    }
  }
  const deliveries: PlannedDelivery[] = [];
  for (const [channel, peopleSet] of byChannel) {
    const people = [...peopleSet];
    if (notifications.channels[channel]?.kind === 'email') {
      for (const person of people) if (runbook.people[person]?.email) deliveries.push({ channel, recipient: person, people: [person] });
    } else if (people.length > 0 || !audience) {
      // In a rehearsal with an audience, a shared channel whose route reached nobody in it stays quiet.
      deliveries.push({ channel, recipient: `#${channel}`, people });
    }
  }
  return deliveries;
}

/**
 * The deliveries of a comms step's event: to its `to`, on its `via` (default every channel), whatever the routes say;
 * a rehearsal's audience and channels still apply.
 */
export function planComms(runbook: Runbook, event: NotificationEvent, to: readonly string[], via?: readonly string[]): PlannedDelivery[] {
  const notifications = runbook.notifications;
  if (!notifications) return [];
  const channels = [...(via ?? Object.keys(notifications.channels))];
  return planDeliveries({ ...runbook, notifications: { ...notifications, routes: [{ to: [...to], via: channels }] } }, event);
}

/**
 * The idempotency key of one delivery: the same for the same event and recipient however often it is sent (after a
 * retry or a worker restart), different for anything else. Receivers drop a message whose key they have seen.
 * `hash` is SHA-256 in hex (passed in, so this stays pure).
 */
export function idempotencyKey(
  event: Pick<NotificationEvent, 'runId' | 'id'>,
  delivery: Pick<PlannedDelivery, 'channel' | 'recipient'>,
  hash: (text: string) => string,
): string {
  return hash(JSON.stringify([event.runId, event.id, delivery.channel, delivery.recipient])).slice(0, 40);
}
