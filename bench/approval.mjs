// approval: what a signed go/no-go vote costs, on one Temporal server, in one run.
//  1. A signed approval through `cutover approve` as the approver sees it (a process started, the key read, the
//     gate's evidence read, the request signed and sent, the answer printed) vs the same signed request sent by the
//     smallest Node program on the stock Temporal client (bench/lib/sdk-vote.mjs), bundled and code-cached as the
//     decision commands are: the same start-up (Node, the client, its protobuf definitions), none of cutover's work.
//     Target 1.5x. Printed beside it: the stock `temporal workflow update execute` (a Go binary) sending the same
//     request, and what the Node program alone costs against it.
//  2. The signed Update round trip inside one process (sign, send, the run's validator, its signature check in a
//     local activity, the vote applied and recorded) vs a bare Update on a bare workflow that counts votes. Target
//     1.5x.
//  1b. A vote from the page (issue 19): Chromium at 375 px with the DevTools virtual authenticator, from the tap on
//     Approve to "Recorded" on the page (the passkey's assertion of the request, the page forwarding it, the run's
//     check) vs `cutover approve` of the same kind of gate in the same run, alternating. Target 1.5x.
//  3. The same round trip with the vote signed by a passkey (a WebAuthn assertion, ES256, made by a software
//     authenticator here: the browser's part is not the run's) vs signed with the Ed25519 key (issue 19). Target 1.5x.
// The run is live (signatures required) with one gate per vote, all open at once; votes alternate between the sides
// and medians count (the machines are shared and noisy).
import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from '@temporalio/worker';
import { bareWorkflowBundle, dist, finish, infoLine, median, root, size, SMOKE, startBench, targetLine } from './lib/support.mjs';
import { startPageVoter } from './lib/page-vote.mjs';

const run = promisify(execFile);
const VOTES = size('BENCH_VOTES', 30, 2);
const CLI_VOTES = size('BENCH_CLI_VOTES', 7, 1);
/** Limits: see bench/README.md for how they were chosen. */
const TARGETS = { cli: 1.5, update: 1.5, passkey: 1.5, page: 1.5 };

/** cutover's modules, from the build: every import of dist/ in this file. */
async function cutover() {
  return {
    ...(await dist('cli/keys.js')),
    ...(await dist('workflows/messages.js')),
    ...(await dist('common/read-run-state.js')),
    ...(await dist('cli/temporal-cli.js')),
    ...(await dist('common/signatures.js')),
    ...(await dist('run/signed-request.js')),
  };
}

function gatedRunbook(name, gates, key, passkey, pagePasskey) {
  const lines = [
    `name: ${name}`,
    'version: 1',
    'lead: lead',
    'roles: { lead: [alice, bob] }',
    `people: { alice: { key: "${key}", passkey: "${passkey}" }, bob: { passkey: "${pagePasskey}" } }`,
    'phases:',
  ];
  lines.push('  - id: decide', '    kind: go_no_go', '    steps:');
  for (let i = 0; i < gates; i += 1) lines.push(`      - { id: g${i}, title: Gate ${i}, owner: lead, gate: { approvers: [lead] } }`);
  return `${lines.join('\n')}\n`;
}

/**
 * bench/lib/sdk-vote.mjs as the decision commands are built (scripts/setup.mjs): one CommonJS bundle, loaded through
 * bin/cached-bundle.cjs with a V8 code cache that its first run writes. Returns the script to run with node.
 */
