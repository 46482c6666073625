/**
 * Secrets through the real `cutover` command against the test run's Temporal server, with
 * CUTOVER_PAYLOAD_KEY set: a step prints a secret from `${env:...}` and fails; the secret is in
 * none of what people and machines keep (the worker's output, `status`, the record store), and
 * Temporal's history holds neither the secret nor the step's command or output in plaintext.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, killStartedCli, runCli, startCli, startWorkerCli } from './support/cli.js';
import { temporalAddress } from './support/temporal.js';

afterEach(killStartedCli);

const SECRET = `crm-token-${randomBytes(6).toString('hex')}`;

describe('secrets in a run with the payload codec on', () => {
  it('never show in output, status, the store or history, and the run still completes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-secret-'));
    const name = `secret-${Date.now().toString(36)}`;
    writeFileSync(
      path.join(dir, 'runbook.yaml'),
      `name: ${name}
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: export, title: Export, owner: dba, expected: 1s, action: { kind: shell, command: "echo exported-marker-rows" } }
      - { id: push, title: Push, owner: dba, expected: 1s, depends_on: [export], idempotent: true, retry: { attempts: 2, interval: 1s }, action: { kind: shell, command: "echo \\"calling crm with \${env:CRM_TOKEN}\\"; echo \\"token \${env:CRM_TOKEN} refused\\" >&2; exit 3" } }
`,
    );
    const env = cliEnv({
      TEMPORAL_ADDRESS: temporalAddress(),
      CUTOVER_TASK_QUEUE: `secret-${name}`,
      CUTOVER_PAYLOAD_KEY: randomBytes(32).toString('base64'),
      CRM_TOKEN: SECRET,
    });
    const worker = await startWorkerCli([], env, dir, 'the worker');
    const rehearse = startCli(['rehearse', 'runbook.yaml', '--as', 'alice'], env, dir);
    // Backed out: `push` failed, `export` was undone (it has no back-out action).
    expect(await rehearse.exited, rehearse.output()).toBe(4);
    const runId = `${name}-1`;

    expect(rehearse.output()).toContain('token [secret env:CRM_TOKEN] refused');
    const status = runCli(['status', runId], env, dir);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('[secret env:CRM_TOKEN]');
    const json = runCli(['status', runId, '--json'], env, dir);
    expect(json.stdout).toContain('calling crm with [secret env:CRM_TOKEN]');
    worker.kill('SIGINT');
    await worker.exited;
    for (const said of [rehearse.output(), status.stdout, json.stdout, worker.output()]) expect(said).not.toContain(SECRET);

    // The record store (SQLite file and its journal) and the SDK's log in the data folder.
    const home = env.CUTOVER_HOME!;
    for (const file of readdirSync(home, { recursive: true, withFileTypes: true })) {
      if (!file.isFile()) continue;
      expect(readFileSync(path.join(file.parentPath, file.name)).includes(SECRET), file.name).toBe(false);
    }

    // History as a cluster keeps it, fetched without the key.
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    try {
      const history = await client.workflow.getHandle(runId).fetchHistory();
      const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
      expect(bytes.length).toBeGreaterThan(1000);
      expect(bytes.includes('binary/encrypted')).toBe(true);
      // The first attempt failed in history (ActivityTaskFailed): its message is encrypted too.
      expect(history.events!.some((e) => e.activityTaskFailedEventAttributes || e.activityTaskStartedEventAttributes?.attempt === 2)).toBe(
        true,
      );
      for (const plain of [SECRET, 'exported-marker-rows', 'calling crm with', 'CRM_TOKEN', 'refused']) {
        expect(bytes.includes(plain), plain).toBe(false);
      }
    } finally {
      await client.connection.close();
    }
  });
});
