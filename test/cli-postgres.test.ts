/**
 * The `cutover` command with its record store on a real PostgreSQL (started by this file, with
 * password authentication): each configuration mistake is one sentence naming CUTOVER_DATABASE_URL,
 * exit 6, no stack trace and no password; and a rehearsal whose worker runs in another data folder
 * (standing in for another machine) is read back by `status` and `list` from a third.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, killStartedCli, runCli, startWorkerCli } from './support/cli.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';
import { temporalAddress, temporalNamespace } from './support/temporal.js';

const PASSWORD = 'pg-test-secret';
let postgres: TestPostgres;

beforeAll(async () => {
  postgres = await startPostgres({ password: PASSWORD });
  // The store every command here uses, already migrated: this file is not about the first open, which
  // cli-doctor.test.ts (a command creating and migrating a database on this server) and store.test.ts cover.
  await postgres.migratedUrl('cutover');
}, 60_000);

afterAll(async () => {
  await postgres?.stop();
});

afterEach(killStartedCli);

/** Runs `cutover list` against a database URL and checks the shape every configuration error shares. */
function expectConfigurationError(url: string, says: RegExp): string {
  const result = runCli(['list'], cliEnv({ CUTOVER_DATABASE_URL: url }));
  expect(result.code, result.stderr).toBe(6);
  const message = result.stderr.trim();
  expect(message.split('\n')).toHaveLength(1);
  expect(message).toMatch(/^cutover: /);
  expect(message).toContain('CUTOVER_DATABASE_URL');
  expect(message).toMatch(says);
  expect(message).not.toMatch(/\n\s+at /);
  expect(message).not.toContain(PASSWORD);
  return message;
}

async function asSuperuser<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgres.url(database) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('configuration errors, exit 6', () => {
  it('a malformed URL', () => {
    expectConfigurationError(`postgresql://postgres:${PASSWORD}@127.0.0.1:${postgres.port}`, /names no database/);
    expectConfigurationError(`postgresql://postgres:${PASSWORD}@127.0.0.1:${postgres.port}/cutover?sslmode=sometimes`, /sslmode=sometimes/);
    expectConfigurationError('mysql://db.example/cutover', /neither a file: nor a postgres:\/\/ URL/);
  });

  it('an unreachable server', () => {
    // Port 9 (discard) has nobody listening here.
    expectConfigurationError(`postgresql://postgres:${PASSWORD}@127.0.0.1:9/cutover`, /Cannot reach the database server .*ECONNREFUSED/);
  });

  it('TLS the server does not offer, or a TLS file that cannot be read', () => {
    // The test server has no TLS; sslmode=disable is the fix the message names, and it works.
    const url = `${postgres.url('cutover')}?sslmode=require`;
    expectConfigurationError(url, /TLS connection .* failed .*sslmode=disable/);
    expectConfigurationError(
      `${postgres.url('cutover')}?sslmode=verify-full&sslrootcert=/no/such/ca.pem`,
      /TLS file that cannot be read .*\/no\/such\/ca\.pem/,
    );
    const disabled = runCli(['list'], cliEnv({ CUTOVER_DATABASE_URL: `${postgres.url('cutover')}?sslmode=disable` }));
    expect(disabled.code, disabled.stderr).toBe(0);
    // No node-postgres warning about how it reads sslmode: cutover asks for libpq's meaning.
    expect(disabled.stderr).toBe('');
  }, 60_000);

  it('wrong credentials', () => {
    expectConfigurationError(postgres.url('cutover', { name: 'postgres', password: 'wrong' }), /refused the user or password/);
  });

  it('a database that is missing and may not be created', async () => {
    await asSuperuser('postgres', (client) => client.query(`CREATE ROLE reader LOGIN PASSWORD '${PASSWORD}' NOCREATEDB`));
    const message = expectConfigurationError(
      postgres.url('not_there', { name: 'reader', password: PASSWORD }),
      /"not_there" .* does not exist and cannot be created/,
    );
    expect(message).toContain('may not create databases');
  });

  it('a database migrated by a newer cutover (a migration this one does not have)', async () => {
    const url = await postgres.migratedUrl('from_the_future');
    await asSuperuser('from_the_future', (client) =>
      client.query(
        `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ('x', 'x', now(), '29990101000000_future', 1)`,
      ),
    );
    expectConfigurationError(url, /29990101000000_future.*upgrade cutover/);
  }, 60_000);
});

describe('a rehearsal on PostgreSQL', () => {
  it('a worker in another data folder runs it, and a third reads it back with status and list', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-pg-run-'));
    const name = `pg-${Date.now().toString(36)}`;
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
      - { id: freeze, title: Freeze, owner: dba, expected: 1s, action: { kind: shell, command: "echo frozen" } }
      - { id: load, title: Load, owner: dba, expected: 1s, depends_on: [freeze], action: { kind: shell, command: "echo loaded" } }
`,
    );
    const shared = {
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: temporalNamespace(),
      CUTOVER_TASK_QUEUE: `pg-${name}`,
      CUTOVER_DATABASE_URL: postgres.url('cutover'),
    };
    // cliEnv gives each a data folder of its own: three machines sharing Temporal and PostgreSQL.
    await startWorkerCli([], cliEnv(shared), dir, 'the worker');
    const rehearse = runCli(['rehearse', 'runbook.yaml', '--as', 'alice'], cliEnv(shared), dir);
    expect(rehearse.code, rehearse.stdout + rehearse.stderr).toBe(0);

    const reader = cliEnv(shared);
    const status = runCli(['status', `${name}-1`, '--json'], reader, dir);
    expect(status.code, status.stderr).toBe(0);
    const run = JSON.parse(status.stdout) as { status?: string; state: { status: string; steps: Record<string, { status: string }> } };
    expect(run.state.status).toBe('completed');
    expect(Object.values(run.state.steps).map((step) => step.status)).toEqual(['succeeded', 'succeeded']);
    const list = runCli(['list', '--json'], reader, dir);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { id: string; status: string }[]).find((r) => r.id === `${name}-1`)).toMatchObject({
      status: 'completed',
    });
    expect(status.stdout + list.stdout + rehearse.stdout + rehearse.stderr).not.toContain(PASSWORD);
  }, 120_000);
});
