/**
 * Bad input gets one clear sentence and the documented exit code, never a stack trace:
 * runbooks, arguments, unknown runs, an unreachable Temporal, a broken database.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { approveGateUpdate, RUN_WORKFLOW_TYPE } from '../workflows/messages.js';
import { isTooBusy } from '../cli/temporal.js';
import { cliEnv, eventually, killStartedCli, runCli, startCli } from './support/cli.js';
import { temporalAddress, temporalNamespace } from './support/temporal.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-bad-'));
const file = (name: string, text: string) => {
  const full = path.join(dir, name);
  writeFileSync(full, text);
  return full;
};

function expectNoStack(stderr: string) {
  expect(stderr).not.toMatch(/\n\s+at /);
}

/** A configuration error: exit 6, one line on stderr naming `setting`, no stack trace; returns the line. */
function expectConfigurationError(result: { code: number | null; stderr: string }, setting: string): string {
  expect(result.code, result.stderr).toBe(6);
  const message = result.stderr.trim();
  expect(message.split('\n')).toHaveLength(1);
  expect(message).toMatch(/^cutover: /);
  expect(message).toContain(setting);
  expectNoStack(result.stderr);
  return message;
}

/** gRPC's RESOURCE_EXHAUSTED: Temporal's answer when a run has as many requests in flight as it takes. */
const isBusy = (status: { code: number }) => status.code === 8;

describe('validate', () => {
  it('accepts the sample runbook', () => {
    const result = runCli(['validate', 'examples/sample/runbook.yaml'], cliEnv());
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/examples\/sample\/runbook\.yaml: valid — sample-crm v1\.0, 7 phases, \d+ steps/);
    expect(result.code).toBe(0);
  });

  it('lists every problem with file:line:column and exits 3', () => {
    const bad = file(
      'bad.yaml',
      `name: bad
version: 1
lead: lead
roles:
  lead: [alice]
phases:
  - id: p
    kind: migration
    steps:
      - id: a
        title: A
        owner: dba
        action: { kind: shell, command: "true" }
      - id: b
        title: B
        owner: lead
        depend_on: [a]
        action: { kind: shell, command: "true" }
`,
    );
    const result = runCli(['validate', bad], cliEnv());
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      /bad\.yaml:17:9 phases\[0\]\.steps\[1\]\.depend_on: unknown field `depend_on`; did you mean `depends_on`\?/,
    );
    expectNoStack(result.stderr);
    // Once the shape is right, the rules that need the whole document speak.
    writeFileSync(bad, readFileSync(bad, 'utf8').replace('depend_on', 'depends_on'));
    const second = runCli(['validate', bad], cliEnv());
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(/bad\.yaml:12:16 phases\[0\]\.steps\[0\]\.owner: owner role `dba` is not defined in `roles`/);
  });

  it('prints problems as JSON with --json', () => {
    const bad = file('bad2.yaml', 'name: x\nversion: 1\nlead: l\nroles: { l: [a] }\nphases: []\n');
    const result = runCli(['validate', bad, '--json'], cliEnv());
    expect(result.code).toBe(3);
    const report = JSON.parse(result.stdout) as { valid: boolean; problems: Array<{ line: number; path: string }> };
    expect(report.valid).toBe(false);
    expect(report.problems[0]).toMatchObject({ line: 5, path: 'phases' });
  });

  it('names a missing file', () => {
    const result = runCli(['validate', 'nope.yaml'], cliEnv());
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('cutover: runbook file nope.yaml does not exist');
  });
});

