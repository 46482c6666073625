// web: the live run page under load, on one Temporal server, in one run.
// A rehearsal with a row of open gates; the benchmark approves them one after another (one change each, CHANGES in
// all, one a second) while pages follow the run. The page is served by a process of its own (lib/web-server-child.mjs,
// wired as `cutover web` wires it, counting the Temporal queries its live channels send):
//  - one viewer: one event stream on the run;
//  - VIEWERS viewers: VIEWERS event streams and one Chromium tab on the run page for CHANGES changes; then CHANGES more
//    with, between each two, LOADERS clients loading the run page at once, then LOADERS loading a static route (the
//    stylesheet) at once;
//  - baseline: one poller per viewer, each with its own RunFollower (the cheapest way a page could read the run by
//    itself: the summary every 250 ms, pages only when the revision moved), as pages that each polled Temporal would;
//    POLLERS of them, their queries scaled to VIEWERS.
// Then the live re-forecast of a FORECAST_STEPS-step run in flight against `cutover forecast` of the same runbook.
// Targets: queries per second with VIEWERS viewers <= 1.1x that with one; the run page's p99 <= 2x the static route's
// in the same bursts; the page's peak RSS <= 300 MB; an approval answered until the Chromium tab shows it, p99 <= 1 s
// (with the streams, before the page loads; printed beside it with them);
// a re-forecast <= 0.5x the forecast's CPU time. See bench/README.md.
import { fork } from 'node:child_process';
import { get } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dist, finish, infoLine, median, size, SMOKE, sqliteStore, startBench, targetLine } from './lib/support.mjs';
import { recordRehearsals, timingRunbook } from './lib/timing-store.mjs';
import { launchChromium } from './lib/chromium.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const VIEWERS = size('BENCH_VIEWERS', 300, 3);
const LOADERS = size('BENCH_LOADERS', 100, 3);
/**
 * Pollers of the baseline, whose queries are scaled to VIEWERS: each polls on its own, so N cost N times one. 300
 * pollers in this process overload a dev server on 2 cores (queries time out and are retried after the benchmark ends).
 */
const POLLERS = size('BENCH_POLLERS', 50, 3);
const CHANGES = size('BENCH_CHANGES', 10, 2);
const FORECAST_STEPS = size('BENCH_FORECAST_STEPS', 1000, 40);
const FORECAST_RUNS = size('BENCH_FORECAST_RUNS', 5, 2);
const REPEAT = size('BENCH_REPEAT', 5, 1);
const POLL_MS = 250;
const CHANGE_EVERY_MS = 1_000;
/** How long the Chromium tab may take to show an approval before it counts as never shown. */
const SCREEN_DEADLINE_MS = 15_000;
/** The route the run page is held against: the stylesheet, served from memory as a static file server would. */
const STATIC_ROUTE = '/assets/page.css';
/** Limits: see bench/README.md. */
const TARGETS = { oneViewer: 1.1, runPageVsStatic: 2, rssMb: 300, changeToScreenMs: 1_000, reforecast: 0.5 };

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

