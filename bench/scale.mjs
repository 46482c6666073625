// scale: 10,000 no-op steps in 100 parallel chains through cutover, against the 500-step chain
// of `bench engine` measured in the same run on the same server. Prints the cost per step of
// each and their ratio (target at most 1.2: cost grows linearly with the runbook), the largest
// payload any execution of the large run carried (target under Temporal's 256 KB warning) and
// the longest history of any one execution (target under Temporal's 10,240-event warning).
import { finish, median, noopRunbook, size, SMOKE, startBench, targetLine } from './lib/support.mjs';

const CHAINS = size('BENCH_CHAINS', 100, 3);
const LENGTH = size('BENCH_CHAIN_LENGTH', 100, 3);
const BASE_STEPS = size('BENCH_STEPS', 500, 5);
const REPEAT = size('BENCH_REPEAT', 3, 1);
const TARGETS = { perStep: 1.2, payloadBytes: 256 * 1024, events: 10_240 };

export async function main() {
  const bench = await startBench('scale');
  try {
    const base = bench.parse(noopRunbook('bench-base', 1, BASE_STEPS));
    console.log(`parsing the ${CHAINS * LENGTH}-step runbook...`);
    const large = bench.parse(noopRunbook('bench-scale', CHAINS, LENGTH));
    const total = CHAINS * LENGTH;

    if (!SMOKE) await bench.throughCutover(base); // warm-up (none in smoke mode: its figures are not judged)
    const baseMs = [];
    for (let i = 0; i < REPEAT; i += 1) baseMs.push((await bench.throughCutover(base)).ms);
    const basePerStep = median(baseMs) / BASE_STEPS;
    console.log(`  ${BASE_STEPS}-step chain: median ${median(baseMs).toFixed(0)} ms (${basePerStep.toFixed(2)} ms a step)`);

    const { ms, runId } = await bench.throughCutover(large);
    const perStep = ms / total;
    console.log(`  ${total} steps in ${CHAINS} chains: ${(ms / 1000).toFixed(1)} s (${perStep.toFixed(2)} ms a step)`);

    // Every execution of the large run (it continues as new): its history length and payloads.
    let executions = 0;
    let longest = 0;
    let largest = 0;
    for await (const execution of bench.client.workflow.list({ query: `WorkflowId = '${runId}'` })) {
      executions += 1;
      const history = await bench.client.workflow.getHandle(runId, execution.runId).fetchHistory();
      longest = Math.max(longest, history.events.length);
      for (const event of history.events) largest = Math.max(largest, largestPayloads(event));
    }
    console.log(`  ${executions} executions; longest history ${longest} events; largest payload ${(largest / 1024).toFixed(1)} KB`);

    return finish([
      targetLine('scale', 'per_step_ratio', perStep / basePerStep, '<=', TARGETS.perStep),
      targetLine('scale', 'largest_payload_bytes', largest, '<', TARGETS.payloadBytes),
      targetLine('scale', 'longest_history_events', longest, '<', TARGETS.events),
    ]);
  } finally {
    await bench.stop();
  }
}

/** The largest set of payloads in one event (Temporal's size limits apply to such a set). */
function largestPayloads(value, seen = new Set()) {
  if (!value || typeof value !== 'object' || seen.has(value)) return 0;
  seen.add(value);
  let max = 0;
  if (Array.isArray(value.payloads)) {
    max = value.payloads.reduce((sum, p) => sum + (p?.data?.length ?? 0) + metadataBytes(p?.metadata), 0);
  }
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object' && !(child instanceof Uint8Array)) max = Math.max(max, largestPayloads(child, seen));
  }
  return max;
}

function metadataBytes(metadata) {
  return Object.values(metadata ?? {}).reduce((sum, v) => sum + (v?.length ?? 0), 0);
}
