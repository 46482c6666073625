/**
 * `cutover doctor` through the real command, against the test run's Temporal server (a cluster, as far as cutover
 * knows), a real `cutover worker`, a pool's worker polling its task queue, and a real PostgreSQL with a password.
 * Doctor only looks: it never creates the database or applies a migration.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parsePayloadKey, payloadCodecs } from '../common/payload-codec.js';
import { poolTaskQueue } from '../runbook/pools.js';
import { PATCHES } from '../workflows/patches.js';
import { LEGACY_RUN_WORKFLOW_TYPE, RUN_WORKFLOW_TYPE, WORKFLOW_VERSION, WORKFLOW_VERSION_MEMO } from '../workflows/messages.js';
import { cliEnv, eventually, killStartedCli, PROJECT, startCli, startWorkerCli } from './support/cli.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';
import { temporalAddress, temporalNamespace } from './support/temporal.js';

/** The migrations this version of cutover ships (PostgreSQL's; SQLite has the same names), oldest first. */
const MIGRATIONS = readdirSync(path.join(PROJECT, 'prisma', 'postgres', 'migrations'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

interface Check {
  check: string;
  status: 'ok' | 'warn' | 'FAIL' | 'skip';
  detail: string;
  fix?: string;
}

const PASSWORD = 'doctor-pg-secret';
let postgres: TestPostgres;

beforeAll(async () => {
  // The pool's worker below would otherwise log every state change into the test output.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  postgres = await startPostgres({ password: PASSWORD });
}, 60_000);

afterAll(async () => {
  await postgres?.stop();
});

afterEach(killStartedCli);

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-doctor-'));
const runbook = path.join(dir, 'pooled.yaml');
writeFileSync(
  runbook,
  `name: pooled
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
people: { alice: { key: "ed25519:${Buffer.alloc(32, 7).toString('base64')}" } }
phases:
  - id: p
    kind: migration
    steps:
      - { id: freeze, title: Freeze, owner: dba, expected: 1s, runs_on: db-host, action: { kind: shell, command: "echo frozen" } }
      - { id: load, title: Load, owner: dba, expected: 1s, depends_on: [freeze], action: { kind: shell, command: "echo loaded" } }
`,
);

/**
 * Runs `cutover doctor ...args` without blocking this process (a pool's worker polls from it meanwhile).
 * With --json, also parses the checks.
 */
function doctor(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string; checks: Check[] }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(PROJECT, 'bin', 'cutover.js'), 'doctor', ...args],
      { env, cwd: PROJECT, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr, checks: args.includes('--json') ? (JSON.parse(stdout) as Check[]) : [] });
      },
    );
  });
}

const byName = (checks: Check[], name: string): Check => {
  const found = checks.find((c) => c.check === name);
  if (!found) throw new Error(`no check ${name} in ${JSON.stringify(checks)}`);
  return found;
};

