// engine: a 500-step no-op runbook through cutover's engine vs a bare workflow running 500
// no-op activities, on the same Temporal dev server, in one run. Prints the wall-time ratio and
// the history-event ratio. Targets: at most 1.25x and 1.1x. Then the same runbook with notifications on (a webhook
// channel to a local receiver started here, every kind of event routed to it) against off, alternating in the same
// run: the wall-time ratio, target at most 1.05x (issue 20). A run's messages go out after it, from its notifier, so
// the time counted is the run's own, to its result.
//
// "Through cutover" means the real path of a rehearsal: the runbook parsed and validated, the
// run reserved in the record store (SQLite through Prisma), the run workflow reading it back,
// with its state, and every step recorded by its activity. Both sides run sequential chains,
// alternating, and the median of the repetitions counts (the machines are shared and noisy).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Worker } from '@temporalio/worker';
import { bareWorkflowBundle, dist, finish, median, noopRunbook, size, SMOKE, startBench, targetLine } from './lib/support.mjs';

const STEPS = size('BENCH_STEPS', 500, 5);
const REPEAT = size('BENCH_REPEAT', 3, 1);
const TARGETS = { wall: 1.25, events: 1.1, notifyWall: 1.05 };
const SECRET = `bench-engine-${randomUUID()}`;

/** A webhook receiver on 127.0.0.1 that answers every message at once and counts them. */
async function startReceiver() {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received += 1;
      res.writeHead(200).end('ok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    received: () => received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `text` with a `notifications:` block that routes every kind of event to `url` (before its `phases:`). */
function withNotifications(text, url, kinds) {
  const block = [
    'notifications:',
    '  channels:',
    `    hook: { kind: webhook, url: '${url}', secret: '\${env:BENCH_ENGINE_SECRET}' }`,
    '  routes:',
    `    - { on: [${kinds.join(', ')}], via: [hook] }`,
    '',
  ].join('\n');
  return text.replace(/^phases:/m, `${block}phases:`);
}

export async function main() {
  const bench = await startBench('engine', async ({ native, queue }) => [
    await Worker.create({
      connection: native,
      taskQueue: `${queue}-bare`,
      workflowBundle: await bareWorkflowBundle(),
      activities: { async noop() {} },
    }),
  ]);
  const chain = bench.parse(noopRunbook('bench-chain', 1, STEPS));
  process.env.BENCH_ENGINE_SECRET = SECRET;
  const receiver = await startReceiver();
  const { NOTIFICATION_EVENT_KINDS } = await dist('runbook/notifications.js');
  const kinds = NOTIFICATION_EVENT_KINDS.filter((kind) => kind !== 'test');
  const told = bench.parse(withNotifications(noopRunbook('bench-chain-told', 1, STEPS), receiver.url, kinds));

  async function throughCutover() {
    const { ms, handle } = await bench.throughCutover(chain);
    return { ms, events: (await handle.fetchHistory()).events.length };
  }

  async function bare() {
    const started = performance.now();
    const handle = await bench.client.workflow.start('bareNoop', {
      taskQueue: `${bench.queue}-bare`,
      workflowId: `bare-${randomUUID()}`,
      args: [STEPS],
    });
    await handle.result();
    const ms = performance.now() - started;
    return { ms, events: (await handle.fetchHistory()).events.length };
  }

  try {
    // One warm-up of each (JIT, workflow cache, SQLite pages), then alternating measured runs (no warm-ups in smoke
    // mode: its figures are not judged).
    if (!SMOKE) {
      await bare();
      await throughCutover();
    }
    const ours = [];
    const base = [];
    for (let i = 0; i < REPEAT; i += 1) {
      base.push(await bare());
      ours.push(await throughCutover());
      console.log(
        `  run ${i + 1}: bare ${base[i].ms.toFixed(0)} ms / ${base[i].events} events, cutover ${ours[i].ms.toFixed(0)} ms / ${ours[i].events} events`,
      );
    }
    // Notifications on against off: the same chain, alternating, after one warm-up of the notifying run.
    const toldWarmUps = SMOKE ? 0 : 1;
    if (toldWarmUps > 0) await bench.throughCutover(told);
    const off = [];
    const on = [];
    for (let i = 0; i < REPEAT; i += 1) {
      off.push((await bench.throughCutover(chain)).ms);
      on.push((await bench.throughCutover(told)).ms);
      console.log(`  run ${i + 1}: notifications off ${off[i].toFixed(0)} ms, on ${on[i].toFixed(0)} ms`);
    }
    // Every notifying run's run_started and run_ended reach the receiver (nothing else happens in a no-op chain).
    const deadline = Date.now() + 60_000;
    const sent = 2 * (REPEAT + toldWarmUps);
    while (receiver.received() < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (receiver.received() < sent)
      throw new Error(`the receiver got ${receiver.received()} messages of the ${sent} the notifying runs sent`);
    const wall = median(ours.map((r) => r.ms)) / median(base.map((r) => r.ms));
    const events = median(ours.map((r) => r.events)) / median(base.map((r) => r.events));
    console.log(
      `${STEPS}-step chain, median of ${REPEAT}: bare ${median(base.map((r) => r.ms)).toFixed(0)} ms, cutover ${median(ours.map((r) => r.ms)).toFixed(0)} ms`,
    );
    return finish([
      targetLine('engine', 'wall_ratio', wall, '<=', TARGETS.wall),
      targetLine('engine', 'history_event_ratio', events, '<=', TARGETS.events),
      targetLine('engine', 'notify_wall_ratio', median(on) / median(off), '<=', TARGETS.notifyWall),
    ]);
  } finally {
    await bench.stop();
    await receiver.close();
  }
}
