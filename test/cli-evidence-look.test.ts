/**
 * The evidence a vote names when the person gave none (`cutover approve|reject` without `--evidence`): read from the
 * run while it is looked up, and never the reason a vote is not sent. Temporal buffers one query per run while a
 * workflow task is in hand and refuses the next ("consistent query buffer is full"); fresh-81, a loaded fresh clone,
 * had `cutover approve` fail on that refusal while the run recovered from a server kill.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { currentEvidence } from '../cli/send-request.js';

/** Temporal's refusal as the client hands it over: gRPC status 8 with the server's words. */
function bufferFull(): Error {
  return Object.assign(new Error('8 RESOURCE_EXHAUSTED: consistent query buffer is full'), {
    code: 8,
    details: 'consistent query buffer is full, this may be caused by too many queries and workflow not able to process query fast enough',
  });
}

/** A run whose summary answers with `attention`, and whose every later query is refused; the queries it was asked. */
function run(attention: unknown[]): { handle: WorkflowHandle; asked: string[] } {
  const asked: string[] = [];
  const handle = {
    query: (definition: { name: string }) => {
      asked.push(definition.name);
      if (asked.length === 1 && definition.name === 'runSummary') return Promise.resolve({ attention });
      return Promise.reject(bufferFull());
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

  it('is left out, and the vote still goes, when the whole read after the summary is refused', async () => {
    const { handle, asked } = run([]);
    await expect(currentEvidence(handle, 'hypercare-exit')).resolves.toBeUndefined();
    expect(asked.length).toBeGreaterThan(1);
  });

  it('is left out when the summary itself is refused', async () => {
    const handle = { query: () => Promise.reject(bufferFull()) } as unknown as WorkflowHandle;
    await expect(currentEvidence(handle, 'go')).resolves.toBeUndefined();
  });
});