async function bundleSdkVote(dir) {
  const esbuild = createRequire(path.join(root, 'package.json'))('esbuild');
  const bundle = path.join(dir, 'sdk-vote.cjs');
  await esbuild.build({
    entryPoints: [path.join(root, 'bench', 'lib', 'sdk-vote.mjs')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
  });
  const entry = path.join(dir, 'sdk-vote-entry.cjs');
  writeFileSync(
    entry,
    `require(${JSON.stringify(path.join(root, 'bin', 'cached-bundle.cjs'))})` +
      `.loadCachedBundle(${JSON.stringify(bundle)}, ${JSON.stringify(`${bundle}.cache`)})` +
      '.main(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n',
  );
  return entry;
}

/**
 * A passkey's signature of a request as a browser and an authenticator make it: the assertion of the signed text's
 * SHA-256 (authenticator data for the relying party, user present and verified; client data; ECDSA P-256 in DER).
 */
function passkeySignature(c, passkey, runId, kind, fields) {
  const at = new Date().toISOString();
  const nonce = randomBytes(16).toString('base64url');
  const challenge = c.passkeyChallenge(c.signedText(runId, kind, fields, at, nonce));
  const authData = Buffer.concat([createHash('sha256').update(passkey.rpId).digest(), Buffer.from([0x05, 0, 0, 0, 0])]);
  const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin: `https://${passkey.rpId}` }));
  const value = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientData).digest()]), {
    key: passkey.privateKey,
    dsaEncoding: 'der',
  });
  return {
    key: passkey.line,
    at,
    nonce,
    value: value.toString('base64url'),
    authenticatorData: authData.toString('base64url'),
    clientDataJSON: clientData.toString('base64url'),
  };
}

