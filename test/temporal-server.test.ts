import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { findTemporalCli, PROJECT_LOCAL_TEMPORAL_CLI, TemporalCliNotFoundError } from '../cli/temporal-cli.js';
import { findRunningDevServer, readServerInfo } from '../cli/dev-server-files.js';
import {
  DevServerAlreadyRunningError,
  DevServerStartError,
  startDevServer,
  type DevServer,
  type ServerExit,
} from '../cli/temporal-server.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const tmpDirs: string[] = [];

function tmpDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cutover-${prefix}-`));
  tmpDirs.push(dir);
  return dir;
}

function writeScript(file: string, body: string, mode = 0o755): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode });
  return file;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('findTemporalCli', () => {
  it('refuses a TEMPORAL_CLI_PATH that does not exist, naming it, even when other binaries exist', () => {
    const root = tmpDir('root');
    writeScript(path.join(root, PROJECT_LOCAL_TEMPORAL_CLI), 'exit 0');
    const missing = path.join(root, 'nowhere', 'temporal');
    let caught: unknown;
    try {
      findTemporalCli(root, { TEMPORAL_CLI_PATH: missing, PATH: '' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TemporalCliNotFoundError);
    expect((caught as TemporalCliNotFoundError).message).toContain(missing);
    expect((caught as TemporalCliNotFoundError).envPath).toBe(missing);
  });

  it('prefers an existing TEMPORAL_CLI_PATH over the project-local binary and PATH', () => {
    const root = tmpDir('root');
    writeScript(path.join(root, PROJECT_LOCAL_TEMPORAL_CLI), 'exit 0');
    const pathDir = tmpDir('path');
    writeScript(path.join(pathDir, 'temporal'), 'exit 0');
    const explicit = writeScript(path.join(tmpDir('explicit'), 'my-temporal'), 'exit 0');
    expect(findTemporalCli(root, { TEMPORAL_CLI_PATH: explicit, PATH: pathDir })).toBe(explicit);
  });

  it('finds the project-local .tools/bin/temporal before one on PATH', () => {
    const root = tmpDir('root');
    const local = writeScript(path.join(root, PROJECT_LOCAL_TEMPORAL_CLI), 'exit 0');
    const pathDir = tmpDir('path');
    writeScript(path.join(pathDir, 'temporal'), 'exit 0');
    expect(findTemporalCli(root, { PATH: pathDir })).toBe(local);
  });

  it('falls back to an executable temporal on PATH, skipping non-executable ones', () => {
    const root = tmpDir('root');
    const notExecutable = tmpDir('path-noexec');
    writeScript(path.join(notExecutable, 'temporal'), 'exit 0', 0o644);
    const pathDir = tmpDir('path');
    const onPath = writeScript(path.join(pathDir, 'temporal'), 'exit 0');
    expect(findTemporalCli(root, { PATH: [notExecutable, pathDir].join(path.delimiter) })).toBe(onPath);
  });

  it('resolves a real, runnable Temporal CLI for this checkout (installed by npm run setup)', () => {
    expect(execFileSync(findTemporalCli(projectRoot), ['--version'], { encoding: 'utf8' })).toMatch(/^temporal version \d+\.\d+\.\d+/);
  });

  it('says how to install it when there is none', () => {
    const root = tmpDir('root');
    expect(() => findTemporalCli(root, { PATH: tmpDir('empty') })).toThrow(TemporalCliNotFoundError);
    expect(() => findTemporalCli(root, { PATH: tmpDir('empty') })).toThrow(/npm run setup.*go install.*TEMPORAL_CLI_PATH/s);
  });
});

describe('startDevServer', () => {
  const cliPath = findTemporalCli(projectRoot);
  const started: DevServer[] = [];

  afterEach(async () => {
    // A failed assertion must not leave a server running for the rest of the test run.
    await Promise.all(started.splice(0).map((server) => server.stop()));
  });

  it('starts a server that answers, records server.json, is found by a second process, and stops cleanly', async () => {
    const dataDir = tmpDir('devserver');
    const server = await startDevServer({ cliPath, dataDir, ui: false });
    started.push(server);

    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.uiUrl).toBeUndefined();
    const connection = await Connection.connect({ address: server.address });
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toMatch(/^\d+\.\d+/);
      // The product's search attributes exist from the first moment, so runs can be listed by runbook and mode.
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining(['CutoverRunbook', 'CutoverMode']));
    } finally {
      await connection.close();
    }

    expect(readServerInfo(dataDir)).toMatchObject({ address: server.address, pid: server.pid, namespace: 'default' });
    expect(await findRunningDevServer(dataDir)).toBe(server.address);

    await server.stop();
    expect(isAlive(server.pid)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'server.json'))).toBe(false);
    expect(await findRunningDevServer(dataDir)).toBeUndefined();
  });

  it('serves the Web UI on its own port when asked', async () => {
    const server = await startDevServer({ cliPath, dataDir: tmpDir('devserver-ui'), ui: true });
    started.push(server);
    expect(server.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.uiUrl).not.toContain(server.address.split(':')[1]);
    const response = await fetch(server.uiUrl!);
    expect(response.status).toBe(200);
  });

  it('lets only one of two simultaneous starts on the same data folder run a server; the other learns its address', async () => {
    const dataDir = tmpDir('devserver-race');
    const results = await Promise.allSettled([
      startDevServer({ cliPath, dataDir, ui: false }),
      startDevServer({ cliPath, dataDir, ui: false }),
    ]);
    const winners = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    started.push(...winners);
    const losers = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect(losers[0]).toBeInstanceOf(DevServerAlreadyRunningError);
    expect((losers[0] as DevServerAlreadyRunningError).address).toBe(winners[0]!.address);
    expect(fs.existsSync(path.join(dataDir, 'server.lock'))).toBe(false);
  });

  it('keeps earlier runs across a restart on the same data folder', async () => {
    const dataDir = tmpDir('devserver-persist');
    const workflowId = `persist-${Date.now()}`;
    const first = await startDevServer({ cliPath, dataDir, ui: false });
    started.push(first);
    let connection = await Connection.connect({ address: first.address });
    // No worker is needed for the execution to be recorded: it waits for one on its task queue.
    await new Client({ connection }).workflow.start('noSuchWorkflow', { taskQueue: 'nobody-listens', workflowId });
    await connection.close();
    await first.stop();

    const second = await startDevServer({ cliPath, dataDir, ui: false });
    started.push(second);
    connection = await Connection.connect({ address: second.address });
    try {
      const description = await new Client({ connection }).workflow.getHandle(workflowId).describe();
      expect(description.status.name).toBe('RUNNING');
    } finally {
      await connection.close();
    }
  });

  it('reports a server that exits during start with the last lines of its output', async () => {
    const dataDir = tmpDir('devserver-boom');
    const fakeCli = writeScript(path.join(tmpDir('fake-cli'), 'temporal'), 'echo "starting"\necho boom >&2\nexit 3');
    const attempt = startDevServer({ cliPath: fakeCli, dataDir, ui: false });
    await expect(attempt).rejects.toBeInstanceOf(DevServerStartError);
    await expect(attempt).rejects.toThrow(/boom/);
    await expect(attempt).rejects.toMatchObject({ exitCode: 3 });
    expect(fs.existsSync(path.join(dataDir, 'server.json'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'server.lock'))).toBe(false);
  });

  it('gives up on a server that never answers, and kills it', async () => {
    const dataDir = tmpDir('devserver-silent');
    const pidFile = path.join(dataDir, 'fake.pid');
    const fakeCli = writeScript(path.join(tmpDir('fake-cli'), 'temporal'), `echo $$ > ${pidFile}\nexec sleep 60`);
    await expect(startDevServer({ cliPath: fakeCli, dataDir, ui: false, startTimeoutMs: 1_500 })).rejects.toThrow(/did not answer/);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(isAlive(pid)).toBe(false);
  });

  it('restarts a server killed with SIGKILL on the same address and database, and it still knows its runs', async () => {
    const dataDir = tmpDir('devserver-restart');
    const restarts: Array<{ exit: ServerExit; pid: number }> = [];
    const server = await startDevServer({
      cliPath,
      dataDir,
      ui: false,
      restart: { onRestarted: (event) => restarts.push(event), onGaveUp: (error) => expect.fail(error.message) },
    });
    started.push(server);
    const workflowId = `restart-${Date.now()}`;
    const connection = await Connection.connect({ address: server.address });
    try {
      const client = new Client({ connection });
      await client.workflow.start('noSuchWorkflow', { taskQueue: 'nobody-listens', workflowId });
      const firstPid = server.pid;
      process.kill(firstPid, 'SIGKILL');
      await vi.waitFor(() => expect(restarts).toHaveLength(1), { timeout: 60_000, interval: 200 });
      expect(restarts[0]!.exit).toEqual({ code: null, signal: 'SIGKILL' });
      expect(server.pid).not.toBe(firstPid);
      expect(isAlive(firstPid)).toBe(false);
      expect(readServerInfo(dataDir)).toMatchObject({ address: server.address, pid: server.pid });
      // The same connection, to the same address, carries on by itself.
      expect((await client.workflow.getHandle(workflowId).describe()).status.name).toBe('RUNNING');
    } finally {
      await connection.close();
    }
    await server.stop();
    expect(isAlive(server.pid)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'server.json'))).toBe(false);
  });

  it('gives up restarting when its port stays taken, and says why', async () => {
    const dataDir = tmpDir('devserver-giveup');
    let gaveUp: { error: Error; exit: ServerExit } | undefined;
    const server = await startDevServer({
      cliPath,
      dataDir,
      ui: false,
      restart: {
        attempts: 2,
        onRestarted: () => expect.fail('restarted on a taken port'),
        onGaveUp: (error, exit) => (gaveUp = { error, exit }),
      },
    });
    started.push(server);
    const port = Number(server.address.split(':')[1]);
    // It answers nothing: whoever connects is hung up on.
    const squatter = net.createServer((socket) => socket.destroy());
    try {
      process.kill(server.pid, 'SIGKILL');
      // Take the port the moment the kernel frees it, before the restart can.
      for (let tries = 0; ; tries++) {
        const taken = await new Promise<boolean>((resolve) => {
          squatter.once('error', () => resolve(false));
          squatter.listen(port, '127.0.0.1', () => resolve(true));
        });
        if (taken) break;
        if (tries > 500) expect.fail(`port ${port} never came free`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await vi.waitFor(() => expect(gaveUp).toBeDefined(), { timeout: 90_000, interval: 200 });
      expect(gaveUp!.exit.signal).toBe('SIGKILL');
      expect(gaveUp!.error.message).toMatch(/address already in use/i);
      expect(fs.existsSync(path.join(dataDir, 'server.json'))).toBe(false);
    } finally {
      if (squatter.listening) await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
