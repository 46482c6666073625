/**
 * A workflow for the delivery tests only: it delivers notifications through the `deliverNotification` activity with
 * Temporal's retry policy, as the run workflow will (issue 20's events come later), and returns each outcome.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createDeliveryActivities } from '../../activities/deliver-notification.js';
import type { DeliveryOutcome, DeliveryRequest } from '../../activities/types.js';

/** Delivers every request at once, retrying each with `initialIntervalMs` backoff; never fails. */
export async function deliverAll(requests: DeliveryRequest[], initialIntervalMs: number): Promise<DeliveryOutcome[]> {
  const { deliverNotification } = proxyActivities<ReturnType<typeof createDeliveryActivities>>({
    startToCloseTimeout: '30s',
    retry: {
      initialInterval: initialIntervalMs,
      backoffCoefficient: 1.5,
      maximumInterval: '2s',
      maximumAttempts: requests[0]?.maxAttempts ?? 1,
    },
  });
  return Promise.all(requests.map((request) => deliverNotification(request)));
}
