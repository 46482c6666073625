/**
 * `rehearse --auto-approve` sends its approvals with the deadline every person's request has (CUTOVER_UPDATE_TIMEOUT):
 * when the run's worker stops answering just as a vote is sent, the rehearsal says so in time and keeps following,
 * instead of waiting silently for ever; when the worker answers again, the vote counts and the rehearsal ends.
 *
 * Through the real `cutover` command against the test run's Temporal server (a cluster, as far as cutover knows) and a
 * real `cutover worker`, stopped with SIGSTOP and continued with SIGCONT. The rehearsal reaches Temporal through a TCP
 * relay started here, which holds back the vote (the first bytes carrying its reason) until the worker is stopped: so
 * the rehearsal has read the open gate from a live worker, and the vote it sends next meets a stopped one, every time.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { cliEnv, eventually, killStartedCli, runCli, startCli, startWorkerCli } from './support/cli.js';
import { temporalAddress } from './support/temporal.js';

afterEach(killStartedCli);

const UPDATE_TIMEOUT_S = 3;
/** In the body of the vote `--auto-approve` sends, and in nothing else the rehearsal sends. */
const VOTE_MARKER = Buffer.from('auto-approved (--auto-approve)');

/**
 * A TCP relay to Temporal that passes everything, except that from the first client bytes holding `marker` on, what
 * the client sends is kept until {@link Relay.release}.
 */
interface Relay {
  address: string;
  /** Resolves once bytes holding the marker arrived (and are being held). */
  caught: Promise<void>;
  release(): void;
  close(): Promise<void>;
}

async function startRelay(target: string, marker: Buffer): Promise<Relay> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  let held: Array<{ to: net.Socket; chunk: Buffer }> | undefined;
  let released = false;
  let caught!: () => void;
  const caughtPromise = new Promise<void>((resolve) => (caught = resolve));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    sockets.add(client).add(upstream);
    let tail: Buffer = Buffer.alloc(0);
    client.on('data', (chunk) => {
      if (!released && !held && Buffer.concat([tail, chunk]).includes(marker)) {
        held = [];
        caught();
      }
      tail = chunk.subarray(Math.max(0, chunk.length - marker.length));
      if (held) held.push({ to: upstream, chunk });
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    caught: caughtPromise,
    release() {
      released = true;
      const queue = held ?? [];
      held = undefined;
      for (const { to, chunk } of queue) to.write(chunk);
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let relay: Relay;
beforeAll(async () => {
  relay = await startRelay(temporalAddress(), VOTE_MARKER);
});
afterAll(async () => {
  await relay?.close();
});

it('a vote the stopped worker never answers is said within CUTOVER_UPDATE_TIMEOUT, and the rehearsal ends once it answers', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-auto-'));
  const name = `stalled-${Date.now().toString(36)}`;
  const runId = `${name}-1`;
  writeFileSync(
    path.join(dir, 'runbook.yaml'),
    `name: ${name}
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead], rule: all } }
  - id: switch
    kind: interface_switch_on
    steps:
      - { id: on, title: Switch on, owner: dba, expected: 1s, action: { kind: shell, command: "echo on" } }
`,
  );
  // One record store and task queue for both; only the rehearsal goes through the relay.
  const workerEnv = cliEnv({
    TEMPORAL_ADDRESS: temporalAddress(),
    CUTOVER_TASK_QUEUE: `auto-${name}`,
    CUTOVER_UPDATE_TIMEOUT: String(UPDATE_TIMEOUT_S),
  });
  const env = { ...workerEnv, TEMPORAL_ADDRESS: relay.address };
  const worker = await startWorkerCli([], workerEnv, dir);
  const rehearse = startCli(['rehearse', 'runbook.yaml', '--auto-approve', '--as', 'alice'], env, dir);
  await Promise.race([
    relay.caught,
    rehearse.exited.then((code) => {
      throw new Error(`the rehearsal ended (${code}) before it voted: ${rehearse.output()}`);
    }),
  ]);
  // The rehearsal has read the open gate and sent its vote; the worker stops answering before the vote reaches it.
  expect(rehearse.output()).toContain('gate open: Go');
  process.kill(worker.pid!, 'SIGSTOP');
  relay.release();
  const sentAt = Date.now();

  const said = await eventually(
    () => rehearse.output(),
    (o) => o.includes('could not auto-approve go as alice'),
    UPDATE_TIMEOUT_S * 1000 + 20_000,
    'the rehearsal to say the vote had no answer',
  );
  expect(said).toContain(`could not auto-approve go as alice: no answer from run ${runId} within ${UPDATE_TIMEOUT_S} s`);
  expect(Date.now() - sentAt).toBeGreaterThanOrEqual(UPDATE_TIMEOUT_S * 1000 - 500);
  // Still following the run: it has neither ended nor given up.
  expect(rehearse.exitCode).toBeNull();

  // The worker answers again: the vote counts, the run ends, and so does the rehearsal.
  process.kill(worker.pid!, 'SIGCONT');
  const code = await Promise.race([rehearse.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 120_000))]);
  expect(code, rehearse.output()).toBe(0);
  expect(rehearse.output()).toContain(`${runId} COMPLETED`);
  const status = runCli(['status', runId], workerEnv, dir);
  expect(status.stdout).toMatch(/alice \(lead\) approve go: "auto-approved \(--auto-approve\)" \[automatic\]/);
}, 240_000);
