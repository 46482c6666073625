/**
 * The embedded Temporal server belongs to the `cutover rehearse` that started it: it never outlives it (a closed
 * terminal, two Ctrl-Cs, even SIGKILL), and when the server dies under a run, rehearse starts it again on the same
 * database and ports and carries on. Real processes: the built command, its server, a real terminal under tmux.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, eventually, killStartedCli, PROJECT, runCli, startCli } from './support/cli.js';

afterEach(killStartedCli);

const tmuxSessions: string[] = [];
afterEach(() => {
  for (const name of tmuxSessions.splice(0)) spawnSync('tmux', ['-L', 'cutover-test', 'kill-session', '-t', name]);
});

/** A runbook that waits at a manual step: the rehearsal sits there until it is stopped. */
function waitingRunbook(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-life-'));
  writeFileSync(
    path.join(dir, 'runbook.yaml'),
    `name: waiting
version: 1
lead: lead
roles: { lead: [alice] }
phases:
  - id: p
    kind: migration
    steps:
      - { id: sign-off, title: Sign off, owner: lead, expected: 1m, action: { kind: manual } }
`,
  );
  return dir;
}

interface ServerInfo {
  pid: number;
  address: string;
}

function serverInfo(home: string): ServerInfo {
  return JSON.parse(readFileSync(path.join(home, 'server.json'), 'utf8')) as ServerInfo;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portAccepts(address: string): Promise<boolean> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(port) });
    socket.setTimeout(1_000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** The server is gone for good: its process does not exist, nothing listens on its port, no server.json claims it. */
async function expectServerGone(server: ServerInfo, home: string): Promise<void> {
  await eventually(
    () => isAlive(server.pid),
    (alive) => !alive,
    20_000,
    `temporal (pid ${server.pid}) to be gone`,
  );
  expect(await portAccepts(server.address)).toBe(false);
  await eventually(
    () => existsSync(path.join(home, 'server.json')),
    (exists) => !exists,
    5_000,
    'server.json to be removed',
  );
}

describe('the embedded server never outlives the rehearsal that started it', () => {
  it('closing the terminal (tmux, SIGHUP) stops it', async () => {
    const dir = waitingRunbook();
    const env = cliEnv();
    const name = `life-${process.pid}-${Date.now().toString(36)}`;
    tmuxSessions.push(name);
    // Without CI in its environment (CI runs set it), as a person's terminal is: the console opens.
    const command = `cd ${dir} && exec env -u CI CUTOVER_HOME=${env.CUTOVER_HOME} ${process.execPath} ${path.join(PROJECT, 'bin', 'cutover.js')} rehearse runbook.yaml`;
    execFileSync('tmux', ['-L', 'cutover-test', '-f', '/dev/null', 'new-session', '-d', '-s', name, '-x', '200', '-y', '50', command]);
    const screen = () => spawnSync('tmux', ['-L', 'cutover-test', 'capture-pane', '-p', '-t', name], { encoding: 'utf8' }).stdout;
    // A terminal gets the console: the manual step is pinned at the top of it.
    await eventually(screen, (text) => text.includes('WAITING FOR PEOPLE (1)'), 60_000, 'the manual step on screen');
    const cutoverPid = Number(
      execFileSync('tmux', ['-L', 'cutover-test', 'list-panes', '-t', name, '-F', '#{pane_pid}'], { encoding: 'utf8' }).trim(),
    );
    const server = serverInfo(env.CUTOVER_HOME!);
    expect(isAlive(server.pid)).toBe(true);

    execFileSync('tmux', ['-L', 'cutover-test', 'kill-session', '-t', name]);
    await eventually(
      () => isAlive(cutoverPid),
      (alive) => !alive,
      30_000,
      'cutover to end',
    );
    await expectServerGone(server, env.CUTOVER_HOME!);
  });

  it('a second Ctrl-C stops at once, and still stops it', async () => {
    const dir = waitingRunbook();
    const env = cliEnv();
    const rehearsal = startCli(['rehearse', 'runbook.yaml'], env, dir);
    await eventually(
      () => rehearsal.output(),
      (o) => o.includes('manual step for lead'),
      60_000,
      'the manual step',
    );
    const server = serverInfo(env.CUTOVER_HOME!);

    rehearsal.kill('SIGINT');
    // The second Ctrl-C comes once the first was taken (two signals sent while the process is off the CPU are one).
    await eventually(
      () => rehearsal.output(),
      (o) => o.includes('stopped following'),
      30_000,
      'the first Ctrl-C to be taken',
    );
    rehearsal.kill('SIGINT');
    const started = Date.now();
    expect(await rehearsal.exited).toBe(130);
    // Quickly: the server gets a short grace, not the worker's and the server's full ones.
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(rehearsal.output()).not.toMatch(/\n\s+at /);
    await expectServerGone(server, env.CUTOVER_HOME!);
  });

  it('SIGKILL of cutover, which runs no clean-up at all, still stops it', async () => {
    const dir = waitingRunbook();
    const env = cliEnv();
    const rehearsal = startCli(['rehearse', 'runbook.yaml'], env, dir);
    await eventually(
      () => rehearsal.output(),
      (o) => o.includes('manual step for lead'),
      60_000,
      'the manual step',
    );
    const server = serverInfo(env.CUTOVER_HOME!);

    rehearsal.kill('SIGKILL');
    await rehearsal.exited;
    await expectServerGone(server, env.CUTOVER_HOME!);
  });
});

describe('the embedded server dying under a rehearsal', () => {
  it('is restarted on the same database and ports, says so in one line, and the run completes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-restart-'));
    const step = (id: string, after?: string) =>
      `      - { id: ${id}, title: ${id}, owner: lead, expected: 2s, ${after ? `depends_on: [${after}], ` : ''}action: { kind: shell, command: "sleep 2; echo ${id} >> steps.log" } }\n`;
    writeFileSync(
      path.join(dir, 'runbook.yaml'),
      `name: sleepy\nversion: 1\nlead: lead\nroles: { lead: [alice] }\nphases:\n  - id: p\n    kind: migration\n    steps:\n` +
        step('one') +
        step('two', 'one') +
        step('three', 'two') +
        step('four', 'three'),
    );
    const env = cliEnv();
    const rehearsal = startCli(['rehearse', 'runbook.yaml'], env, dir);
    await eventually(
      () => rehearsal.output(),
      (o) => o.includes('p/one') && o.includes('started'),
      60_000,
      'the first step',
    );
    const before = serverInfo(env.CUTOVER_HOME!);

    process.kill(before.pid, 'SIGKILL');
    await eventually(
      () => rehearsal.output(),
      (o) => o.includes('restarted it on'),
      60_000,
      'the restart line',
    );
    // The same address, so that the client, the in-process worker and other terminals reconnect by themselves.
    const after = serverInfo(env.CUTOVER_HOME!);
    expect(after.address).toBe(before.address);
    expect(after.pid).not.toBe(before.pid);
    const code = await rehearsal.exited;
    const output = rehearsal.output();
    expect(code, output).toBe(0);
    const restartLines = output.split('\n').filter((line) => line.includes('stopped unexpectedly'));
    expect(restartLines).toEqual([
      'cutover: the embedded Temporal server stopped unexpectedly (signal SIGKILL); restarted it on ' +
        `${path.join(env.CUTOVER_HOME!, 'temporal.db')}, the run continues`,
    ]);
    expect(output).toMatch(/sleepy-1 COMPLETED: completed in/);
    // Nothing else reached the lead's screen: no stack trace, no SDK retry warnings.
    expect(output).not.toMatch(/\n\s+at /);
    expect(output).not.toMatch(/warn|error|bug/i);
    expect(readFileSync(path.join(dir, 'steps.log'), 'utf8').trim().split('\n')).toEqual(['one', 'two', 'three', 'four']);
    expect(isAlive(after.pid)).toBe(false);
  });

  it('that cannot be restarted ends the rehearsal with one sentence, exit 6, and keeps the run', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-lost-server-'));
    writeFileSync(
      path.join(dir, 'runbook.yaml'),
      `name: doomed\nversion: 1\nlead: lead\nroles: { lead: [alice] }\nphases:\n  - id: p\n    kind: migration\n    steps:\n` +
        `      - { id: slow, title: Slow, owner: lead, expected: 5s, action: { kind: shell, command: "sleep 5" } }\n`,
    );
    const env = cliEnv();
    const rehearsal = startCli(['rehearse', 'runbook.yaml'], env, dir);
    await eventually(
      () => rehearsal.output(),
      (o) => o.includes('p/slow') && o.includes('started'),
      60_000,
      'the step',
    );
    const server = serverInfo(env.CUTOVER_HOME!);
    // Someone else takes the server's port the moment it is free: the restart cannot bind it.
    const squatter = net.createServer((socket) => socket.destroy());
    try {
      process.kill(server.pid, 'SIGKILL');
      const port = Number(server.address.split(':')[1]);
      for (let tries = 0; ; tries++) {
        const taken = await new Promise<boolean>((resolve) => {
          squatter.once('error', () => resolve(false));
          squatter.listen(port, '127.0.0.1', () => resolve(true));
        });
        if (taken) break;
        if (tries > 500) expect.fail(`port ${port} never came free`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const code = await rehearsal.exited;
      const output = rehearsal.output();
      expect(code, output).toBe(6);
      expect(output).toContain(
        'cutover: the embedded Temporal server stopped unexpectedly (signal SIGKILL) and could not be restarted on ' +
          `${path.join(env.CUTOVER_HOME!, 'temporal.db')} (The Temporal dev server`,
      );
      expect(output).toMatch(/address already in use\); its log is .*temporal-server\.log; runs in flight are kept there/);
      expect(output).not.toMatch(/\n\s+at |bug/);
      // The record store still has the run, to be carried on later.
      expect(runCli(['list', '--json'], env, dir).stdout).toContain('"doomed-1"');
    } finally {
      if (squatter.listening) await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
