/**
 * Who sent each request to a run: the client identity Temporal records when it accepts an Update (in the
 * UpdateAccepted event of the execution's history). The SDK gives workflow code the Update's id but not its
 * sender, so the decision log keeps the id and this joins the two, for `cutover decisions` while the history is
 * there, and for the record store when the run ends (the history goes with the namespace's retention).
 */
import type { Client } from '@temporalio/client';

/**
 * The sender of every Update run `runId` accepted, by Update id, from the histories of all its executions: the one
 * given by its Temporal execution run id (the latest, by default) and each it continued from, followed back through
 * their start events. (A cutover run id is the workflow id; Temporal's run id names one execution of it.)
 */
export async function updateSenders(client: Client, runId: string, executionRunId?: string): Promise<Map<string, string>> {
  const senders = new Map<string, string>();
  const seen = new Set<string>();
  const workflowId = runId;
  let execution: string | undefined = executionRunId ?? (await client.workflow.getHandle(workflowId).describe()).runId;
  while (execution && !seen.has(execution)) {
    seen.add(execution);
    const history = await client.workflow.getHandle(workflowId, execution).fetchHistory();
    let continuedFrom: string | undefined;
    for (const event of history.events ?? []) {
      const started = event.workflowExecutionStartedEventAttributes;
      if (started?.continuedExecutionRunId) continuedFrom = started.continuedExecutionRunId;
      const meta = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta;
      if (meta?.updateId && meta.identity) senders.set(meta.updateId, meta.identity);
    }
    execution = continuedFrom;
  }
  return senders;
}
