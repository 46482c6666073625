/**
 * The `deliverNotification` activity: one attempt to send one notification, recorded in the store (sent, retrying,
 * gave_up with the reason). A failed attempt throws so Temporal retries it with the backoff of
 * {@link DELIVERY_RETRY}; the last one, or one that cannot succeed (a refused message, a missing secret), returns
 * `gave_up` instead, so whatever waits on it never fails for a notification. The idempotency key goes to the
 * receiver (header, Message-ID), and a key the store already holds as sent is not sent again.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DeliveryStatus, DeliveryStore, EventRecord } from '../prisma/records.js';
import { DeliveryError, sendNotification } from '../notify/send.js';
import { idempotencyKey } from '../notify/plan.js';
import type { DeliveryOutcome, DeliveryRequest } from './types.js';

/** The failure type of an attempt Temporal should retry. */
export const DELIVERY_FAILED = 'DeliveryFailed';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The delivery activity, with its store and (for tests) its fetch. */
export function createDeliveryActivities(deps: { store: DeliveryStore; fetch?: typeof fetch; env?: NodeJS.ProcessEnv }) {
  const env = deps.env ?? process.env;
  return {
    /** Records a run's events (once each: a retried write leaves an event as it was). */
    async recordEvents(records: EventRecord[]): Promise<void> {
      await deps.store.recordEvents(records);
    },

    async deliverNotification(request: DeliveryRequest): Promise<DeliveryOutcome> {
      const attempt = Context.current().info.attempt;
      const key = idempotencyKey(request.event, request.delivery, sha256);
      const record = async (status: DeliveryStatus, reason: string) => {
        // The record is for people; a store that cannot take it must not turn a delivered message into a resend.
        await deps.store
          .recordDelivery({
            runId: request.event.runId,
            eventId: request.event.id,
            eventKind: request.event.kind,
            channel: request.delivery.channel,
            recipient: request.delivery.recipient,
            idempotencyKey: key,
            attempt,
            status,
            reason,
            at: new Date().toISOString(),
          })
          .catch(() => undefined);
      };
      // A worker that died after sending but before Temporal heard of it: the store knows it went out.
      const earlier = await deps.store.deliveries({ idempotencyKey: key }).catch(() => []);
      if (earlier.some((row) => row.status === 'sent')) return { status: 'sent', attempt, idempotencyKey: key, alreadySent: true };
      try {
        const note = await sendNotification(
          {
            event: request.event,
            people: request.delivery.people,
            idempotencyKey: key,
            channelName: request.delivery.channel,
            channel: request.channel,
            baseDir: request.baseDir,
            ...(request.email ? { email: request.email } : {}),
            ...(request.slackIds ? { slackIds: request.slackIds } : {}),
            // The runbook's public_url, else the worker's own (the workflow cannot read the worker's environment).
            ...((request.publicUrl ?? env.CUTOVER_PUBLIC_URL) ? { publicUrl: request.publicUrl ?? env.CUTOVER_PUBLIC_URL } : {}),
          },
          { ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.env ? { env: deps.env } : {}) },
        );
        await record('sent', note);
        return { status: 'sent', attempt, idempotencyKey: key };
      } catch (err) {
        const reason = err instanceof DeliveryError ? err.message : `unexpected failure: ${(err as Error).message ?? String(err)}`;
        const retryable = err instanceof DeliveryError ? err.retryable : true;
        const last = !retryable || attempt >= request.maxAttempts;
        await record(last ? 'gave_up' : 'retrying', `channel ${request.delivery.channel}: ${reason}`);
        if (last) return { status: 'gave_up', attempt, idempotencyKey: key, reason: `channel ${request.delivery.channel}: ${reason}` };
        // Retryable: Temporal schedules the next attempt with DELIVERY_RETRY's backoff.
        throw ApplicationFailure.create({ type: DELIVERY_FAILED, message: reason });
      }
    },
  };
}