export async function main() {
  const c = await cutover();
  const bench = await startBench('approval', async ({ native, queue }) => [
    await Worker.create({
      connection: native,
      taskQueue: `${queue}-bare`,
      workflowBundle: await bareWorkflowBundle(),
      activities: { async noop() {} },
    }),
  ]);
  const scratch = mkdtempSync(path.join(tmpdir(), 'cutover-bench-approval-'));
  const lines = [];
  const stops = [];
  try {
    // The approver's key, made the way a person makes it.
    const keysDir = path.join(scratch, 'keys');
    const cliEnv = {
      ...process.env,
      CUTOVER_KEYS_DIR: keysDir,
      CUTOVER_HOME: bench.home,
      CUTOVER_DATABASE_URL: bench.databaseUrl,
      TEMPORAL_ADDRESS: bench.address,
    };
    const cutoverCli = (args) => run(process.execPath, [path.join(root, 'bin', 'cutover.js'), ...args], { env: cliEnv, cwd: bench.home });
    await cutoverCli(['keys', 'init']);
    const key = JSON.parse((await cutoverCli(['keys', 'show', '--json'])).stdout).publicKey;
    const privateKey = createPrivateKey(readFileSync(path.join(keysDir, 'signing-key.pem')));
    if (c.publicKeyText(privateKey) !== key) throw new Error('the key cutover made is not the one read back');

    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const passkey = {
      privateKey: pair.privateKey,
      rpId: 'cutover.example.com',
      line: c.passkeyText('cutover.example.com', pair.publicKey),
    };

    // bob votes from the page: enrolled first, as a person is before the night, so the runbook lists his passkey.
    const voter = await startPageVoter(bench, 'bob');
    stops.push(() => voter.close());

    // No warm-up in smoke mode: its figures are not judged.
    const warmUps = SMOKE ? 0 : 1;
    const gates = 2 * VOTES + 4 * (CLI_VOTES + warmUps) + 2;
    const { runId, handle } = await bench.startRun(
      bench.parse(gatedRunbook(`bench-approval-${randomUUID().slice(0, 6)}`, gates, key, passkey.line, voter.passkey)),
      'live',
      // The run has no rehearsals behind it: the lead's signed override, as `cutover run --live --override-evidence`.
      {
        override: (id) => {
          const override = { by: 'alice', role: 'lead', reason: 'benchmark', missing: ['a completed rehearsal'] };
          const request = { by: override.by, reason: `${override.reason} (missing: ${override.missing.join('; ')})` };
          return { ...override, signature: c.signRequest(privateKey, id, 'override', request) };
        },
      },
    );
    let state;
    for (let i = 0; i < 600; i += 1) {
      state = (await c.readRunState(handle)).state;
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
    /** A signed approval of the next gate, as JSON: what the stock CLI and the SDK program send. */
    const signedInput = () => {
      const gateId = nextGate();
      const request = { gateId, by: 'alice', evidence: evidence(gateId) };
      return JSON.stringify({ ...request, signature: c.signRequest(privateKey, runId, 'approve', request) });
    };

    // 2. In one process.
    const ours = [];
    const base = [];
    const withPasskey = [];
    /** One signed vote on the next gate, timed: Ed25519 (`sign` absent) or a passkey's assertion. */
    const signedVote = async (byPasskey) => {
      const gateId = nextGate();
      const t = performance.now();
      const request = { gateId, by: 'alice', evidence: evidence(gateId) };
      const signature = byPasskey
        ? passkeySignature(c, passkey, runId, 'approve', request)
        : c.signRequest(privateKey, runId, 'approve', request);
      await handle.executeUpdate(c.approveGateUpdate, { args: [{ ...request, signature }] });
      (byPasskey ? withPasskey : ours).push(performance.now() - t);
    };
    for (let i = 0; i < VOTES; i += 1) {
      const t = performance.now();
      await bare.executeUpdate('bareVote', { args: [{ gateId: `g${i}`, by: 'alice' }] });
      base.push(performance.now() - t);
      // 3. The same vote signed with a passkey, each kind first every other time: a vote right after another on the
      // same run can wait for that one's workflow task to finish, and neither kind should always be the second.
      await signedVote(i % 2 === 1);
      await signedVote(i % 2 === 0);
    }
    const updateRatio = median(ours) / median(base);
    console.log(
      `approval: signed Update round trip median ${median(ours).toFixed(1)} ms vs bare Update ${median(base).toFixed(1)} ms (${VOTES} each)`,
    );

    const passkeyRatio = median(withPasskey) / median(ours);
    console.log(
      `approval: passkey-signed Update round trip median ${median(withPasskey).toFixed(1)} ms vs Ed25519-signed ${median(ours).toFixed(1)} ms (${VOTES} each)`,
    );

    // 1. As the approver sees it: a process each. One warm-up of each (the SDK program's first run writes its code
    // cache, as the decision commands' first run does), then alternating.
    const temporal = c.findTemporalCli(root);
    const sdkVote = await bundleSdkVote(scratch);
    const sides = {
      stock: () =>
        run(temporal, [
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
          signedInput(),
        ]),
      sdk: () => run(process.execPath, [sdkVote, bench.address, runId, 'runSummary', 'approveGate', signedInput()]),
      cli: () => cutoverCli(['approve', runId, nextGate(), '--as', 'alice']),
      // From the tap to "Recorded" (timed inside: the page is open already, as on the night).
      page: async () => ({ stdout: '', ms: await voter.approve(nextGate()) }),
    };
    await voter.open();
    const times = { stock: [], sdk: [], cli: [], page: [] };
    for (let i = -warmUps; i < CLI_VOTES; i += 1) {
      for (const [side, vote] of Object.entries(sides)) {
        const t = performance.now();
        const { stdout, ms: inside } = await vote();
        // An answer each side's own way: the person's sentence, the Update's result as JSON.
        if (side === 'cli' && !/ approved g\d+/.test(stdout)) throw new Error(`cutover approve answered: ${stdout}`);
        if (side === 'sdk') JSON.parse(stdout);
        if (i >= 0) times[side].push(inside ?? performance.now() - t);
      }
    }
    const ms = Object.fromEntries(Object.entries(times).map(([side, list]) => [side, median(list)]));
    console.log(
      `approval: cutover approve median ${ms.cli.toFixed(0)} ms, the stock client in a Node program ${ms.sdk.toFixed(0)} ms, ` +
        `stock temporal CLI ${ms.stock.toFixed(0)} ms, from the page (tap to recorded) ${ms.page.toFixed(0)} ms (${CLI_VOTES} each)`,
    );
    await handle.terminate('bench done');
    await bare.terminate('bench done');

    console.log(infoLine('approval', 'cli_vs_stock_ratio', ms.cli / ms.stock, 'cutover approve against the Go binary'));
    console.log(infoLine('approval', 'sdk_vs_stock_ratio', ms.sdk / ms.stock, 'a Node program on the stock client against the Go binary'));
    lines.push(targetLine('approval', 'cli_vs_sdk_ratio', ms.cli / ms.sdk, '<=', TARGETS.cli));
    lines.push(targetLine('approval', 'page_vote_vs_cli_ratio', ms.page / ms.cli, '<=', TARGETS.page));
    lines.push(targetLine('approval', 'signed_update_vs_bare_ratio', updateRatio, '<=', TARGETS.update));
    lines.push(targetLine('approval', 'passkey_vs_ed25519_update_ratio', passkeyRatio, '<=', TARGETS.passkey));
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    await bench.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  return finish(lines);
}
