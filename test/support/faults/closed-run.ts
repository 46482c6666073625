/**
 * Reading a closed run's state in tests. A closed run's query is answered by a worker replaying its whole history, so
 * two things can go wrong that a live run's query never meets: on a loaded machine the replay may not start before the
 * server gives up ("query timed out before a worker could process it"), and a replay that does not match the history
 * fails as nondeterminism. The first is asked again until a generous deadline; the second fails the test with the
 * history's outline in the message, because it happens rarely and only the history shows why.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
// A CommonJS module: Node's ES module loader (the survive benchmark imports this file) gives it only as the default.
import proto from '@temporalio/proto';

const TIMED_OUT = /DEADLINE_EXCEEDED|timed out/i;
const NONDETERMINISM = /nondeterminism/i;

/** `read()` the closed run behind `handle`, asking again while the query times out (90 s at most). */
export async function readClosedRun<T>(handle: WorkflowHandle, read: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      return await read();
    } catch (err) {
      const text = `${String(err)} ${String((err as Error).cause)}`;
      if (NONDETERMINISM.test(text)) throw new Error(`${text}\n${outline(await handle.fetchHistory())}`, { cause: err });
      if (Date.now() > deadline || !TIMED_OUT.test(text)) throw err;
    }
  }
}

/** One line per event: id, type, and what names it (marker and patch id, Update, activity, a failed task's reason). */
export function outline(history: temporal.api.history.v1.IHistory): string {
  return (history.events ?? [])
    .map((event) => {
      const type = (proto.temporal.api.enums.v1.EventType[event.eventType ?? 0] ?? String(event.eventType)).replace(/^EVENT_TYPE_/, '');
      return `${String(event.eventId)} ${type} ${what(event)}`.trimEnd();
    })
    .join('\n');
}

function what(event: temporal.api.history.v1.IHistoryEvent): string {
  const marker = event.markerRecordedEventAttributes;
  if (marker) {
    const patch = marker.details?.['patch-data']?.payloads?.[0]?.data;
    return `${marker.markerName ?? ''}${patch ? ` ${Buffer.from(patch).toString()}` : ''}`;
  }
  const accepted = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
  if (accepted) return accepted;
  const activity = event.activityTaskScheduledEventAttributes?.activityType?.name;
  if (activity) return activity;
  const failed = event.workflowTaskFailedEventAttributes?.failure?.message ?? event.workflowTaskTimedOutEventAttributes?.timeoutType;
  return failed === undefined || failed === null ? '' : String(failed);
}
