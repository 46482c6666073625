/**
 * `cutover worker [--pool NAME]... [--serve-runs]`: hosts runs, or a pool's steps, on this machine until stopped.
 */
import { poolTaskQueue } from '../runbook/pools.js';
import { EXIT } from './errors.js';
import { connectTemporal } from './temporal.js';
import { onStopRequest } from './signals.js';
import type { Output } from './output.js';
import { openRecordStore } from '../prisma/store.js';
import { readSettings } from './settings.js';

export interface WorkerOptions {
  /** Pools this machine serves (`runs_on`); without any, the worker hosts runs and unpinned steps. */
  pools: readonly string[];
  /** Host runs and unpinned steps as well as the pools. */
  serveRuns: boolean;
}

/** `cutover worker [--pool NAME]... [--serve-runs]`: hosts runs, or a pool's steps, on this machine until stopped. */
export async function runWorker(options: WorkerOptions, out: Output): Promise<number> {
  const settings = readSettings();
  const store = await openRecordStore(settings);
  const session = await connectTemporal(settings, { startEmbedded: true });
  const serveRuns = options.serveRuns || options.pools.length === 0;
  try {
    await session.startWorker(store, { pools: options.pools, serveRuns });
    const serving = [
      ...(serveRuns ? [`runs on task queue ${session.taskQueue}`] : []),
      ...options.pools.map((pool) => `pool ${pool} (task queue ${poolTaskQueue(session.taskQueue, pool)})`),
    ];
    out.line(
      `worker${settings.workerName ? ` ${settings.workerName}` : ''} serving ${serving.join(', ')} at ${session.address} (namespace ${session.namespace}); Ctrl-C stops it`,
    );
    if (session.embedded && options.pools.length > 0) {
      out.warn(
        'note: runs on the embedded server are one machine, so their pinned steps run wherever the run is hosted; ' +
          'a pool worker matters with TEMPORAL_ADDRESS set to a cluster',
      );
    }
    let stopListening: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      stopListening = onStopRequest(() => resolve());
    });
    try {
      // The embedded server this worker started died for good: one sentence, exit 6.
      await Promise.race([stopped, session.serverLost]);
    } finally {
      stopListening();
    }
    out.line('worker stopping; runs in flight continue on other workers or when one starts again');
    return EXIT.ok;
  } finally {
    await session.close();
    await store.close();
  }
}
