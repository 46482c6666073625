/**
 * Workers with CUTOVER_PAYLOAD_KEY take only encrypted inputs (issue 17): a run started through the stock `temporal`
 * CLI with a plain input ends before anything, and a plain Update is refused, each with one sentence that says to go
 * through `cutover codec-server`; the same start and the same Update sent through the codec endpoint go through. A
 * built `cutover worker` with the key runs the run; the record store is a real SQLite file.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { payloadCodecs } from '../common/payload-codec.js';
import { readRunState } from '../common/read-run-state.js';
import type { RecordStore } from '../prisma/record-store.js';
import { openRecordStore } from '../prisma/store.js';
import { FAILURE_TYPE } from '../run/failures.js';
import type { RunInput } from '../run/state.js';
import { hashRunbook } from '../run/version-hash.js';
import { parseRunbook } from '../runbook/parse.js';
import { RUN_WORKFLOW_TYPE } from '../workflows/messages.js';
import { cliEnv, eventually, killStartedCli, PROJECT, startCli, startWorkerCli } from './support/cli.js';
import { temporalAddress, temporalNamespace } from './support/temporal.js';
import { migratedStoreAt } from './support/store-template.js';

afterEach(killStartedCli);
let store: RecordStore | undefined;
let client: Client | undefined;
afterAll(async () => {
  await store?.close();
  await client?.connection.close();
});

const TOKEN = randomBytes(24).toString('hex');
const KEY = randomBytes(32);

/** The stock `temporal` CLI; with `codec`, through the codec server at that URL with the token. */
function temporal(args: string[], codec?: string): { code: number | null; output: string } {
  const bin = path.join(PROJECT, '.tools', 'bin', 'temporal');
  const through = codec ? ['--codec-endpoint', codec, '--codec-auth', `Bearer ${TOKEN}`] : [];
  const result = spawnSync(bin, [...args, '--address', temporalAddress(), '--namespace', temporalNamespace(), ...through], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('a worker with CUTOVER_PAYLOAD_KEY', () => {
  it('refuses a start and an Update that arrived unencrypted, and takes them through the codec server', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-plain-'));
    const name = `plain-${Date.now().toString(36)}`;
    const source = `name: ${name}
version: "1"
lead: lead
roles: { lead: [alice] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: lead, expected: 1s, action: { kind: shell, command: "echo copied >> copied.log" } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, depends_on: [copy], gate: { approvers: [lead] } }
`;
    writeFileSync(path.join(dir, 'runbook.yaml'), source);
    const databaseUrl = migratedStoreAt(path.join(dir, 'cutover.db'));
    const env = cliEnv({
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: temporalNamespace(),
      CUTOVER_TASK_QUEUE: name,
      CUTOVER_PAYLOAD_KEY: KEY.toString('base64'),
      CUTOVER_CODEC_TOKEN: TOKEN,
      CUTOVER_DATABASE_URL: databaseUrl,
    });
    store = await openRecordStore({ databaseUrl });
    const parsed = parseRunbook(source, 'runbook.yaml');
    if (!parsed.ok) throw new Error('test runbook invalid');
    const versionHash = hashRunbook(parsed.runbook);
    const { runId } = await store.reserveRun({
      runbookName: name,
      mode: 'rehearsal',
      runbookVersion: '1',
      versionHash,
      runbookSource: source,
      startedBy: 'alice',
    });
    await startWorkerCli([], env, dir);
    const server = startCli(['codec-server', '--port', '0'], env, dir);
    const line = await eventually(server.output, (o) => o.includes('Ctrl-C'), 60_000, 'the codec server');
    const codec = /codec server on (http:\/\/\S+) /.exec(line)![1]!;
    client = new Client({
      connection: await Connection.connect({ address: temporalAddress() }),
      namespace: temporalNamespace(),
      dataConverter: { payloadCodecs: payloadCodecs(KEY) },
    });

    const input: RunInput = { runId, runNumber: 1, versionHash, mode: 'rehearsal', startedBy: 'alice', baseDir: dir };
    const start = [
      'workflow',
      'start',
      '--task-queue',
      name,
      '--type',
      RUN_WORKFLOW_TYPE,
      '--workflow-id',
      runId,
      '--input',
      JSON.stringify(input),
    ];

    // Plain: the run ends before anything, and says what to use.
    const plain = temporal(start);
    expect(plain.code, plain.output).toBe(0);
    await eventually(
      () =>
        client!.workflow
          .getHandle(runId)
          .describe()
          .then((d) => d.status.name),
      (status) => status !== 'RUNNING',
      60_000,
      'the plain start to end',
    );
    const failed = await client.workflow
      .getHandle(runId)
      .result()
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    const cause = (failed as WorkflowFailedError).cause as { type?: string; message: string };
    expect(cause.type).toBe(FAILURE_TYPE.unencryptedInput);
    expect(cause.message).toBe(
      "this start arrived unencrypted, and the run's workers hold CUTOVER_PAYLOAD_KEY, so they take only encrypted ones: send it with cutover, or with the temporal CLI through `cutover codec-server` (--codec-endpoint and --codec-auth)",
    );
    // Readable without the key: the sender has none.
    const shown = temporal(['workflow', 'show', '--workflow-id', runId]);
    expect(shown.output).toContain('this start arrived unencrypted');
    const untouched = await store.getRun(runId);
    expect(untouched.status).toBe('pending');
    expect(untouched.steps).toEqual([]);

    // The same start through the codec server: the run goes, up to its gate.
    const encrypted = temporal(start, codec);
    expect(encrypted.code, encrypted.output).toBe(0);
    const handle = client.workflow.getHandle(runId);
    // (Asked again on any error: with the key, the run's "still reading its runbook" reaches a client as "Encoded failure".)
    await eventually(
      () => readRunState(handle).then((read) => read.state.steps.go?.gate?.status, String),
      (gate) => gate === 'open',
      60_000,
      'the gate to open',
    );

    // A plain vote is refused at the door, with the same advice; through the codec server it counts.
    const vote = [
      'workflow',
      'update',
      'execute',
      '--workflow-id',
      runId,
      '--name',
      'approveGate',
      '--input',
      JSON.stringify({ gateId: 'go', by: 'alice' }),
    ];
    const plainVote = temporal(vote);
    expect(plainVote.code).not.toBe(0);
    expect(plainVote.output).toContain(
      "this request arrived unencrypted, and the run's workers hold CUTOVER_PAYLOAD_KEY, so they take only encrypted ones: send it with cutover, or with the temporal CLI through `cutover codec-server` (--codec-endpoint and --codec-auth)",
    );
    expect((await readRunState(handle)).state.steps.go?.gate?.votes).toEqual([]);
    const codecVote = temporal(vote, codec);
    expect(codecVote.code, codecVote.output).toBe(0);
    expect(await handle.result()).toMatchObject({ status: 'completed' });
  }, 240_000);
});
