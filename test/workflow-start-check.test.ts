/**
 * A run checks its own start against what the record store reserved for it (issue 17): anyone with access to the
 * Temporal namespace can start the workflow with any input through the stock `temporal` CLI, but only cutover's
 * start command reserves a run. A live run without rehearsal evidence is refused and the refusal logged; a start that
 * is not the reservation's (another mode, --auto-approve, an ended run's id) fails before it writes anything.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemporalCli } from '../cli/temporal-cli.js';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import type { RunInput } from '../run/state.js';
import { hashRunbook } from '../run/version-hash.js';
import { parseRunbook } from '../runbook/parse.js';
import { FAILURE_TYPE } from '../run/failures.js';
import { RUN_WORKFLOW_TYPE } from '../workflows/messages.js';
import { temporalAddress, temporalNamespace } from './support/temporal.js';
import { resultOf, startHarness, type Harness } from './support/workflow-harness.js';
import { migratedStore } from './support/store-template.js';

const run = promisify(execFile);
const temporal = findTemporalCli(fileURLToPath(new URL('..', import.meta.url)));

let store: RecordStore;
let h: Harness;
beforeAll(async () => {
  store = await openRecordStore({ databaseUrl: migratedStore('cutover-start-') });
  h = await startHarness({ store });
});
afterAll(async () => {
  await h?.stop();
  await store?.close();
});

const RUNBOOK = (name: string) => `
name: ${name}
version: "1"
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: load
    kind: migration
    steps:
      - { id: touch, title: Touch, owner: dba, expected: 1s, action: { kind: shell, command: "echo ran >> touched.log" } }
`;

/** The runbook's version hash, as the CLI reserves a run with it. */
function versionOf(name: string): string {
  const parsed = parseRunbook(RUNBOOK(name), 'runbook.yaml');
  if (!parsed.ok) throw new Error('test runbook invalid');
  return hashRunbook(parsed.runbook);
}

async function reserve(name: string, mode: 'rehearsal' | 'live', autoApprove = false): Promise<string> {
  const { runId } = await store.reserveRun({
    runbookName: name,
    mode,
    runbookVersion: '1',
    versionHash: versionOf(name),
    runbookSource: RUNBOOK(name),
    startedBy: 'alice',
    autoApprove,
    baseDir: h.dir,
  });
  return runId;
}

/** `temporal workflow start` with `input`, as a client with namespace access but no cutover would. */
async function stockStart(input: RunInput): Promise<void> {
  await run(temporal, [
    'workflow',
    'start',
    '--address',
    temporalAddress(),
    '--namespace',
    temporalNamespace(),
    '--task-queue',
    h.taskQueue,
    '--type',
    RUN_WORKFLOW_TYPE,
    '--workflow-id',
    input.runId,
    '--input',
    JSON.stringify(input),
  ]);
}

const input = (runId: string, extra: Partial<RunInput> = {}): RunInput => ({
  runId,
  runNumber: 1,
  versionHash: versionOf(runId.replace(/-\d+$/, '')),
  mode: 'rehearsal',
  startedBy: 'mallory',
  baseDir: h.dir,
  ...extra,
});

/** The failure the run ended with. */
async function failureOf(runId: string): Promise<{ type?: string; message: string }> {
  const err = await h.client.workflow
    .getHandle(runId)
    .result()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as { type?: string; message: string };
  return { type: cause.type, message: cause.message };
}

describe('a start through the stock temporal CLI', () => {
  it('a live run without rehearsal evidence or an override ends before any step, its refusal logged', async () => {
    const runId = await reserve('no-evidence', 'live');
    await stockStart(input(runId, { mode: 'live' }));
    const result = await resultOf(h.client.workflow.getHandle(runId));
    expect(result.status).toBe('failed');
    expect(result.outcome).toMatch(/^did not start: a live run needs .*rehearsal.*, or the lead's signed override; it had neither$/);
    const record = await store.getRun(runId);
    expect(record.status).toBe('failed');
    expect(record.steps.filter((s) => s.status !== 'pending')).toEqual([]);
    expect(record.decisions).toEqual([expect.objectContaining({ kind: 'refused', by: 'mallory', role: 'start' })]);
  });

  it("reusing an ended run's id as an auto-approved rehearsal is refused, and its record stays as it ended", async () => {
    const runId = await reserve('ended', 'rehearsal');
    expect((await resultOf(await h.start(RUNBOOK('ended'), { runId }))).status).toBe('completed');
    const before = await store.getRun(runId);
    await stockStart(input(runId, { autoApprove: true }));
    const failure = await failureOf(runId);
    expect(failure.type).toBe(FAILURE_TYPE.startRefused);
    expect(failure.message).toBe(`start refused: run ${runId} was started before (its record says completed); a run starts once`);
    const after = await store.getRun(runId);
    expect(after).toEqual(before);
  });

  it('a start in another mode or with --auto-approve the reservation does not have is refused and writes nothing', async () => {
    const rehearsal = await reserve('claims-live', 'rehearsal');
    await stockStart(input(rehearsal, { mode: 'live' }));
    expect((await failureOf(rehearsal)).message).toBe(`start refused: run ${rehearsal} was reserved as a rehearsal run, not a live one`);
    const plain = await reserve('claims-auto', 'rehearsal');
    await stockStart(input(plain, { autoApprove: true }));
    expect((await failureOf(plain)).message).toBe(`start refused: run ${plain} was reserved without --auto-approve, and started with it`);
    for (const id of [rehearsal, plain])
      expect(await store.getRun(id)).toMatchObject({ status: 'pending', startedAt: null, decisions: [] });
  });

  it("a start that names another folder than the runbook's is refused, and runs nothing there", async () => {
    const runId = await reserve('elsewhere', 'rehearsal');
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'cutover-elsewhere-'));
    await stockStart(input(runId, { baseDir: elsewhere }));
    expect((await failureOf(runId)).message).toBe(
      `start refused: run ${runId} was reserved for the runbook in ${h.dir}, and started for the folder ${elsewhere}`,
    );
    expect(existsSync(path.join(elsewhere, 'touched.log'))).toBe(false);
    expect(await store.getRun(runId)).toMatchObject({ status: 'pending', startedAt: null, decisions: [] });
  });

  it('the start the store reserved, with --auto-approve, goes on', async () => {
    const runId = await reserve('reserved-auto', 'rehearsal', true);
    await stockStart(input(runId, { autoApprove: true }));
    expect((await resultOf(h.client.workflow.getHandle(runId))).status).toBe('completed');
  });
});
