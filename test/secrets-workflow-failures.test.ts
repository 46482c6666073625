/**
 * With CUTOVER_PAYLOAD_KEY set, the failures the run workflow raises itself (not only its activities') reach
 * Temporal's history encrypted: a live run of a runbook with simulate actions, started through the SDK (the CLI refuses
 * it before starting), ends failed with the workflow's own ApplicationFailure. Read without the key, the history holds
 * none of its words; with the key, `cutover status` still tells the reason.
 *
 * Through a real `cutover worker` (the built bundle, as a deployment runs it) against the test run's Temporal server.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterEach, expect, it } from 'vitest';
import { payloadCodecs } from '../common/payload-codec.js';
import { openRecordStore } from '../prisma/store.js';
import type { RunInput } from '../run/state.js';
import { hashRunbook } from '../run/version-hash.js';
import { parseRunbook } from '../runbook/parse.js';
import { RUN_WORKFLOW_TYPE } from '../workflows/messages.js';
import { cliEnv, killStartedCli, runCli, startWorkerCli } from './support/cli.js';
import { temporalAddress } from './support/temporal.js';

afterEach(killStartedCli);

const REASON = 'a live run cannot contain simulate actions (steps rehearse-only-export)';

it('a failure the workflow raises is encrypted in history, and cutover status still says it with the key', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-wf-failure-'));
  const name = `wf-failure-${Date.now().toString(36)}`;
  const source = `name: ${name}
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: rehearse-only-export, title: Export, owner: dba, expected: 1s, action: { kind: simulate, duration: 1s } }
`;
  writeFileSync(path.join(dir, 'runbook.yaml'), source);
  const key = randomBytes(32);
  const env = cliEnv({
    TEMPORAL_ADDRESS: temporalAddress(),
    CUTOVER_TASK_QUEUE: `wf-failure-${name}`,
    CUTOVER_PAYLOAD_KEY: key.toString('base64'),
  });
  await startWorkerCli([], env, dir);

  // Reserved in the worker's record store as `cutover run --live` would, then started through the SDK with the key.
  const store = await openRecordStore({ databaseUrl: `file:${path.join(env.CUTOVER_HOME!, 'cutover.db')}` });
  const parsed = parseRunbook(source, 'runbook.yaml');
  if (!parsed.ok) throw new Error('test runbook invalid');
  const versionHash = hashRunbook(parsed.runbook);
  let runId: string;
  let number: number;
  try {
    ({ runId, number } = await store.reserveRun({
      runbookName: name,
      mode: 'live',
      runbookVersion: '1',
      versionHash,
      runbookSource: source,
      startedBy: 'alice',
    }));
  } finally {
    await store.close();
  }
  const input: RunInput = { runId, runNumber: number, versionHash, mode: 'live', startedBy: 'alice', baseDir: dir };
  const connection = await Connection.connect({ address: temporalAddress() });
  try {
    const withKey = new Client({ connection, dataConverter: { payloadCodecs: payloadCodecs(key) } });
    const handle = await withKey.workflow.start(RUN_WORKFLOW_TYPE, {
      taskQueue: env.CUTOVER_TASK_QUEUE!,
      workflowId: runId,
      args: [input],
    });
    // The client with the key reads the workflow's own reason.
    const failure = await handle.result().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toBe(REASON);

    // History as a cluster keeps it, read without the key: the failure is there, its words are not.
    const withoutKey = new Client({ connection });
    const history = await withoutKey.workflow.getHandle(runId).fetchHistory();
    const failed = history.events!.find((e) => e.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes;
    expect(failed?.failure).toBeDefined();
    const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    for (const plain of ['cannot contain simulate actions', 'rehearse-only-export']) expect(bytes.includes(plain), plain).toBe(false);
    expect(failed!.failure!.message).not.toContain('simulate');

    // `cutover status` with the key says why the run ended.
    const status = runCli(['status', runId], env, dir);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout.split('\n')[0]).toMatch(new RegExp(`^${runId}  live  FAILED`));
    expect(status.stdout).toContain(`outcome: failed in Temporal: ${REASON}`);
  } finally {
    await connection.close();
  }
}, 180_000);
