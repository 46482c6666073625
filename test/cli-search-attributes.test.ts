/**
 * A Temporal without cutover's search attributes (a fresh cluster, or `temporal server start-dev` without
 * `--search-attribute`): runs start with the memo only, run to their end, and `cutover doctor` keeps warning. Against a
 * dev server of its own that this file starts without them (the shared test server has them).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { findTemporalCli } from '../cli/temporal-cli.js';
import { startDevServer, type DevServer } from '../cli/temporal-server.js';
import { cliEnv, killStartedCli, PROJECT, runCli, startCli, startWorkerCli } from './support/cli.js';

let server: DevServer;
const serverDir = mkdtempSync(path.join(tmpdir(), 'cutover-bare-temporal-'));

beforeAll(async () => {
  server = await startDevServer({ cliPath: findTemporalCli(PROJECT), dataDir: serverDir, ui: false, searchAttributes: {} });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(serverDir, { recursive: true, force: true });
});

afterEach(killStartedCli);

it('a rehearsal starts with the memo only, completes, and doctor warns about the missing search attributes', async () => {
  // The premise: this server knows neither of cutover's search attributes.
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(customAttributes ?? {})).not.toContain('CutoverRunbook');
    expect(Object.keys(customAttributes ?? {})).not.toContain('CutoverMode');

    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-bare-'));
    writeFileSync(
      path.join(dir, 'runbook.yaml'),
      `name: hidden-par
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: dba, expected: 1s, action: { kind: shell, command: "echo copied" } }
      - { id: sign-off, title: Sign off, owner: dba, expected: 1s, depends_on: [copy], action: { kind: manual } }
`,
    );
    const env = cliEnv({ TEMPORAL_ADDRESS: server.address, CUTOVER_TASK_QUEUE: 'bare' });
    await startWorkerCli([], env, dir);
    const rehearse = startCli(['rehearse', 'runbook.yaml', '--auto-approve', '--as', 'alice'], env, dir);
    const code = await rehearse.exited;
    expect(rehearse.output()).not.toContain('refused to start');
    expect(code, rehearse.output()).toBe(0);
    expect(rehearse.output()).toContain('hidden-par-1 COMPLETED');

    // The memo says what the search attributes would have: runbook and mode.
    const description = await client.workflow.getHandle('hidden-par-1').describe();
    expect(description.memo).toMatchObject({ runbook: 'hidden-par', mode: 'rehearsal', startedBy: 'alice' });
    expect(Object.keys(description.raw.workflowExecutionInfo?.searchAttributes?.indexedFields ?? {})).not.toContain('CutoverRunbook');

    const status = runCli(['status', 'hidden-par-1'], env, dir);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('completed');

    const doctor = runCli(['doctor', '--json'], env, dir);
    const checks = JSON.parse(doctor.stdout) as Array<{ check: string; status: string; detail: string; fix?: string }>;
    expect(checks.find((c) => c.check === 'search attributes')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('runs still start') as string,
      fix: expect.stringContaining('temporal operator search-attribute create --namespace default') as string,
    });
  } finally {
    await connection.close();
  }
}, 180_000);
