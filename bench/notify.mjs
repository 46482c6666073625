// notify: a run's notifier (the `cutoverNotify` workflow of the build, on a cutover worker with its SQLite record
// store) delivering to a local webhook receiver that verifies each request's HMAC and timestamp.
//  1. EVENTS events signalled as a run signals them (one signal each, RATE a second), one webhook message each:
//     the time from the signal to the receiver holding the message, p50 and p99.
//  2. DOWN_EVENTS events while the receiver is down for DOWN_S seconds (connections refused), then up: every message
//     must arrive (retried with the delivery backoff), none twice.
// Targets: p99 <= 2 s, 0 lost, 0 duplicates (the counts judged in smoke mode too).
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { dist, finish, infoLine, size, startBench, targetLine } from './lib/support.mjs';

const EVENTS = size('BENCH_NOTIFY_EVENTS', 1000, 20);
const RATE = size('BENCH_NOTIFY_RATE', 100, 50);
const DOWN_EVENTS = size('BENCH_NOTIFY_DOWN_EVENTS', 100, 5);
const DOWN_S = size('BENCH_NOTIFY_DOWN_S', 300, 2);
const SECRET = `bench-notify-${randomUUID()}`;
/** Limits: see bench/README.md. */
const TARGETS = { p99Ms: 2000 };

const p = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil(xs.length * q) - 1))];

/** A webhook receiver on 127.0.0.1 that verifies the signature and keeps the arrival time of each key. */
async function startReceiver(verifySignature) {
  const arrivals = new Map();
  let received = 0;
  let refused = 0;
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = { signature: req.headers['x-cutover-signature'], timestamp: req.headers['x-cutover-timestamp'] };
      if (!verifySignature(SECRET, headers, body, Date.now() / 1000)) {
        refused += 1;
        res.writeHead(401).end();
        return;
      }
      received += 1;
      const key = String(req.headers['x-cutover-idempotency-key']);
      if (!arrivals.has(key)) arrivals.set(key, { at: performance.now(), eventId: JSON.parse(body).event.id });
      res.writeHead(200).end('ok');
    });
  };
  let server = createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    arrivals,
    counts: () => ({ received, refused }),
    down: close,
    up: async () => {
      server = createServer(handler);
      await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close,
  };
}

async function until(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function main() {
  const { verifySignature } = await dist('notify/signature.js');
  const { deliveryInputs } = await dist('notify/deliveries.js');
  const { DELIVERY_RETRY } = await dist('activities/types.js');
  const { noticesSignal, notifierId, NOTIFIER_WORKFLOW_TYPE } = await dist('workflows/notify-run.js');
  process.env.BENCH_NOTIFY_SECRET = SECRET;
  const receiver = await startReceiver(verifySignature);
  const bench = await startBench('notify');
  try {
    const { runbook } = bench.parse(`name: bench-notify
version: 1
lead: lead
roles: { lead: [alice] }
notifications:
  channels:
    hook: { kind: webhook, url: '${receiver.url}', secret: '\${env:BENCH_NOTIFY_SECRET}' }
  routes:
    - { to: [lead], via: [hook] }
phases:
  - id: all
    kind: migration
    steps:
      - { id: s, title: S, owner: lead, expected: 0s, action: { kind: simulate, duration: 0s } }
`);
    const runId = `bench-notify-${randomUUID().slice(0, 8)}`;
    const handle = await bench.client.workflow.start(NOTIFIER_WORKFLOW_TYPE, {
      taskQueue: `${bench.queue}-cutover`,
      workflowId: notifierId(runId),
      args: [{ runId }],
    });
    const signalled = new Map();
    const tell = async (id, kind = 'step_failed') => {
      const event = {
        id,
        kind,
        runId,
        runbook: runbook.name,
        mode: 'rehearsal',
        at: new Date().toISOString(),
        summary: `Bench event ${id}`,
        facts: [],
      };
      const deliveries = deliveryInputs(runbook, event, { baseDir: bench.home, maxAttempts: DELIVERY_RETRY.maximumAttempts });
      signalled.set(id, performance.now());
      await handle.signal(noticesSignal, [{ event, deliveries }]);
    };

    // The notifier's first event (a run's run_started) also pays for its start and the worker's first tasks: not timed.
    await tell('run_started', 'run_started');
    await until('the first message', () => receiver.arrivals.size === 1, 60_000);

    // 1. A steady stream of events, as a busy run tells them.
    const started = performance.now();
    for (let i = 0; i < EVENTS; i += 1) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await tell(`e${i}`);
    }
    await until('every message of the stream', () => receiver.arrivals.size >= EVENTS + 1, 120_000);
    const latencies = [...receiver.arrivals.values()]
      .filter((a) => a.eventId !== 'run_started')
      .map(({ at, eventId }) => at - signalled.get(eventId));

    // 2. The receiver down for DOWN_S seconds, then up: every message arrives once.
    await receiver.down();
    for (let i = 0; i < DOWN_EVENTS; i += 1) await tell(`d${i}`);
    await new Promise((r) => setTimeout(r, DOWN_S * 1000));
    await receiver.up();
    await tell('run_ended', 'run_ended');
    const expected = 1 + EVENTS + DOWN_EVENTS + 1;
    // The longest wait between two attempts is DELIVERY_RETRY's maximum (5 minutes): give it two.
    await until('every message after the receiver came back', () => receiver.arrivals.size >= expected, 11 * 60_000).catch(() => undefined);
    await handle.result();
    const lost = expected - receiver.arrivals.size;
    const duplicates = receiver.counts().received - receiver.arrivals.size;

    console.log(infoLine('notify', 'p50_event_to_delivery_ms', p(latencies, 0.5), `${EVENTS} events at ${RATE}/s to a local receiver`, 0));
    return finish([
      targetLine('notify', 'p99_event_to_delivery_ms', Math.round(p(latencies, 0.99)), '<=', TARGETS.p99Ms),
      targetLine('notify', 'lost', lost, '=', 0, { exact: true }),
      targetLine('notify', 'duplicates', duplicates, '=', 0, { exact: true }),
    ]);
  } finally {
    await bench.stop();
    await receiver.close();
  }
}
