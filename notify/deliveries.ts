/**
 * Everything the delivery activity needs for each delivery of an event, from the runbook: the planned deliveries
 * (notify/plan.ts) with their channel's configuration and the recipients' addresses. Pure.
 */
import type { Runbook } from '../runbook/schema.js';
import type { NotificationChannel } from '../runbook/notifications.js';
import type { NotificationEvent } from './event.js';
import { planDeliveries, type PlannedDelivery } from './plan.js';

/** One delivery with what it takes to send it: what the delivery activity takes (activities/types.ts's `DeliveryRequest`). */
export interface DeliveryInput {
  event: NotificationEvent;
  delivery: PlannedDelivery;
  channel: NotificationChannel;
  /** The recipient's address, for an e-mail. */
  email?: string;
  /** Slack member IDs by person, for mentions. */
  slackIds?: Record<string, string>;
  baseDir: string;
  publicUrl?: string;
  /** The activity's retry budget (activities/types.ts's `DELIVERY_RETRY`): the last attempt records `gave_up` and returns. */
  maxAttempts: number;
}

/**
 * The delivery activity's retry policy: backoff from 2 s to 5 min, 12 attempts (about 20 minutes of a receiver
 * being down). Temporal schedules the retries, so they survive a worker restart.
 */
export const DELIVERY_RETRY = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '5m',
  maximumAttempts: 12,
} as const;

/** Slack member IDs of everyone who has one under `people`. */
function slackIds(runbook: Runbook): Record<string, string> {
  return Object.fromEntries(Object.entries(runbook.people).flatMap(([person, entry]) => (entry.slack ? [[person, entry.slack]] : [])));
}

/** The inputs for `deliveries` of `event` (default: every delivery the routes plan). */
export function deliveryInputs(
  runbook: Runbook,
  event: NotificationEvent,
  options: { baseDir: string; publicUrl?: string; maxAttempts: number; deliveries?: PlannedDelivery[] },
): DeliveryInput[] {
  const channels = runbook.notifications?.channels ?? {};
  const ids = slackIds(runbook);
  const publicUrl = runbook.notifications?.public_url ?? options.publicUrl;
  return (options.deliveries ?? planDeliveries(runbook, event)).flatMap((delivery) => {
    const channel = channels[delivery.channel];
    if (!channel) return [];
    const email = channel.kind === 'email' ? runbook.people[delivery.recipient]?.email : undefined;
    return [
      {
        event,
        delivery,
        channel,
        ...(email ? { email } : {}),
        ...(channel.kind === 'slack' && Object.keys(ids).length > 0 ? { slackIds: ids } : {}),
        baseDir: options.baseDir,
        ...(publicUrl ? { publicUrl } : {}),
        maxAttempts: options.maxAttempts,
      },
    ];
  });
}
