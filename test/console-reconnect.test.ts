/**
 * The console while Temporal is away, in a real terminal (tmux) against a Temporal server of its own that is
 * SIGKILLed and restarted on its database file: the console says it is reconnecting and keeps the last screen,
 * resumes by itself, and shows a change made elsewhere afterwards; once the run has ended and Temporal is gone
 * again, attaching to it shows the run from the record store.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, eventually, killStartedCli, PROJECT, runCli, startCli, startWorkerCli } from './support/cli.js';
import { startKillableServer, type KillableServer } from './support/faults/index.js';
import { Tmux } from './support/tmux.js';

const BIN = path.join(PROJECT, 'bin', 'cutover.js');
let server: KillableServer;
let tmux: Tmux | undefined;
const dir = mkdtempSync(path.join(tmpdir(), 'cutover-console-reconnect-'));

beforeAll(async () => {
  // Its own server: the one every other test file shares must not die.
  server = await startKillableServer(path.join(dir, 'temporal'));
});
afterAll(async () => {
  tmux?.kill();
  killStartedCli();
  await server?.stop();
});

it('says reconnecting while Temporal is away, resumes, and shows an ended run from the record store', async () => {
  const name = `reconnect-${Date.now().toString(36)}`;
  const env = cliEnv({ TEMPORAL_ADDRESS: server.address, CUTOVER_TASK_QUEUE: `q-${name}` });
  writeFileSync(
    path.join(dir, 'runbook.yaml'),
    `name: ${name}
version: 1
lead: lead
roles: { lead: [alice], business: [dana] }
phases:
  - id: load
    kind: migration
    steps:
      - { id: migrate, title: Migrate customers, owner: lead, expected: 1s, action: { kind: simulate, duration: 1s } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Switch the new CRM on?, owner: lead, depends_on: [migrate], gate: { approvers: [business] } }
`,
  );
  await startWorkerCli([], env, dir);
  // The lead's rehearsal follows in plain lines (no terminal); the console is a second terminal's.
  const lead = startCli(['rehearse', 'runbook.yaml', '--as', 'alice'], env, dir);
  const runId = `${name}-1`;
  // Attaching is to a run that exists: wait for the rehearsal to have started it.
  await eventually(
    () => lead.output(),
    (o) => o.includes(`rehearsal ${runId} of`),
    60_000,
    'the rehearsal to start its run',
  );
  tmux = new Tmux(120, 40);
  tmux.open('watch', [process.execPath, BIN, 'attach', runId], env, PROJECT, dir);
  await tmux.waitFor('watch', /WAITING FOR PEOPLE \(1\)/, 60_000);
  expect(tmux.screen('watch')).toContain('● live');

  await server.kill();
  const away = await tmux.waitFor('watch', /reconnecting to Temporal, showing what was last read/, 30_000);
  // What it last read stays on screen, and nothing crashed.
  expect(away).toContain('⏸ gate go: Switch the new CRM on?');
  expect(away).not.toMatch(/EXIT=\d+/);

  // The commands say the same: a run in flight is shown from the record store's snapshot, and they say so.
  const status = runCli(['status', runId, '--json'], env, dir);
  expect(status.code, status.stderr).toBe(0);
  const shown = JSON.parse(status.stdout) as { source: string; note?: string; state: { steps: Record<string, { status: string }> } };
  expect(shown.source).toBe('store');
  expect(shown.note).toMatch(/^live state unavailable \(.+\); showing what the record store has$/);
  expect(shown.state.steps.migrate!.status).toBe('succeeded');
  const gate = runCli(['gate', runId, 'go'], env, dir);
  expect(gate.code, gate.stderr).toBe(0);
  // The store's snapshot of a run in flight is from its start: gate says where it read it, and that it may be stale.
  expect(gate.stderr).toMatch(
    /^live state unavailable \(.+\); showing what the record store has; the gate may have opened or closed since\n$/,
  );
  expect(gate.stdout).toMatch(/^gate go of \S+: /);

  await server.restart();
  await tmux.waitFor('watch', /● live/, 60_000);
  // A change made elsewhere after the blip shows up on its own.
  const approved = await eventually(
    () => runCli(['approve', runId, 'go', '--as', 'dana', '--reason', 'numbers agree'], env, dir),
    (r) => r.code === 0,
    60_000,
    'the approval to go through after the restart',
  );
  expect(approved.stdout).toContain('dana approved go');
  const done = await tmux.waitFor('watch', /COMPLETED/, 60_000);
  expect(done).not.toContain('WAITING FOR PEOPLE');
  expect(await lead.exited).toBe(0);

  // The run has ended and Temporal is gone: a new console reads the run from the record store.
  await server.kill();
  tmux.open('late', [process.execPath, BIN, 'attach', runId], env, PROJECT, dir);
  const recorded = await tmux.waitFor('late', /from the record store/, 60_000);
  expect(recorded).toContain('COMPLETED');
  expect(recorded).toMatch(/migrate +lead \(alice\) +succeeded/);
  tmux.keys('late', 'q');
  expect(await tmux.waitFor('late', /EXIT=\d+/)).toContain('EXIT=0');
}, 300_000);