/** The status page in a process of its own (lib/web-server-child.mjs) on the benchmark's Temporal and store. */
async function startPage(bench) {
  const child = fork(path.join(here, 'lib', 'web-server-child.mjs'), [], {
    env: {
      ...process.env,
      BENCH_WEB_TEMPORAL: bench.address,
      BENCH_WEB_DATABASE_URL: bench.databaseUrl,
      BENCH_WEB_POLL_MS: String(POLL_MS),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (type) =>
    new Promise((resolve, reject) => {
      const onMessage = (m) => m?.type === type && (child.off('message', onMessage), child.off('exit', onExit), resolve(m));
      const onExit = (code) => reject(new Error(`the status page's process exited (${code}) before it sent ${type}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const { url } = await next('ready');
  return {
    url,
    stats: () => {
      const answer = next('stats');
      child.send({ type: 'stats' });
      return answer;
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.send({ type: 'stop' });
      }),
  };
}

/**
 * The run page in a Chromium tab, live; returns a function that gives, per gate, when (Date.now(), the same clock as
 * this process) the tab's page first showed it approved. A MutationObserver notes it as the page's own script puts
 * the changed parts in place.
 */
async function watchInChromium(browser, url) {
  const tab = await browser.newPage();
  await tab.goto(url);
  await tab.waitForSelector('#live[data-state="live"]', { timeout: 30_000 });
  // Run in the page (a string: this file is linted for Node, not for a browser).
  await tab.evaluate(`(() => {
    window.benchSeen = {};
    const note = () => {
      for (const m of document.body.innerHTML.matchAll(/approved <code>g(\\d+)<\\/code>/g)) window.benchSeen[m[1]] ??= Date.now();
    };
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
  })()`);
  return {
    seen: () => tab.evaluate('window.benchSeen'),
    close: () => tab.close(),
  };
}

/** Page loads the server reset and that were asked again. */
let resets = 0;

/**
 * One GET on a connection of its own, as a browser opening the page does, read to the end: its time (ms), or a thrown
 * error for an answer that is not the page. (A kept-alive connection that the server closes after its idle timeout
 * just as the next burst reuses it would fail as a reset.)
 */
function timedGet(url, mustContain, started = performance.now(), retried = false) {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false }, (answer) => {
      let body = '';
      answer.setEncoding('utf8');
      answer.on('data', (chunk) => (body += chunk));
      answer.on('error', reject);
      answer.on('end', () => {
        const ms = performance.now() - started;
        if (answer.statusCode !== 200 || !body.includes(mustContain))
          reject(new Error(`GET ${url}: HTTP ${answer.statusCode}, not the page`));
        else resolve(ms);
      });
    });
    request.on('error', (error) => {
      // A connection the server reset (seen twice under the full load on a machine at load 18; see bench/README.md):
      // asked again once, counted, its time from the first attempt.
      if (error.code === 'ECONNRESET' && !retried) {
        resets += 1;
        resolve(timedGet(url, mustContain, started, true));
      } else reject(new Error(`GET ${url}: ${error.message}`));
    });
  });
}

/**
 * `loaders` clients loading the run page at once, then `loaders` clients loading the static route at once: each page's
 * times under the same concurrency, beside the same streams.
 */
async function loadBurst(pageUrl, runId, loaders, into) {
  const burst = async (url, mustContain) => Promise.all(Array.from({ length: loaders }, () => timedGet(url, mustContain)));
  into.run.push(...(await burst(`${pageUrl}/runs/${runId}`, 'Gate 0')));
  into.static.push(...(await burst(`${pageUrl}${STATIC_ROUTE}`, 'body')));
}

export async function main() {
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
  async function openRun(tag, gates = CHANGES) {
    const { runId, handle } = await bench.startRun(bench.parse(gatedRunbook(`web-${tag}`, gates)));
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

  /**
   * Approves CHANGES gates one by one from gate `first`; `seenBy(k)` resolves when every viewer holds change k;
   * `between(k)` runs half a change after change k was answered. Queries per second (`queries()` counts them),
   * latencies, when each approval was sent and answered (Date.now()).
   */
  async function changes(handle, seenBy, queries, between = () => undefined, first = 0) {
    const latencies = [];
    const sent = [];
    const answered = [];
    const pending = [];
    const start = { at: performance.now(), queries: await queries() };
    for (let k = first; k < first + CHANGES; k += 1) {
      const seen = seenBy(k);
      sent.push(Date.now());
      await handle.executeUpdate(approveGateUpdate, { args: [{ gateId: `g${k}`, by: 'alice' }] });
      answered.push(Date.now());
      const answeredAt = performance.now();
      const loading = new Promise((r) => setTimeout(r, CHANGE_EVERY_MS / 2)).then(() => between(k));
      // Its failure is thrown below, once the changes are done, not as an unhandled rejection meanwhile.
      loading.catch(() => undefined);
      pending.push(loading);
      await seen;
      latencies.push(performance.now() - answeredAt);
      // One change a second on every side: each window lasts as long, so queries per second compare like for like.
      const wait = CHANGE_EVERY_MS - (performance.now() - (start.at + (k - first) * CHANGE_EVERY_MS));
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const seconds = (performance.now() - start.at) / 1000;
    const qps = ((await queries()) - start.queries) / seconds;
    await Promise.all(pending);
    return { qps, latencies, sent, answered };
  }

  /**
   * Ours: `viewers` event streams on the status page, CHANGES changes. With a browser, a Chromium tab too, and then
   * CHANGES more changes with bursts of `loaders` page loads between them.
   */
  async function shared(viewers, { browser, loaders = 0 } = {}) {
    const windows = browser ? 2 : 1;
    const { runId, handle } = await openRun(`shared${viewers}`, windows * CHANGES);
    const page = await startPage(bench);
    const seen = Array.from({ length: viewers }, () => new Set());
    const wake = new Set();
    const closers = [];
    let snapshots = 0;
    try {
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
      const tab = browser ? await watchInChromium(browser, `${page.url}/runs/${runId}`) : undefined;
      const loads = { run: [], static: [] };
      const seenBy = (k) =>
        new Promise((resolve) => {
          const check = () => seen.every((s) => s.has(k)) && (wake.delete(check), resolve());
          wake.add(check);
          check();
        });
      const queries = async () => (await page.stats()).queries;
      // The streams and the tab alone; then with the page loads (those figures, queries included, are of that window).
      const quiet = await changes(handle, seenBy, queries);
      const result = tab
        ? await changes(handle, seenBy, queries, () => loaders > 0 && loadBurst(page.url, runId, loaders, loads), CHANGES)
        : quiet;
      if (tab) {
        // Every approval on the tab's screen, or the deadline: one never shown counts at the deadline.
        const deadline = Date.now() + SCREEN_DEADLINE_MS;
        let shown = await tab.seen();
        while (Object.keys(shown).length < windows * CHANGES && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          shown = await tab.seen();
        }
        const onScreen = (times, first) =>
          times.map((at, i) => (shown[first + i] === undefined ? SCREEN_DEADLINE_MS : Math.max(0, shown[first + i] - at)));
        result.screen = onScreen(quiet.answered, 0);
        result.screenFromSent = onScreen(quiet.sent, 0);
        result.screenUnderLoad = onScreen(result.answered, CHANGES);
        await tab.close();
      }
      const { maxRssMb } = await page.stats();
      return { ...result, loads, maxRssMb };
    } finally {
      for (const close of closers) close();
      await page.stop();
      await handle.terminate('benchmark over').catch(() => undefined); // it may have completed: every gate approved
    }
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
    const result = await changes(
      handle,
      async (k) => {
        while (!seen.every((s) => s.has(k))) await new Promise((r) => setTimeout(r, 10));
      },
      async () => counted.queries,
    );
    running = false;
    await Promise.all(loops);
    await handle.terminate('benchmark over').catch(() => undefined); // it may have completed: every gate approved
    return result;
  }

  let browser;
  try {
    const one = await shared(1);
    browser = await launchChromium();
    const many = await shared(VIEWERS, { browser, loaders: LOADERS });
    await browser.close();
    browser = undefined;
    const baseline = await perViewer(POLLERS);
    console.log(`page loads: ${many.loads.run.length + many.loads.static.length}, of which ${resets} reset by the server and asked again`);
    const live = await reforecast(bench.home);
    return finish(figures(one, many, baseline, live));
  } finally {
    await browser?.close();
    await bench.stop();
  }
}

/**
 * The live re-forecast of a FORECAST_STEPS-step run in flight, against `cutover forecast` of the same runbook: its
 * answer as the command works it out (the store opened and read, 10,000 nights, the store closed), in this process.
 * The run stands halfway: the first half of its steps done as the last rehearsal took them, the next stream's worth
 * under way. The model is fitted once per run watched (outside the timing; printed), each change costs one
 * re-forecast. Alternating after a warm-up, REPEAT times each; the ratio of their median CPU times.
 */
async function reforecast(home) {
  const c = {
    ...(await dist('prisma/store.js')),
    ...(await dist('runbook/parse.js')),
    ...(await dist('cli/load-runbook.js')),
    ...(await dist('run/transitions.js')),
    ...(await dist('timing/random.js')),
    ...(await dist('timing/forecast.js')),
    ...(await dist('timing/live-forecast.js')),
    ...(await dist('timing/live-model-source.js')),
    ...(await dist('cli/review-timing.js')),
  };
  const databaseUrl = sqliteStore(path.join(home, 'reforecast.db'));
  const book = timingRunbook(FORECAST_STEPS, 'web-reforecast');
  await recordRehearsals(c, databaseUrl, book, FORECAST_RUNS, 20261207);
  const parsed = c.parseRunbook(book.text, 'bench.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.slice(0, 3)));
  const { runbook } = parsed;
  const hash = c.hashRunbook(runbook);
  const withStore = async (fn) => {
    const store = await c.openRecordStore({ databaseUrl });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  };
  const started = performance.now();
  const model = await withStore((store) => c.loadLiveModel(store, runbook, hash));
  const fitMs = performance.now() - started;
  const now = Date.parse('2026-12-07T22:00:00Z');
  const state = c.initialRunState(
    { runId: 'web-reforecast-live', runbook, versionHash: hash, mode: 'live', startedBy: 'alice' },
    new Date(now - 3 * 3_600_000).toISOString(),
  );
  const half = Math.floor(state.order.length / 2);
  state.status = 'running';
  state.order.forEach((id, i) => {
    const step = state.steps[id];
    if (i < half) {
      step.status = 'succeeded';
      step.attempts = 1;
      step.startedAt = new Date(now - 3 * 3_600_000 + i * 1_000).toISOString();
      step.endedAt = new Date(now - 3 * 3_600_000 + (i + 1) * 10_000).toISOString();
    } else if (i < half + book.streams) {
      step.status = 'running';
      step.attempts = 1;
      step.startedAt = new Date(now - 60_000).toISOString();
    }
  });
  const cpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const timed = async (fn) => {
    const [t, c0] = [performance.now(), cpu()];
    const answer = await fn();
    return { ms: performance.now() - t, cpu: cpu() - c0, answer };
  };
  const ours = [];
  const theirs = [];
  for (let i = SMOKE ? 1 : 0; i <= REPEAT; i += 1) {
    const o = await timed(async () => c.liveForecast(model, state, now));
    const f = await timed(() => withStore(async (store) => c.forecast(await c.forecastInput(store, runbook.name, databaseUrl))));
    if (i === 0) continue;
    ours.push(o);
    theirs.push(f);
  }
  const medians = (list) => ({ ms: median(list.map((r) => r.ms)), cpu: median(list.map((r) => r.cpu)) });
  const result = { ours: medians(ours), forecast: medians(theirs), remaining: ours[0].answer.remaining };
  console.log(
    `re-forecast: ${FORECAST_STEPS}-step runbook, ${FORECAST_RUNS} rehearsals recorded; model fitted once in ${(fitMs / 1000).toFixed(2)} s; ` +
      `re-forecast ${result.ours.ms.toFixed(1)} ms (CPU ${result.ours.cpu.toFixed(1)} ms) of ${result.remaining} steps left, ` +
      `cutover forecast ${result.forecast.ms.toFixed(1)} ms (CPU ${result.forecast.cpu.toFixed(1)} ms); medians of ${REPEAT}`,
  );
  return { ...result, ratio: result.ours.cpu / result.forecast.cpu };
}

/** Prints the informational figures and gives the target lines (printed last). */
function figures(one, many, baseline, live) {
  const lines = [
    targetLine('web', 'queries_per_second_vs_one_viewer_ratio', many.qps / one.qps, '<=', TARGETS.oneViewer),
    targetLine('web', 'run_page_vs_static_p99_ratio', p99(many.loads.run) / p99(many.loads.static), '<=', TARGETS.runPageVsStatic),
    targetLine('web', 'server_peak_rss_mb', many.maxRssMb, '<=', TARGETS.rssMb, { digits: 1 }),
    targetLine('web', 'change_to_screen_ms_p99', p99(many.screen), '<=', TARGETS.changeToScreenMs, { digits: 0 }),
    targetLine('web', 'reforecast_vs_forecast_ratio', live.ratio, '<=', TARGETS.reforecast),
  ];
  console.log(infoLine('web', 'queries_per_second', many.qps, `${VIEWERS} viewers on one live channel`));
  console.log(
    infoLine(
      'web',
      'queries_vs_poller_per_viewer_ratio',
      many.qps / ((baseline.qps * VIEWERS) / POLLERS),
      `ours against one poller per viewer, ${VIEWERS} viewers; ${POLLERS} pollers measured, scaled`,
    ),
  );
  console.log(infoLine('web', 'change_to_event_ms_p99', p99(many.latencies), 'an approval answered until every viewer holds it', 0));
  console.log(
    infoLine(
      'web',
      'run_page_ms_p99',
      p99(many.loads.run),
      `${LOADERS} clients at once, ${many.loads.run.length} loads beside ${VIEWERS} streams`,
      0,
    ),
  );
  console.log(infoLine('web', 'static_route_ms_p99', p99(many.loads.static), `${STATIC_ROUTE} in the same bursts`, 0));
  console.log(infoLine('web', 'change_to_screen_from_sent_ms_p99', p99(many.screenFromSent), 'from sending the approval', 0));
  console.log(
    infoLine(
      'web',
      'change_to_screen_under_load_ms_p99',
      p99(many.screenUnderLoad),
      `with ${LOADERS} page loads at once between changes`,
      0,
    ),
  );
  console.log(
    infoLine('web', 'reforecast_ms', live.ours.ms, `the live re-forecast of ${live.remaining} steps left of ${FORECAST_STEPS}, wall`, 1),
  );
  console.log(infoLine('web', 'forecast_ms', live.forecast.ms, `cutover forecast's answer for the same runbook, wall`, 1));
  return lines;
}