describe('arguments', () => {
  it('an unknown command is a usage error with a suggestion', () => {
    const result = runCli(['aprove'], cliEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('(Did you mean approve?)');
  });

  it('a live run needs --live and --confirm', () => {
    const result = runCli(['run', 'examples/sample/runbook.yaml', '--live'], cliEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('a live run needs both --live and --confirm');
  });

  it('refuses a live run of a runbook with simulated actions, before starting anything', () => {
    const result = runCli(['run', 'examples/sample/runbook.yaml', '--live', '--confirm'], cliEnv());
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('cannot run live');
    expect(result.stderr).toContain('warm-caches');
  });

  it('approve needs to know who you are', () => {
    const result = runCli(['approve', 'run-1', 'go'], cliEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('say who you are with --as PERSON');
  });

  it('a rejection needs a reason', () => {
    const result = runCli(['reject', 'run-1', 'go', '--as', 'dana'], cliEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('a rejection needs --reason');
  });

  it('--help lists the commands and the exit codes', () => {
    const result = runCli(['--help'], cliEnv());
    expect(result.code).toBe(0);
    for (const command of [
      'validate',
      'rehearse',
      'run',
      'approve',
      'reject',
      'done',
      'backout',
      'resolve',
      'status',
      'list',
      'worker',
      'web',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`\\n  ${command} `));
    }
    expect(result.stdout).toContain('4  the run backed out');
  });
});

describe('runs and environment', () => {
  it('an unknown run id is named, exit 2', () => {
    const result = runCli(['status', 'no-such-run-7'], cliEnv());
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('cutover: there is no run `no-such-run-7`; `cutover list` shows the runs');
  });

  it('an unreachable Temporal cluster says where it looked, exit 6', () => {
    const result = runCli(['approve', 'crm-1', 'go', '--as', 'alice'], cliEnv({ TEMPORAL_ADDRESS: '127.0.0.1:9' }));
    expect(result.code).toBe(6);
    expect(result.stderr).toContain('cannot reach Temporal at 127.0.0.1:9');
    expectNoStack(result.stderr);
  });

  it('a rehearsal against an unreachable cluster fails before anything is recorded', () => {
    const env = cliEnv({ TEMPORAL_ADDRESS: '127.0.0.1:9' });
    const result = runCli(['rehearse', 'examples/sample/runbook.yaml'], env);
    expect(result.code).toBe(6);
    expect(result.stderr).toContain('cannot reach Temporal at 127.0.0.1:9');
    expect(runCli(['list', '--json'], env).stdout.trim()).toBe('[]');
  });

  it('a namespace that does not exist is named, with how to create it', () => {
    const env = cliEnv({ TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: 'no-such-namespace' });
    const result = runCli(['rehearse', 'examples/sample/runbook.yaml'], env);
    expect(result.code).toBe(6);
    expect(result.stderr.trim()).toBe(
      `cutover: namespace no-such-namespace does not exist on Temporal at ${temporalAddress()}; create it (temporal operator namespace create --namespace no-such-namespace) or set TEMPORAL_NAMESPACE`,
    );
    expect(runCli(['list', '--json'], env).stdout.trim()).toBe('[]');
  });

  it('a database file that is not a database is named, exit 6, and left untouched', () => {
    const broken = file('broken.db', 'this is not sqlite\n'.repeat(100));
    const result = runCli(['list'], cliEnv({ CUTOVER_DATABASE_URL: `file:${broken}` }));
    expect(result.code).toBe(6);
    expect(result.stderr).toContain(broken);
    expectNoStack(result.stderr);
  });

  it('a failed migration says what to do and names CUTOVER_DATABASE_URL, exit 6, then and on the next try', () => {
    // A file holding tables cutover did not create, once with and once without Prisma's migration table.
    for (const withMigrationTable of [false, true]) {
      const home = mkdtempSync(path.join(tmpdir(), 'cutover-foreign-'));
      const db = new Database(path.join(home, 'cutover.db'));
      db.exec('CREATE TABLE Run (x INTEGER)');
      if (withMigrationTable) {
        db.exec(
          'CREATE TABLE _prisma_migrations (id TEXT PRIMARY KEY, checksum TEXT NOT NULL, finished_at DATETIME, migration_name TEXT NOT NULL, ' +
            'logs TEXT, rolled_back_at DATETIME, started_at DATETIME NOT NULL DEFAULT current_timestamp, applied_steps_count INTEGER NOT NULL DEFAULT 0)',
        );
      }
      db.close();
      const env = cliEnv({ CUTOVER_HOME: home });
      const first = expectConfigurationError(runCli(['list'], env), 'CUTOVER_DATABASE_URL');
      expect(first).toMatch(/tables .*cutover did not create: point CUTOVER_DATABASE_URL at an empty database/);
      if (withMigrationTable) {
        // The failed migration is now recorded half-way: Prisma refuses to go on, and the sentence says how to start afresh.
        const again = expectConfigurationError(runCli(['list'], env), 'CUTOVER_DATABASE_URL');
        expect(again).toMatch(/failed half-way .*start afresh on an empty database/);
      }
    }
  }, 60_000);

  it('list on a fresh store says how to start', () => {
    const result = runCli(['list'], cliEnv());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('no runs recorded yet');
  });
});

describe('configuration errors: one sentence naming the setting, exit 6', () => {
  it('a malformed TEMPORAL_ADDRESS is refused at once, before any connection attempt', () => {
    for (const address of ['http://temporal.example.com:7233', 'temporal.example.com:port', 'two words']) {
      const started = Date.now();
      const message = expectConfigurationError(
        runCli(['approve', 'crm-1', 'go', '--as', 'alice'], cliEnv({ TEMPORAL_ADDRESS: address })),
        'TEMPORAL_ADDRESS',
      );
      expect(message).toContain(`TEMPORAL_ADDRESS \`${address}\` is not host:port`);
      expect(Date.now() - started).toBeLessThan(8_000);
    }
  });

  it('TEMPORAL_TLS_CERT without TEMPORAL_TLS_KEY, and cluster settings without TEMPORAL_ADDRESS', () => {
    const half = expectConfigurationError(
      runCli(['list'], cliEnv({ TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_TLS_CERT: '/etc/cutover/client.pem' })),
      'TEMPORAL_TLS_KEY',
    );
    expect(half).toBe('cutover: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set TEMPORAL_TLS_KEY too for mTLS, or neither');
    const orphan = expectConfigurationError(runCli(['list'], cliEnv({ TEMPORAL_NAMESPACE: 'prod' })), 'TEMPORAL_ADDRESS');
    expect(orphan).toContain('TEMPORAL_NAMESPACE needs TEMPORAL_ADDRESS');
  });

  it('a TLS file that cannot be read, against a real Temporal server', () => {
    const env = cliEnv({
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: temporalNamespace(),
      TEMPORAL_TLS_CA: '/no/such/ca.pem',
    });
    const message = expectConfigurationError(runCli(['approve', 'crm-1', 'go', '--as', 'alice'], env), 'TEMPORAL_TLS_CA');
    expect(message).toBe(
      'cutover: cannot read the TEMPORAL_TLS_CA file /no/such/ca.pem (ENOENT): point TEMPORAL_TLS_CA at a readable PEM file, or unset it',
    );
    const cert = file('unreadable-cert.pem', 'not read');
    const keyDir = mkdtempSync(path.join(tmpdir(), 'cutover-key-'));
    // A folder where a key file should be: readable by root too, so this holds whoever runs the tests.
    const withPair = cliEnv({ TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: keyDir });
    expect(expectConfigurationError(runCli(['approve', 'crm-1', 'go', '--as', 'alice'], withPair), 'TEMPORAL_TLS_KEY')).toContain(
      `cannot read the TEMPORAL_TLS_KEY file ${keyDir} (EISDIR)`,
    );
  });

  it('a bad CUTOVER_PAYLOAD_KEY', () => {
    const message = expectConfigurationError(runCli(['list'], cliEnv({ CUTOVER_PAYLOAD_KEY: 'not-a-key' })), 'CUTOVER_PAYLOAD_KEY');
    expect(message).toMatch(/must be 32 bytes .*; fix or unset it$/);
  });
});

describe('decisions on a run that does not answer', () => {
  afterEach(killStartedCli);

  /** A run in Temporal on a task queue no worker polls: it exists, and nothing will ever answer it. */
  async function silentRun(client: Client, prefix: string): Promise<string> {
    const runId = `${prefix}-${Date.now().toString(36)}`;
    await client.workflow.start(RUN_WORKFLOW_TYPE, { taskQueue: `nobody-polls-${runId}`, workflowId: runId, args: [{}] });
    return runId;
  }

  it('an approval with no worker polling gives up after CUTOVER_UPDATE_TIMEOUT, in one sentence, exit 8', async () => {
    const connection = await Connection.connect({ address: temporalAddress() });
    try {
      const runId = await silentRun(new Client({ connection, namespace: temporalNamespace() }), 'silent');
      const env = cliEnv({ TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: temporalNamespace(), CUTOVER_UPDATE_TIMEOUT: '2' });
      const started = Date.now();
      const approve = startCli(['approve', runId, 'go', '--as', 'alice'], env);
      const code = await approve.exited;
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(code, approve.output()).toBe(8);
      expect(approve.output().trim()).toBe(
        `cutover: no answer from run ${runId} within 2 s: usually no worker is polling for it (no \`cutover worker\` or rehearse running) ` +
          `or its record store is stalled; the request may still be applied when the run catches up: check with \`cutover status ${runId}\` before asking again`,
      );
    } finally {
      await connection.close();
    }
  });

  it('a bad CUTOVER_UPDATE_TIMEOUT is a usage error', () => {
    const result = runCli(['approve', 'crm-1', 'go', '--as', 'alice'], cliEnv({ CUTOVER_UPDATE_TIMEOUT: 'soon' }));
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('cutover: CUTOVER_UPDATE_TIMEOUT wants a number of seconds greater than 0 (default 30), not `soon`');
  });

  it('too many decisions in flight on one run are refused in one sentence, not as a bug', async () => {
    const connection = await Connection.connect({ address: temporalAddress() });
    const waiting = new AbortController();
    try {
      const client = new Client({ connection, namespace: temporalNamespace() });
      const runId = await silentRun(client, 'crowded');
      // Temporal takes 10 Updates in flight per execution; these wait for a worker that never comes.
      const handle = client.workflow.getHandle(runId);
      const inFlight = Array.from({ length: 10 }, (_, i) =>
        client
          .withAbortSignal(waiting.signal, () => handle.executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: `voter-${i}` }] }))
          .catch(() => undefined),
      );
      // The ten take a moment to reach the server on a busy machine: wait until the run refuses one more (asked on a
      // connection that does not retry a refusal; a request that is taken instead only makes the run fuller).
      const defaults = defaultGrpcRetryOptions();
      const probe = await Connection.connect({
        address: temporalAddress(),
        interceptors: [
          makeGrpcRetryInterceptor({
            ...defaults,
            retryableDecider: (attempt, status) => !isBusy(status) && defaults.retryableDecider(attempt, status),
          }),
        ],
      });
      try {
        const prober = new Client({ connection: probe, namespace: temporalNamespace() });
        const ask = () =>
          prober
            .withDeadline(Date.now() + 2_000, () =>
              prober.workflow.getHandle(runId).executeUpdate(approveGateUpdate, { args: [{ gateId: 'go', by: 'prober' }] }),
            )
            .then(
              () => false,
              (err: unknown) => isTooBusy(err),
            );
        await eventually(ask, (refused) => refused, 60_000, 'the run to refuse an eleventh request');
      } finally {
        await probe.close();
      }
      const env = cliEnv({ TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: temporalNamespace(), CUTOVER_UPDATE_TIMEOUT: '20' });
      const approve = startCli(['approve', runId, 'go', '--as', 'alice'], env);
      // It gives up after CUTOVER_UPDATE_TIMEOUT (20 s) at the latest; a CLI still running well after that is a hang.
      const code = await Promise.race([approve.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 90_000))]);
      expect(code, approve.output()).toBe(6);
      expect(approve.output()).toMatch(
        new RegExp(
          `^cutover: Temporal refused the request: run ${runId} already has as many requests in flight as it takes at once \\(.*limit.*\\); it was not applied: try again in a moment`,
        ),
      );
      expect(approve.output()).not.toMatch(/\n\s+at /);
      waiting.abort();
      // Aborted, the ten end at once; a test that timed out here (fresh-60) said nothing of where it waited.
      const ended = await Promise.race([Promise.all(inFlight).then(() => true), new Promise((r) => setTimeout(() => r(false), 30_000))]);
      expect(ended, 'the ten Updates in flight had not ended 30 s after they were aborted').toBe(true);
    } finally {
      waiting.abort();
      await connection.close();
    }
    // Up to a minute for the run to fill up and 90 s for the CLI: a loaded 2-core machine took longer than 120 s.
  }, 240_000);
});
