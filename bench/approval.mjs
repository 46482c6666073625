// approval: what a signed go/no-go vote costs, on one Temporal dev server, in one run.
//  1. A signed approval through `cutover approve` as the approver sees it (a process started,
//     the key read, the gate's evidence read, the request signed and sent, the answer printed)
//     vs the stock `temporal workflow update execute` sending the same signed request. Target 4x.
//  2. The signed Update round trip inside one process (sign, send, the run's validator, its
//     signature check in a local activity, the vote applied and recorded) vs a bare Update on a
//     bare workflow that counts votes. Target 1.5x.
// The run is live (signatures required) with one gate per vote, all open at once; votes alternate
// between the two sides and medians count (the machines are shared and noisy).
import { execFile } from 'node:child_process';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { dist, median, quietLogger, root, startBench, targetLine } from './lib/support.mjs';

const run = promisify(execFile);
const VOTES = Number(process.env.BENCH_VOTES ?? 30);
const CLI_VOTES = Number(process.env.BENCH_CLI_VOTES ?? 7);
const TARGETS = { cli: 4, update: 1.5 };

function gatedRunbook(name, gates, key) {
  const lines = [
    `name: ${name}`,
    'version: 1',
    'lead: lead',
    'roles: { lead: [alice] }',
    `people: { alice: { key: "${key}" } }`,
    'phases:',
  ];
  lines.push('  - id: decide', '    kind: go_no_go', '    steps:');
  for (let i = 0; i < gates; i += 1) lines.push(`      - { id: g${i}, title: Gate ${i}, owner: lead, gate: { approvers: [lead] } }`);
  return `${lines.join('\n')}\n`;
}

export async function main() {
  const { publicKeyText, signRequest } = await dist('cli/keys.js');
  const { approveGateUpdate } = await dist('workflows/messages.js');
  const { readRunState } = await dist('common/read-run-state.js');
  const { findTemporalCli } = await dist('cli/temporal-server.js');

  const bench = await startBench('approval', async ({ native, queue }) => [
    await Worker.create({
      connection: native,
      taskQueue: `${queue}-bare`,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: path.join(root, 'bench', 'bare-workflow.js'), logger: quietLogger() }),
      activities: { async noop() {} },
    }),
  ]);
  const lines = [];
  try {
    // The approver's key, made the way a person makes it.
    const keysDir = mkdtempSync(path.join(tmpdir(), 'cutover-bench-keys-'));
    const cliEnv = {
      ...process.env,
      CUTOVER_KEYS_DIR: keysDir,
      CUTOVER_HOME: bench.home,
      CUTOVER_DATABASE_URL: bench.databaseUrl,
      TEMPORAL_ADDRESS: bench.address,
    };
    await run(process.execPath, [path.join(root, 'bin', 'cutover.js'), 'keys', 'init'], { env: cliEnv });
    const { stdout: shown } = await run(process.execPath, [path.join(root, 'bin', 'cutover.js'), 'keys', 'show', '--json'], {
      env: cliEnv,
    });
    const key = JSON.parse(shown).publicKey;
    const privateKey = createPrivateKey(readFileSync(path.join(keysDir, 'signing-key.pem')));
    if (publicKeyText(privateKey) !== key) throw new Error('the key cutover made is not the one read back');

    const gates = VOTES + 2 * CLI_VOTES + 2;
    const { runId, handle } = await bench.startRun(
      bench.parse(gatedRunbook(`bench-approval-${randomUUID().slice(0, 6)}`, gates, key)),
      'live',
    );
    let state;
    for (let i = 0; i < 600; i += 1) {
      state = (await readRunState(handle)).state;
      if (Object.values(state.steps).every((s) => s.gate?.evidence)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const evidence = (gate) => state.steps[gate].gate.evidence.digest;
    const bare = await bench.client.workflow.start('bareGate', {
      taskQueue: `${bench.queue}-bare`,
      workflowId: `bare-${randomUUID()}`,
      args: [VOTES + CLI_VOTES + 10],
    });
    let next = 0;
    const nextGate = () => `g${next++}`;

    // 2. In one process.
    const ours = [];
    const base = [];
    for (let i = 0; i < VOTES; i += 1) {
      let t = performance.now();
      await bare.executeUpdate('bareVote', { args: [{ gateId: `g${i}`, by: 'alice' }] });
      base.push(performance.now() - t);
      const gateId = nextGate();
      t = performance.now();
      const request = { gateId, by: 'alice', evidence: evidence(gateId) };
      await handle.executeUpdate(approveGateUpdate, {
        args: [{ ...request, signature: signRequest(privateKey, runId, 'approve', request) }],
      });
      ours.push(performance.now() - t);
    }
    const updateRatio = median(ours) / median(base);
    console.log(
      `approval: signed Update round trip median ${median(ours).toFixed(1)} ms vs bare Update ${median(base).toFixed(1)} ms (${VOTES} each)`,
    );

    // 1. As the approver sees it: a process each.
    const temporal = findTemporalCli(root);
    const cli = [];
    const stock = [];
    for (let i = 0; i < CLI_VOTES; i += 1) {
      const stockGate = nextGate();
      const request = { gateId: stockGate, by: 'alice', evidence: evidence(stockGate) };
      const input = JSON.stringify({ ...request, signature: signRequest(privateKey, runId, 'approve', request) });
      let t = performance.now();
      await run(temporal, [
        'workflow',
        'update',
        'execute',
        '--address',
        bench.address,
        '--workflow-id',
        runId,
        '--name',
        'approveGate',
        '--input',
        input,
      ]);
      stock.push(performance.now() - t);
      const cliGate = nextGate();
      t = performance.now();
      await run(process.execPath, [path.join(root, 'bin', 'cutover.js'), 'approve', runId, cliGate, '--as', 'alice'], {
        env: cliEnv,
        cwd: bench.home,
      });
      cli.push(performance.now() - t);
    }
    const cliRatio = median(cli) / median(stock);
    console.log(
      `approval: cutover approve median ${median(cli).toFixed(0)} ms vs stock temporal CLI ${median(stock).toFixed(0)} ms (${CLI_VOTES} each)`,
    );
    await handle.terminate('bench done');
    await bare.terminate('bench done');

    lines.push(targetLine('approval', 'cli_vs_stock_ratio', cliRatio, '<=', TARGETS.cli));
    lines.push(targetLine('approval', 'signed_update_vs_bare_ratio', updateRatio, '<=', TARGETS.update));
  } finally {
    await bench.stop();
  }
  for (const line of lines) console.log(line.text);
  return lines.every((l) => l.pass) ? 0 : 1;
}
