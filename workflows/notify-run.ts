/**
 * The notifier of one run (workflow type `cutoverNotify`, id `RUN/notify`): the run signals it each event with the
 * deliveries the runbook routes it to, and it records the event and delivers each message as an activity with
 * retries and backoff. A child of the run that outlives it (parent close policy ABANDON), so that nothing the run
 * does waits for a receiver, a run's hand-over (continue-as-new) leaves its deliveries running, and the run's last
 * event is delivered after the run returned. It ends once the run said it ended and everything is delivered (or
 * given up), and hands over to a new execution of itself, carrying what is queued, when its history is long.
 *
 * Deterministic: imports only `@temporalio/workflow`, activity types and pure notify modules.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineSignal,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { DeliveryRequest } from '../activities/types.js';
import { DELIVERY_RETRY } from '../notify/deliveries.js';
import type { NotificationEvent } from '../notify/event.js';
import { parseDuration } from '../runbook/duration.js';

type Activities = ReturnType<typeof createActivities>;

/** The workflow type of a run's notifier. */
export const NOTIFIER_WORKFLOW_TYPE = 'cutoverNotify';

/** The notifier's workflow id for run `runId`. */
export function notifierId(runId: string): string {
  return `${runId}/notify`;
}

/** One event and the deliveries the runbook routes it to. */
export interface Notice {
  event: NotificationEvent;
  deliveries: DeliveryRequest[];
}

/** What a notifier execution starts with: nothing, or what the one before it handed over. */
export interface NotifierInput {
  runId: string;
  queued?: Notice[];
  /** The next event's place in the run's order. */
  seq?: number;
  /** The run has told its last event. */
  ended?: boolean;
}

/** The run's events, in the order the run told them. */
export const noticesSignal = defineSignal<[Notice[]]>('cutoverNotices');

/**
 * Events are written to the record store like the run's own records: retried until the store takes them (a store
 * that is down delays the messages, it does not lose them).
 */
const recording = proxyActivities<Activities>({ startToCloseTimeout: '1m', retry: { initialInterval: '1s', maximumInterval: '30s' } });

/** A notifier that has heard nothing for this long ends (its run was terminated without telling it). */
const IDLE_LIMIT = '30 days';

/**
 * The history at which a notifier hands over to a new execution of itself: about 10 events per message (a signal,
 * an activity, their workflow tasks), so some 2,000 messages an execution. Not at `continueAsNewSuggested` (4,000
 * events): the hand-over waits for the deliveries under way, and every such pause is a delay for the messages that
 * arrive meanwhile (measured with `npm run bench -- notify`). Well under Temporal's limits (51,200 events, 50 MB),
 * as the run's own ceiling (run-context.ts).
 */
const HISTORY_LIMIT = 20_000;
const HISTORY_BYTES_LIMIT = 20 * 1024 * 1024;

/**
 * The longest one attempt may take, from the channel's own timeout: an attempt whose worker died is retried this
 * long after it started (the activity does not heartbeat; a send is short).
 */
function attemptTimeoutMs(request: DeliveryRequest): number {
  const own = request.channel.timeout ? parseDuration(request.channel.timeout) : undefined;
  return (own ?? (request.channel.kind === 'email' ? 30_000 : 10_000)) + 15_000;
}

/** Delivers one message; never throws (a delivery that failed for good is in the store with its reason). */
function deliver(request: DeliveryRequest): Promise<unknown> {
  const { deliverNotification } = proxyActivities<Activities>({
    startToCloseTimeout: attemptTimeoutMs(request),
    retry: { ...DELIVERY_RETRY, maximumAttempts: request.maxAttempts },
  });
  return deliverNotification(request).catch(() => undefined);
}

/** Records and delivers a run's events until the run has ended and every message is out. */
export async function cutoverNotify(input: NotifierInput): Promise<{ events: number }> {
  const queued: Notice[] = [...(input.queued ?? [])];
  let seq = input.seq ?? 0;
  let ended = input.ended === true;
  let inFlight = 0;
  setHandler(noticesSignal, (notices) => {
    queued.push(...notices);
    if (notices.some((n) => n.event.kind === 'run_ended')) ended = true;
  });
  const handOverDue = () => workflowInfo().historyLength >= HISTORY_LIMIT || workflowInfo().historySize >= HISTORY_BYTES_LIMIT;
  for (;;) {
    const woke = await condition(() => queued.length > 0 || (ended && inFlight === 0) || handOverDue(), IDLE_LIMIT);
    if (!woke && inFlight === 0) break;
    if (handOverDue()) {
      // Deliveries under way finish here (their retries are this execution's); what is queued goes on.
      await condition(() => inFlight === 0 && allHandlersFinished());
      return continueAsNew<typeof cutoverNotify>({ runId: input.runId, queued, seq, ended });
    }
    if (queued.length === 0) break;
    const batch = queued.splice(0);
    const records = batch.map(({ event, deliveries }) => ({
      runId: event.runId,
      eventId: event.id,
      seq: seq++,
      kind: event.kind,
      at: event.at,
      summary: event.summary,
      event: event as unknown as Record<string, unknown>,
      deliveries: deliveries.map((d) => ({ channel: d.delivery.channel, recipient: d.delivery.recipient })),
    }));
    inFlight += 1;
    // The record and the messages at once: a message waits for no write of the store.
    void Promise.all([
      recording.recordEvents(records).catch(() => undefined),
      ...batch.flatMap((notice) => notice.deliveries.map(deliver)),
    ]).finally(() => {
      inFlight -= 1;
    });
  }
  await condition(allHandlersFinished);
  return { events: seq };
}