/** A cluster environment with a task queue of its own, so other tests' workers do not count. */
function clusterEnv(extra: Record<string, string> = {}): Record<string, string> {
  return cliEnv({
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: temporalNamespace(),
    CUTOVER_TASK_QUEUE: `doctor-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
    ...extra,
  });
}

/** An activity-only worker on a pool's task queue, as `cutover worker --pool` would run on the pool's machine. */
async function startPoolWorker(taskQueue: string, pool: string): Promise<() => Promise<void>> {
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const worker = await Worker.create({
    connection,
    namespace: temporalNamespace(),
    taskQueue: poolTaskQueue(taskQueue, pool),
    identity: `pool-worker@${pool}`,
    activities: { noop: async () => undefined },
  });
  const running = worker.run();
  return async () => {
    worker.shutdown();
    await running;
    await connection.close();
  };
}

describe('cutover doctor on a cluster', () => {
  it('everything in place: every check ok, the workers named, exit 0; --json has the same checks', async () => {
    const env = clusterEnv();
    await startWorkerCli([], env, dir, 'the worker');
    const stopPool = await startPoolWorker(env.CUTOVER_TASK_QUEUE!, 'db-host');
    try {
      const json = await doctor([runbook, '--json'], env);
      expect(json.code, json.stdout + json.stderr).toBe(0);
      expect(json.checks.map((c) => c.check)).toEqual([
        'settings',
        'tls',
        'temporal',
        'namespace',
        'search attributes',
        'record store',
        'workers',
        'pool db-host',
        `runbook ${runbook}`,
        'retired types',
        'patches',
      ]);
      expect(byName(json.checks, `runbook ${runbook}`).detail).toBe(
        'ready for a live run (every person who answers has a signing key listed)',
      );
      for (const check of json.checks) {
        expect(Object.keys(check).sort()).toEqual(['check', 'detail', 'status']);
        expect(check.status, JSON.stringify(check)).toBe('ok');
      }
      expect(byName(json.checks, 'workers').detail).toMatch(
        new RegExp(`task queue ${env.CUTOVER_TASK_QUEUE}: workflow tasks polled by \\d+@`),
      );
      expect(byName(json.checks, 'pool db-host').detail).toContain('served by pool-worker@db-host');
      expect(byName(json.checks, 'record store').detail).toContain(`${MIGRATIONS.length} migrations applied, none pending`);
      expect(byName(json.checks, 'retired types').detail).toBe(
        `no open runRunbook execution on task queue ${env.CUTOVER_TASK_QUEUE}: none here needs its frozen code`,
      );
      expect(byName(json.checks, 'patches').detail).toBe(
        `no open execution on task queue ${env.CUTOVER_TASK_QUEUE} predates the ${Object.keys(PATCHES).length} patches in the ledger: each may take its next step (workflows/patches.ts)`,
      );

      const text = await doctor([runbook], env);
      expect(text.code, text.stdout + text.stderr).toBe(0);
      const lines = text.stdout.trim().split('\n');
      expect(lines).toHaveLength(11);
      for (const line of lines) expect(line).toMatch(/^ok {4}/);
      expect(text.stderr).toBe('');
    } finally {
      await stopPool();
    }
  });

  it('no worker on the task queue and none for the pool: FAIL with what to run, exit 6', async () => {
    const env = clusterEnv();
    const result = await doctor([runbook, '--json'], env);
    expect(result.code, result.stdout + result.stderr).toBe(6);
    expect(byName(result.checks, 'workers')).toEqual({
      check: 'workers',
      status: 'FAIL',
      detail: `no worker polls task queue ${env.CUTOVER_TASK_QUEUE}: runs started now would wait`,
      fix: `start \`cutover worker\` on a machine (with CUTOVER_TASK_QUEUE=${env.CUTOVER_TASK_QUEUE})`,
    });
    expect(byName(result.checks, 'pool db-host')).toMatchObject({
      status: 'FAIL',
      detail: expect.stringContaining('no worker serves pool db-host') as string,
      fix: 'run `cutover worker --pool db-host` on that machine',
    });
    // The checks before still ran and passed.
    expect(byName(result.checks, 'namespace').status).toBe('ok');

    // A runbook whose approver has no signing key is told before the night, as a warning (rehearsals need none).
    const unsigned = path.join(dir, 'unsigned.yaml');
    writeFileSync(
      unsigned,
      `name: unsigned\nversion: 1\nlead: lead\nroles: { lead: [alice], owner: [dana] }\npeople: { alice: { key: "ed25519:${Buffer.alloc(32, 7).toString('base64')}" } }\n` +
        `phases:\n  - id: decide\n    kind: go_no_go\n    steps:\n      - { id: go, title: Go, owner: lead, gate: { approvers: [owner] } }\n`,
    );
    const withUnsigned = await doctor([unsigned, '--json'], env);
    expect(byName(withUnsigned.checks, `runbook ${unsigned}`)).toEqual({
      check: `runbook ${unsigned}`,
      status: 'warn',
      detail:
        'not ready for a live run: dana is an approver of gate `go`, and a live run takes only signed requests, but `people` lists no key for dana; they run `cutover keys init`, and the key `cutover keys show` prints goes under `people`',
      fix: '`cutover run --live` refuses it until this is fixed; rehearsals are not affected',
    });

    const text = await doctor([runbook], env);
    expect(text.code).toBe(6);
    expect(text.stdout).toMatch(/^FAIL {2}workers +no worker polls task queue .*; start `cutover worker` on a machine/m);
    expect(text.stdout).toMatch(
      /^FAIL {2}pool db-host +no worker serves pool db-host .*; run `cutover worker --pool db-host` on that machine$/m,
    );
  });

  it('a run in flight names the pools its runbook uses, without the file being given', async () => {
    const env = clusterEnv();
    const name = `inflight-${Date.now().toString(36)}`;
    const file = path.join(dir, `${name}.yaml`);
    // The manual step keeps the run in flight; the pooled step after it is what it will need.
    writeFileSync(
      file,
      `name: ${name}
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: check-in, title: Check in, owner: dba, expected: 1m, action: { kind: manual } }
      - { id: freeze, title: Freeze, owner: dba, expected: 1s, depends_on: [check-in], runs_on: legacy-db, action: { kind: shell, command: "echo frozen" } }
`,
    );
    await startWorkerCli([], env, dir, 'the worker');
    const follower = startCli(['rehearse', file, '--as', 'alice'], env, dir);
    await eventually(
      () => follower.output(),
      (o) => o.includes('manual step for dba'),
      60_000,
      'the manual step',
    );
    try {
      const result = await doctor(['--json'], env);
      expect(byName(result.checks, 'pool legacy-db')).toMatchObject({
        status: 'FAIL',
        detail: expect.stringContaining(`named by run ${name}-1`) as string,
      });
      expect(result.code).toBe(6);
      // `cutover rehearse` stamped the version of the workflow code it started the run for: no patch waits for it.
      const connection = await Connection.connect({ address: temporalAddress() });
      const described = await new Client({ connection, namespace: temporalNamespace() }).workflow.getHandle(`${name}-1`).describe();
      await connection.close();
      expect(described.memo).toMatchObject({ runbook: name, [WORKFLOW_VERSION_MEMO]: WORKFLOW_VERSION });
      expect(byName(result.checks, 'patches').status).toBe('ok');
    } finally {
      // Not left running on the shared server.
      const connection = await Connection.connect({ address: temporalAddress() });
      await new Client({ connection, namespace: temporalNamespace() }).workflow
        .getHandle(`${name}-1`)
        .terminate('test over')
        .catch(() => undefined);
      await connection.close();
    }
  });

  it('open runs that still need old workflow code: a retired type, and runs older than the live patches, named as warnings', async () => {
    const key = Buffer.alloc(32, 9).toString('base64');
    const env = clusterEnv({ CUTOVER_PAYLOAD_KEY: key });
    const taskQueue = env.CUTOVER_TASK_QUEUE!;
    const connection = await Connection.connect({ address: temporalAddress() });
    const client = new Client({ connection, namespace: temporalNamespace() });
    const encrypting = new Client({
      connection,
      namespace: temporalNamespace(),
      dataConverter: { payloadCodecs: payloadCodecs(parsePayloadKey(key)) },
    });
    const id = (what: string) => `doctor-${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    // Started on doctor's task queue, where no worker polls: as far as Temporal knows, they are runs in flight.
    const handles = [
      await client.workflow.start(LEGACY_RUN_WORKFLOW_TYPE, { taskQueue, workflowId: id('v1'), args: [{}] }),
      // Started by a cutover from before versions were stamped.
      await client.workflow.start(RUN_WORKFLOW_TYPE, { taskQueue, workflowId: id('unstamped'), args: [{}], memo: { runbook: 'old' } }),
      // Started by today's cutover with CUTOVER_PAYLOAD_KEY set: its memo is encrypted.
      await encrypting.workflow.start(RUN_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: id('current'),
        args: [{}],
        memo: { runbook: 'new', [WORKFLOW_VERSION_MEMO]: WORKFLOW_VERSION },
      }),
    ];
    const [legacy, unstamped, current] = handles.map((handle) => handle.workflowId);
    // One warning per version the live patches came with, the oldest first.
    const versions = [...new Set(Object.values(PATCHES).map((patch) => patch.since))];
    const patchIds = (since: number) =>
      Object.values(PATCHES)
        .filter((patch) => patch.since === since)
        .map((patch) => patch.id)
        .join(', ');
    try {
      // Temporal's list of open runs catches up with the starts a moment later.
      const result = await eventually(
        () => doctor(['--json'], env),
        (r) => r.checks.some((c) => c.check === 'patches' && c.status === 'warn'),
        30_000,
        'doctor to see the runs',
      );
      expect(byName(result.checks, 'retired types')).toEqual({
        check: 'retired types',
        status: 'warn',
        detail: `1 open runRunbook execution on task queue ${taskQueue} (a retired type): its frozen code stays until they close: ${legacy}`,
      });
      expect(result.checks.filter((c) => c.check === 'patches')).toEqual(
        versions.map((since) => ({
          check: 'patches',
          status: 'warn',
          detail: `${patchIds(since).includes(',') ? 'patches' : 'patch'} ${patchIds(since)} can be deprecated once this execution closes: ${unstamped}`,
        })),
      );
      // Warnings: nothing is wrong for the night (exit 6 here is for the missing workers only).
      expect(result.checks.filter((c) => c.status === 'FAIL').map((c) => c.check)).toEqual(['workers']);

      // Without the key, a run whose memo is encrypted cannot be told from an old one, and doctor says why.
      const keyless = await doctor(['--json'], { ...env, CUTOVER_PAYLOAD_KEY: '' });
      const patches = byName(keyless.checks, 'patches');
      expect(patches.status).toBe('warn');
      expect(patches.detail).toContain('once these 2 executions close: ');
      expect(patches.detail).toContain(unstamped);
      expect(patches.detail).toContain(current);
      expect(patches.detail).toMatch(/\(1 with a memo that could not be decrypted: set CUTOVER_PAYLOAD_KEY as the workers have it\)$/);

      const text = await doctor([], env);
      expect(text.stdout).toMatch(
        new RegExp(`^warn  patches +patches ${patchIds(1)} can be deprecated once this execution closes: ${unstamped}$`, 'm'),
      );

      // Once they close, nothing holds the old code back.
      for (const handle of handles) await handle.terminate('test over');
      const after = await eventually(
        () => doctor(['--json'], env),
        (r) => r.checks.filter((c) => c.check === 'retired types' || c.check === 'patches').every((c) => c.status === 'ok'),
        30_000,
        'doctor to see the runs closed',
      );
      expect(byName(after.checks, 'patches').detail).toMatch(/^no open execution on task queue .* predates the \d+ patches in the ledger/);
    } finally {
      for (const handle of handles) await handle.terminate('test over').catch(() => undefined);
      await connection.close();
    }
  });

  it('a namespace that does not exist: FAIL with how to create it; what needs it is skipped, the store still checked', async () => {
    const result = await doctor(['--json'], clusterEnv({ TEMPORAL_NAMESPACE: 'no-such-namespace' }));
    expect(result.code).toBe(6);
    expect(byName(result.checks, 'namespace')).toEqual({
      check: 'namespace',
      status: 'FAIL',
      detail: `namespace no-such-namespace does not exist on Temporal at ${temporalAddress()}`,
      fix: 'create it (temporal operator namespace create --namespace no-such-namespace) or set TEMPORAL_NAMESPACE',
    });
    expect(byName(result.checks, 'search attributes').status).toBe('skip');
    expect(byName(result.checks, 'workers').status).toBe('skip');
    expect(byName(result.checks, 'record store').status).not.toBe('skip');
  });

  it('an unreadable TLS file and bad settings: each named, and the record store still checked', async () => {
    const tls = await doctor(['--json'], clusterEnv({ TEMPORAL_TLS_CA: '/no/such/ca.pem' }));
    expect(tls.code).toBe(6);
    expect(byName(tls.checks, 'tls')).toEqual({
      check: 'tls',
      status: 'FAIL',
      detail: 'cannot read the TEMPORAL_TLS_CA file /no/such/ca.pem (ENOENT)',
      fix: 'point TEMPORAL_TLS_CA at a readable PEM file, or unset it',
    });

    const bad = await doctor(
      ['--json'],
      cliEnv(
        {
          TEMPORAL_ADDRESS: 'https://temporal.example.com',
          CUTOVER_PAYLOAD_KEY: 'short',
          TEMPORAL_TLS_CERT: '/etc/c.pem',
          CUTOVER_UPDATE_TIMEOUT: 'soon',
        },
        { noStore: true },
      ),
    );
    expect(bad.code).toBe(6);
    const settings = bad.checks.filter((c) => c.check === 'settings');
    expect(settings.map((c) => c.status)).toEqual(['FAIL', 'FAIL', 'FAIL', 'FAIL']);
    expect(settings.map((c) => c.detail.split(' ')[0])).toEqual([
      'TEMPORAL_ADDRESS',
      'TEMPORAL_TLS_CERT',
      'CUTOVER_PAYLOAD_KEY',
      'CUTOVER_UPDATE_TIMEOUT',
    ]);
    expect(byName(bad.checks, 'temporal').status).toBe('skip');
    expect(byName(bad.checks, 'record store').status).toBe('warn'); // a fresh SQLite file, created on first use
  });
});

describe('cutover doctor on the embedded default', () => {
  it('no embedded server running is a warning, not a failure: rehearse starts it', async () => {
    const result = await doctor(['--json'], cliEnv({}, { noStore: true }));
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.checks.map((c) => [c.check, c.status])).toEqual([
      ['settings', 'ok'],
      ['temporal', 'warn'],
      ['namespace', 'skip'],
      ['search attributes', 'skip'],
      ['record store', 'warn'],
      ['workers', 'skip'],
      ['retired types', 'skip'],
      ['patches', 'skip'],
    ]);
    expect(byName(result.checks, 'temporal').fix).toContain('it starts with `cutover rehearse` or `cutover worker`');
  });

  it('a SQLite store with a migration that failed half-way: FAIL, and the file is left as it was', async () => {
    const env = cliEnv({}, { noStore: true });
    const file = path.join(env.CUTOVER_HOME!, 'cutover.db');
    const db = new Database(file);
    db.exec(
      'CREATE TABLE _prisma_migrations (id TEXT PRIMARY KEY, checksum TEXT NOT NULL, finished_at DATETIME, migration_name TEXT NOT NULL, ' +
        'logs TEXT, rolled_back_at DATETIME, started_at DATETIME NOT NULL DEFAULT current_timestamp, applied_steps_count INTEGER NOT NULL DEFAULT 0)',
    );
    db.exec(`INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ('x', 'x', '20261123133958_init')`);
    db.close();
    const before = readFileSync(file);
    const result = await doctor(['--json'], env);
    expect(result.code).toBe(6);
    expect(byName(result.checks, 'record store')).toMatchObject({
      status: 'FAIL',
      detail: expect.stringContaining('migration 20261123133958_init failed half-way') as string,
    });
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});

describe('cutover doctor and the record store (PostgreSQL)', () => {
  async function asSuperuser<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: postgres.url(database) });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  async function storeCheck(url: string): Promise<Check> {
    const result = await doctor(['--json'], clusterEnv({ CUTOVER_DATABASE_URL: url }));
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    return byName(result.checks, 'record store');
  }

  it('an unreachable server and a wrong password: FAIL naming CUTOVER_DATABASE_URL', async () => {
    const unreachable = await storeCheck(`postgresql://postgres:${PASSWORD}@127.0.0.1:9/cutover`);
    expect(unreachable.status).toBe('FAIL');
    expect(unreachable.detail).toMatch(/Cannot reach the database server .*ECONNREFUSED/);
    expect(unreachable.fix).toContain('CUTOVER_DATABASE_URL');

    const refused = await storeCheck(postgres.url('cutover', { name: 'postgres', password: 'wrong' }));
    expect(refused.status).toBe('FAIL');
    expect(refused.detail).toMatch(/^PostgreSQL refused the user or password of postgresql:\/\/postgres:\*\*\*@/);
    expect(refused.fix).toContain('CUTOVER_DATABASE_URL');
  });

  it('a missing database and pending migrations are warnings, and doctor creates and migrates nothing', async () => {
    const missing = await storeCheck(postgres.url('doctor_missing'));
    expect(missing).toMatchObject({ status: 'warn', detail: expect.stringContaining('does not exist yet') as string });
    const databases = await asSuperuser('postgres', (c) => c.query(`SELECT 1 FROM pg_database WHERE datname = 'doctor_missing'`));
    expect(databases.rowCount).toBe(0);

    await asSuperuser('postgres', (c) => c.query('CREATE DATABASE doctor_empty'));
    const pending = await storeCheck(postgres.url('doctor_empty'));
    expect(pending).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining(`: reachable, 0 migrations applied, pending: ${MIGRATIONS.join(', ')}`) as string,
    });
    const tables = await asSuperuser('doctor_empty', (c) => c.query(`SELECT 1 FROM pg_tables WHERE schemaname = 'public'`));
    expect(tables.rowCount).toBe(0);
  });

  it('up to date, then migrated by a newer cutover: ok, then FAIL', async () => {
    // The first real command creates and migrates it.
    const url = postgres.url('doctor_ready');
    const list = await new Promise<number>((resolve) =>
      execFile(process.execPath, [path.join(PROJECT, 'bin', 'cutover.js'), 'list'], { env: cliEnv({ CUTOVER_DATABASE_URL: url }) }, (e) =>
        resolve(e ? Number(e.code) : 0),
      ),
    );
    expect(list).toBe(0);
    const ready = await storeCheck(url);
    expect(ready).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(
        new RegExp(`reachable, credentials accepted, ${MIGRATIONS.length} migrations applied, none pending$`),
      ) as string,
    });

    await asSuperuser('doctor_ready', (c) =>
      c.query(
        `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ('x', 'x', now(), '29990101000000_future', 1)`,
      ),
    );
    const newer = await storeCheck(url);
    expect(newer).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('29990101000000_future') as string });
    expect(newer.fix).toMatch(/upgrade cutover/);
  });
});
