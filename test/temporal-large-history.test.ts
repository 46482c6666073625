/**
 * A long run's history is read whole by `cutover decisions` (who sent each request, checked against Temporal) and
 * by `status` (when a record write is being retried). grpc-js refuses any answer over 4 MB unless told otherwise, and
 * one page of a long run's history is larger: the scale benchmark's 10,000-step run failed there with
 * RESOURCE_EXHAUSTED. The workflow here has a history of about 4.5 MB (three 1.5 MB signals; Temporal allows 2 MB
 * a payload), read through the connection the commands use.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSettings } from '../cli/settings.js';
import { connectTemporal, type TemporalSession } from '../cli/temporal.js';
import { updateSenders } from '../common/update-senders.js';
import { temporalAddress, temporalNamespace } from './support/temporal.js';

const SIGNALS = 3;
const SIGNAL_BYTES = 1_500_000;

describe('a history larger than 4 MB', () => {
  const workflowId = `large-history-${randomUUID()}`;
  let setupClient: Client;
  let session: TemporalSession | undefined;

  beforeAll(async () => {
    setupClient = new Client({ connection: await Connection.connect({ address: temporalAddress() }), namespace: temporalNamespace() });
    // No worker polls this queue: the workflow only collects its signals.
    const handle = await setupClient.workflow.start('nothingRunsThis', { workflowId, taskQueue: `nobody-${randomUUID()}` });
    for (let i = 0; i < SIGNALS; i++) await handle.signal('noise', `${i}`.repeat(SIGNAL_BYTES));
  });

  afterAll(async () => {
    await session?.close();
    await setupClient.workflow
      .getHandle(workflowId)
      .terminate('test over')
      .catch(() => undefined);
    await setupClient.connection.close();
  });

  it('is read whole through the connection the commands open', async () => {
    const settings = readSettings({ TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: temporalNamespace() });
    session = await connectTemporal(settings, { startEmbedded: false, failFastWhenBusy: true });
    const history = await session.client.workflow.getHandle(workflowId).fetchHistory();
    const signalled = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes);
    expect(signalled).toHaveLength(SIGNALS);
    // What `cutover decisions` reads: no request was sent, and the read succeeds rather than giving up.
    await expect(updateSenders(session.client, workflowId)).resolves.toEqual(new Map());
  });
});
