/**
 * The evidence a vote names when the person gave none (`cutover approve|reject` without `--evidence`): read from the
 * run while it is looked up, and never the reason a vote is not sent. Temporal buffers one query per run while a
 * workflow task is in hand and refuses the next ("consistent query buffer is full"); fresh-81, a loaded fresh clone,
 * had `cutover approve` fail on that refusal while the run recovered from a server kill.
 */
import { ServiceError, type WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { currentEvidence } from '../cli/send-request.js';

/** Temporal's refusal as the client hands it over: the SDK's error, caused by gRPC status 8 with the server's words. */
function bufferFull(): Error {
  const details =
    'consistent query buffer is full, this may be caused by too many queries and workflow not able to process query fast enough';
  const grpc = Object.assign(new Error(`8 RESOURCE_EXHAUSTED: ${details}`), { code: 8, details, metadata: {} });
  return new ServiceError('Failed to query Workflow', { cause: grpc });
}

/**
 * A run whose summary answers first with `attention`, then refuses `refusals` queries (all of them by default), then
 * answers with gate `go` among the steps needing attention, its evidence `def456` (the task in hand is done).
 */
function run(attention: unknown[], refusals = Infinity): { handle: WorkflowHandle; asked: string[] } {
  const asked: string[] = [];
  let refused = 0;
  const handle = {
    query: (definition: { name: string }) => {
      asked.push(definition.name);
      if (asked.length === 1 && definition.name === 'runSummary') return Promise.resolve({ attention });
      if (refused < refusals) {
        refused += 1;
        return Promise.reject(bufferFull());
      }
      return Promise.resolve({ attention: [{ id: 'go', gate: { evidence: { digest: 'def456' } } }] });
    },
  } as unknown as WorkflowHandle;
  return { handle, asked };
}

describe('the evidence a vote names', () => {
  it('is the digest the run summary lists for the open gate', async () => {
    const { handle, asked } = run([{ id: 'go', gate: { evidence: { digest: 'abc123' } } }]);
    expect(await currentEvidence(handle, 'go')).toBe('abc123');
    expect(asked).toEqual(['runSummary']);
  });

  it('is read again when Temporal refused the query for a full buffer, which clears once the task in hand is done', async () => {
    const { handle } = run([], 2);
    expect(await currentEvidence(handle, 'go')).toBe('def456');
  });

  it('is left out, and the vote still goes, when the whole read after the summary is refused for good', async () => {
    const { handle, asked } = run([]);
    await expect(currentEvidence(handle, 'hypercare-exit')).resolves.toBeUndefined();
    expect(asked.length).toBeGreaterThan(1);
  });

  it('is left out when the summary itself is refused', async () => {
    const handle = { query: () => Promise.reject(bufferFull()) } as unknown as WorkflowHandle;
    await expect(currentEvidence(handle, 'go')).resolves.toBeUndefined();
  });
});
