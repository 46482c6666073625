// web: what the live run page costs Temporal as viewers are added, on one Temporal server, in one run.
// A rehearsal with a row of open gates; the benchmark approves them one after another (one change each, CHANGES in
// all, one a second) while VIEWERS pages follow the run:
//  - ours: the status page (`serveStatusPage`, the build) with VIEWERS event streams open on the run, one live channel
//    reading it for all of them; and the same with one viewer;
//  - baseline: one poller per viewer, each with its own RunFollower (the cheapest way a page could read the run by
//    itself: the summary every 250 ms, pages only when the revision moved), as a page that polls Temporal would.
// Each change counts as seen when every viewer has it. Queries are counted at the one place each side asks Temporal.
// Target: queries per second with VIEWERS viewers <= 1.1x that with one. Printed beside it: the ratio to the
// one-poller-per-viewer baseline, and the p99 from an approval answered to every viewer holding it.
import { dist, finish, infoLine, size, startBench, targetLine } from './lib/support.mjs';

const VIEWERS = size('BENCH_VIEWERS', 50, 3);
const CHANGES = size('BENCH_CHANGES', 10, 2);
const POLL_MS = 250;
const CHANGE_EVERY_MS = 1_000;
/** Limits: see bench/README.md. */
const TARGETS = { oneViewer: 1.1 };

function gatedRunbook(name, gates) {
  const lines = [
    'name: ' + name,
    'version: 1',
    'lead: lead',
    'roles: { lead: [alice] }',
    'phases:',
    '  - id: decide',
    '    kind: go_no_go',
    '    steps:',
  ];
  for (let i = 0; i < gates; i += 1) lines.push(`      - { id: g${i}, title: Gate ${i}, owner: lead, gate: { approvers: [lead] } }`);
  return `${lines.join('\n')}\n`;
}

/** An event stream read from Node: calls `onEvent(type, data)` for each event. */
async function openStream(url, onEvent) {
  const abort = new AbortController();
  const answer = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
  if (!answer.ok) throw new Error(`stream ${url}: HTTP ${answer.status}`);
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of answer.body) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (type && data) onEvent(type, data);
        }
      }
    } catch {
      // closed by the benchmark
    }
  })();
  return () => abort.abort();
}

const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.99) - 1)];

export async function main() {
  const { serveStatusPage } = await dist('web/server.js');
  const { RunFollower } = await dist('common/run-follower.js');
  const { approveGateUpdate, runStepsQuery, runSummaryQuery } = await dist('workflows/messages.js');
  const { readRunState } = await dist('common/read-run-state.js');
  const bench = await startBench('web');
  const counted = { queries: 0 };
  const queriesOf = (runId) => {
    const handle = bench.client.workflow.getHandle(runId);
    return {
      summary: () => {
        counted.queries += 1;
        return handle.query(runSummaryQuery);
      },
      page: (offset, limit) => {
        counted.queries += 1;
        return handle.query(runStepsQuery, { offset, limit });
      },
    };
  };

  /** Starts a run with its gates open. */
  async function openRun(tag) {
    const { runId, handle } = await bench.startRun(bench.parse(gatedRunbook(`web-${tag}`, CHANGES)));
    for (;;) {
      try {
        const { state } = await readRunState(handle);
        if (Object.values(state.steps).every((s) => s.gate?.status === 'open')) return { runId, handle };
      } catch (error) {
        if (!/still reading its runbook/.test(String(error?.message))) throw error;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Approves the gates one by one; `seenBy(k)` resolves when every viewer holds change k. Queries per second, latencies. */
  async function changes(handle, seenBy) {
    const latencies = [];
    const start = { at: performance.now(), queries: counted.queries };
    for (let k = 0; k < CHANGES; k += 1) {
      const seen = seenBy(k);
      await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: `g${k}`, by: 'alice' }] });
      const answered = performance.now();
      await seen;
      latencies.push(performance.now() - answered);
      // One change a second on every side: each window lasts as long, so queries per second compare like for like.
      const wait = CHANGE_EVERY_MS - (performance.now() - (start.at + k * CHANGE_EVERY_MS));
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const seconds = (performance.now() - start.at) / 1000;
    return { qps: (counted.queries - start.queries) / seconds, latencies };
  }

  /** Ours: `viewers` event streams on the status page. */
  async function shared(viewers) {
    const { runId, handle } = await openRun(`shared${viewers}`);
    const page = await serveStatusPage({
      port: 0,
      store: { listRuns: async () => [], findRun: async () => null, reconcileResults: async () => [] },
      follow: queriesOf,
      pollMs: POLL_MS,
    });
    const seen = Array.from({ length: viewers }, () => new Set());
    const wake = new Set();
    const closers = [];
    let snapshots = 0;
    for (let v = 0; v < viewers; v += 1) {
      closers.push(
        await openStream(`${page.url}/runs/${runId}/events`, (type, data) => {
          if (type === 'snapshot') snapshots += 1;
          for (const m of data.matchAll(/approved <code>g(\d+)<\/code>/g)) seen[v].add(Number(m[1]));
          for (const w of wake) w();
        }),
      );
    }
    while (snapshots < viewers) await new Promise((r) => setTimeout(r, 20));
    const result = await changes(
      handle,
      (k) =>
        new Promise((resolve) => {
          const check = () => seen.every((s) => s.has(k)) && (wake.delete(check), resolve());
          wake.add(check);
        }),
    );
    for (const close of closers) close();
    await page.close();
    await handle.terminate('benchmark over').catch(() => undefined); // it may have completed: every gate approved
    return result;
  }

  /** Baseline: one poller per viewer, each with its own follower. */
  async function perViewer(viewers) {
    const { runId, handle } = await openRun(`poll${viewers}`);
    let running = true;
    const seen = Array.from({ length: viewers }, () => new Set());
    const loops = Array.from({ length: viewers }, async (_, v) => {
      const follower = new RunFollower(queriesOf(runId));
      while (running) {
        const change = await follower.read().catch(() => undefined);
        if (change) for (const d of change.state.decisions) if (d.kind === 'approve' && d.target) seen[v].add(Number(d.target.slice(1)));
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    });
    await new Promise((r) => setTimeout(r, POLL_MS * 2));
    const result = await changes(handle, async (k) => {
      while (!seen.every((s) => s.has(k))) await new Promise((r) => setTimeout(r, 10));
    });
    running = false;
    await Promise.all(loops);
    await handle.terminate('benchmark over').catch(() => undefined); // it may have completed: every gate approved
    return result;
  }

  try {
    const one = await shared(1);
    const many = await shared(VIEWERS);
    const baseline = await perViewer(VIEWERS);
    const lines = [targetLine('web', 'queries_per_second_vs_one_viewer_ratio', many.qps / one.qps, '<=', TARGETS.oneViewer)];
    console.log(infoLine('web', 'queries_per_second', many.qps, `${VIEWERS} viewers on one live channel`));
    console.log(
      infoLine(
        'web',
        'queries_vs_poller_per_viewer_ratio',
        many.qps / baseline.qps,
        `ours against one poller per viewer, ${VIEWERS} viewers`,
      ),
    );
    console.log(infoLine('web', 'change_to_event_ms_p99', p99(many.latencies), 'an approval answered until every viewer holds it', 0));
    return finish(lines);
  } finally {
    await bench.stop();
  }
}
