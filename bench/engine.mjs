// engine: a 500-step no-op runbook through cutover's engine vs a bare workflow running 500
// no-op activities, on the same Temporal dev server, in one run. Prints the wall-time ratio and
// the history-event ratio. Targets: at most 1.25x and 1.1x.
//
// "Through cutover" means the real path of a rehearsal: the runbook parsed and validated, the
// run reserved in the record store (SQLite through Prisma), the run workflow reading it back,
// with its state, and every step recorded by its activity. Both sides run sequential chains,
// alternating, and the median of the repetitions counts (the machines are shared and noisy).
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { finish, median, noopRunbook, quietLogger, root, size, startBench, targetLine } from './lib/support.mjs';

const STEPS = size('BENCH_STEPS', 500, 5);
const REPEAT = size('BENCH_REPEAT', 3, 1);
const TARGETS = { wall: 1.25, events: 1.1 };

export async function main() {
  const bench = await startBench('engine', async ({ native, queue }) => [
    await Worker.create({
      connection: native,
      taskQueue: `${queue}-bare`,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: path.join(root, 'bench', 'bare-workflow.js'), logger: quietLogger() }),
      activities: { async noop() {} },
    }),
  ]);
  const chain = bench.parse(noopRunbook('bench-chain', 1, STEPS));

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
    // One warm-up of each (JIT, workflow cache, SQLite pages), then alternating measured runs.
    await bare();
    await throughCutover();
    const ours = [];
    const base = [];
    for (let i = 0; i < REPEAT; i += 1) {
      base.push(await bare());
      ours.push(await throughCutover());
      console.log(
        `  run ${i + 1}: bare ${base[i].ms.toFixed(0)} ms / ${base[i].events} events, cutover ${ours[i].ms.toFixed(0)} ms / ${ours[i].events} events`,
      );
    }
    const wall = median(ours.map((r) => r.ms)) / median(base.map((r) => r.ms));
    const events = median(ours.map((r) => r.events)) / median(base.map((r) => r.events));
    console.log(
      `${STEPS}-step chain, median of ${REPEAT}: bare ${median(base.map((r) => r.ms)).toFixed(0)} ms, cutover ${median(ours.map((r) => r.ms)).toFixed(0)} ms`,
    );
    return finish([
      targetLine('engine', 'wall_ratio', wall, '<=', TARGETS.wall),
      targetLine('engine', 'history_event_ratio', events, '<=', TARGETS.events),
    ]);
  } finally {
    await bench.stop();
  }
}
