/**
 * `cutover keys` and signing as people use them: a private key only its owner can read, a
 * passphrase from the environment, clear refusals; and a live run approved through the real CLI,
 * which signs with the person's key, while an unsigned approval is refused.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunState } from '../run/state.js';
import { cliEnv, eventually, killStartedCli, runCli, startCli, startWorkerCli } from './support/cli.js';
import { temporalAddress } from './support/temporal.js';
import { recordRun, timingRunbook } from './support/timing-data.js';
import { migratedStoreAt } from './support/store-template.js';
import { openRecordStore } from '../prisma/store.js';
import { publicKeyText } from '../cli/keys.js';

afterEach(killStartedCli);

const keyEnv = (extra: Record<string, string | undefined> = {}) =>
  cliEnv({ CUTOVER_KEYS_DIR: mkdtempSync(path.join(tmpdir(), 'cutover-keys-')), ...extra });

describe('cutover keys', () => {
  it('init writes a private key only its owner can read; show prints the public key to hand over', () => {
    const env = keyEnv();
    const init = runCli(['keys', 'init'], env);
    expect(init.code, init.stderr).toBe(0);
    const file = path.join(env.CUTOVER_KEYS_DIR!, 'signing-key.pem');
    expect(init.stdout).toContain(`signing key written to ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const publicKey = /public key .*: (ed25519:\S+)/.exec(init.stdout)![1]!;
    expect(publicKey).toMatch(/^ed25519:[A-Za-z0-9+/]{43}=$/);
    const show = runCli(['keys', 'show', '--json'], env);
    expect(JSON.parse(show.stdout)).toMatchObject({
      file,
      publicKey,
      fingerprint: expect.stringMatching(/^([0-9a-f]{2}:){7}[0-9a-f]{2}$/) as string,
    });
    expect(runCli(['keys', 'show'], env).stdout.split('\n')[0]).toBe(publicKey);

    const again = runCli(['keys', 'init'], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`cutover: a signing key already exists in ${file}`);
    const forced = runCli(['keys', 'init', '--force'], env);
    expect(forced.code).toBe(0);
    expect(runCli(['keys', 'show'], env).stdout.split('\n')[0]).not.toBe(publicKey);

    chmodSync(file, 0o644);
    const open = runCli(['keys', 'show'], env);
    expect(open.code).toBe(2);
    expect(open.stderr).toBe(`cutover: ${file} can be read by others (mode 644); a signing key must be private: chmod 600 it\n`);
  });

  it('encrypts the key with a passphrase from the environment, and needs it to sign', () => {
    const env = keyEnv({ MY_PASSPHRASE: 'correct horse battery staple' });
    expect(runCli(['keys', 'init', '--passphrase-env', 'UNSET_VARIABLE'], env).stderr).toBe(
      'cutover: --passphrase-env names UNSET_VARIABLE, which is not set or empty; export it first\n',
    );
    const init = runCli(['keys', 'init', '--passphrase-env', 'MY_PASSPHRASE'], env);
    expect(init.code, init.stderr).toBe(0);
    const file = path.join(env.CUTOVER_KEYS_DIR!, 'signing-key.pem');
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    // Its key derived by scrypt (N=2^14 r=8 p=5), not by OpenSSL's default PBKDF2 at 2,048 iterations; as OpenSSL sees it.
    const parsed = execFileSync('openssl', ['asn1parse', '-in', file], { encoding: 'utf8' });
    expect(parsed).toMatch(/OBJECT +:scrypt\n.*\n.*OCTET STRING.*\n.*INTEGER +:4000\n.*INTEGER +:08\n.*INTEGER +:05\n/);
    expect(parsed).not.toContain('PBKDF2');
    execFileSync('openssl', ['pkey', '-in', file, '-passin', 'env:MY_PASSPHRASE', '-noout'], { env });
    const publicKey = /public key .*: (ed25519:\S+)/.exec(init.stdout)![1]!;
    // Showing the public key needs no passphrase (it is written beside the key); signing does.
    expect(runCli(['keys', 'show'], env).stdout.split('\n')[0]).toBe(publicKey);
    expect(readFileSync(path.join(env.CUTOVER_KEYS_DIR!, 'signing-key.pub'), 'utf8')).toBe(`${publicKey}\n`);
    const unlocked = runCli(['approve', 'no-such-run-1', 'go', '--as', 'alice'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(unlocked.code).toBe(2);
    expect(unlocked.stderr).toBe(`cutover: ${file} is encrypted; set CUTOVER_KEY_PASSPHRASE to its passphrase\n`);
    expect(runCli(['keys', 'show'], { ...env, CUTOVER_KEY_PASSPHRASE: 'wrong' }).stderr).toBe(
      `cutover: ${file} could not be decrypted with CUTOVER_KEY_PASSPHRASE: wrong passphrase\n`,
    );
    const show = runCli(['keys', 'show'], { ...env, CUTOVER_KEY_PASSPHRASE: 'correct horse battery staple' });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toBe(`${publicKey}\n${show.stdout.split('\n')[1]}\n`);
  });

  it('still reads a key encrypted the older way (OpenSSL PKCS#8), with its passphrase', () => {
    const env = keyEnv();
    const file = path.join(env.CUTOVER_KEYS_DIR!, 'signing-key.pem');
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'old one' }), { mode: 0o600 });
    const show = runCli(['keys', 'show'], { ...env, CUTOVER_KEY_PASSPHRASE: 'old one' });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout.split('\n')[0]).toBe(publicKeyText(privateKey));
    expect(runCli(['keys', 'show'], { ...env, CUTOVER_KEY_PASSPHRASE: 'wrong' }).stderr).toBe(
      `cutover: ${file} could not be decrypted with CUTOVER_KEY_PASSPHRASE: wrong passphrase\n`,
    );
  });

  it('two `keys init` at the same moment: one key is made, the other is told it exists', async () => {
    const env = keyEnv();
    const both = [startCli(['keys', 'init'], env), startCli(['keys', 'init'], env)];
    const codes = await Promise.all(both.map((c) => c.exited));
    expect([...codes].sort()).toEqual([0, 2]);
    const winner = both[codes.indexOf(0)]!;
    const publicKey = /public key .*: (ed25519:\S+)/.exec(winner.output())![1]!;
    expect(runCli(['keys', 'show'], env).stdout.split('\n')[0]).toBe(publicKey);
    expect(both.find((c) => c !== winner)!.output()).toMatch(/^cutover: a signing key already exists in /);
  });
});

describe('a live run approved from the CLI', () => {
  it('takes the approval cutover signs with the person key, and refuses an unsigned one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-signed-'));
    const name = `signed-${Date.now().toString(36)}`;
    const cluster = {
      TEMPORAL_ADDRESS: temporalAddress(),
      CUTOVER_TASK_QUEUE: `signed-${name}`,
      CUTOVER_HOME: mkdtempSync(path.join(tmpdir(), 'cutover-home-')),
    };
    migratedStoreAt(path.join(cluster.CUTOVER_HOME, 'cutover.db'));
    const alice = keyEnv(cluster);
    const bob = keyEnv(cluster);
    expect(runCli(['keys', 'init'], alice).code).toBe(0);
    const key = (JSON.parse(runCli(['keys', 'show', '--json'], alice).stdout) as { publicKey: string }).publicKey;
    const text = `name: ${name}
version: 1
lead: lead
roles: { lead: [alice], business: [bob] }
people:
  alice: { key: "${key}" }
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead] } }
`;
    writeFileSync(path.join(dir, 'runbook.yaml'), text);
    // A live run needs rehearsal evidence: a recent completed rehearsal of this version and a rehearsed back-out,
    // recorded here as those rehearsals would have recorded them (runs 1 and 2; the live run is 3).
    const store = await openRecordStore({ databaseUrl: `file:${path.join(cluster.CUTOVER_HOME, 'cutover.db')}` });
    try {
      const runbook = timingRunbook(text);
      await recordRun(store, { runbook, startMs: Date.now() - 2 * 86_400_000, durations: { go: 60_000 } });
      await recordRun(store, {
        runbook,
        startMs: Date.now() - 86_400_000,
        durations: { go: 60_000 },
        backout: { reason: 'rehearsing back-out', undo: {} },
      });
    } finally {
      await store.close();
    }
    await startWorkerCli([], alice, dir, 'the worker');
    const lead = startCli(['run', 'runbook.yaml', '--live', '--confirm', '--as', 'alice'], alice, dir);
    await eventually(
      () => lead.output(),
      (o) => o.includes('gate open'),
      60_000,
      'the gate to open',
    );
    const runId = `${name}-3`;

    // What alice looks at before voting: the gate, and the evidence with the digest her vote will name.
    const looked = await eventually(
      () => runCli(['gate', runId, 'go'], alice, dir),
      (r) => r.stdout.includes('evidence '),
      30_000,
      'the gate evidence',
    );
    expect(looked.stdout).toMatch(
      new RegExp(`^gate go of ${runId}: OPEN since \\S+\nneeds: lead\nevidence [0-9a-f]{12} \\(assembled \\S+\\): 0 checks passed; `),
    );
    const digest = /--evidence ([0-9a-f]{64})/.exec(looked.stdout)![1]!;
    expect(JSON.parse(runCli(['gate', runId, 'go', '--json'], alice, dir).stdout)).toMatchObject({
      gate: 'go',
      status: 'open',
      evidence: { digest },
    });
    const noGate = runCli(['gate', runId, 'nope'], alice, dir);
    expect(noGate.code).toBe(2);
    expect(noGate.stderr).toBe(`cutover: run ${runId} has no gate nope; its gates are go\n`);

    // bob has no key: the request goes unsigned and the live run refuses it, saying what to do.
    const unsigned = runCli(['approve', runId, 'go', '--as', 'alice'], bob, dir);
    expect(unsigned.code).toBe(7);
    expect(unsigned.stderr).toMatch(/^cutover: refused: a live run takes only signed requests, and this one is not signed/);

    // A vote needs Temporal, not the record store: alice's terminal has no store within reach, and her vote goes
    // through (the run's worker writes the decision to its store).
    const noStore = { ...alice, CUTOVER_DATABASE_URL: 'postgresql://cutover@127.0.0.1:1/nowhere' };
    const signed = runCli(['approve', runId, 'go', '--as', 'alice', '--reason', 'counts match'], noStore, dir);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toBe(`alice approved go: the gate is approved, ${runId} goes on\n`);
    expect(await lead.exited).toBe(0);
    const status = JSON.parse(runCli(['status', runId, '--json'], alice, dir).stdout) as { state: RunState };
    expect(status.state.decisions).toMatchObject([
      { kind: 'approve', by: 'alice', reason: 'counts match', evidence: digest, signature: { key } },
    ]);

    // The auditor's check, with the keys of their own copy of the runbook: the chain holds and the signature matches.
    const verified = runCli(['decisions', runId, '--verify', '--runbook', 'runbook.yaml'], alice, dir);
    expect(verified.code, verified.stderr).toBe(0);
    // Beside the person, the Temporal client that sent the request (the approving process, pid@host), from history.
    expect(verified.stdout).toMatch(
      new RegExp(
        `^ {2}0 {2}\\S+ {2}alice \\(lead\\) approve go: "counts match" \\[signed ([0-9a-f]{2}:){7}[0-9a-f]{2}\\] from ${signed.pid}@\\S+\n`,
      ),
    );
    expect(verified.stdout).toMatch(
      /verified: 1 entries, chain intact \(head [0-9a-f]{16}\), every signature matches its key, and it is the run's own log in Temporal\n$/,
    );
    // The sender is also in the record store, copied from history as the run ended: it shows with Temporal gone.
    const offline = runCli(['decisions', runId, '--json'], { ...alice, TEMPORAL_ADDRESS: '127.0.0.1:1' }, dir);
    expect(offline.code, offline.stderr).toBe(0);
    expect((JSON.parse(offline.stdout) as { decisions: { sentFrom?: string }[] }).decisions[0]!.sentFrom).toMatch(
      new RegExp(`^${signed.pid}@\\S+$`),
    );
    // Someone with write access to the database changes the reason afterwards.
    const db = new Database(path.join(cluster.CUTOVER_HOME, 'cutover.db'));
    db.prepare(`UPDATE "Decision" SET reason = 'looked fine' WHERE "runId" = ?`).run(runId);
    db.close();
    const tampered = runCli(['decisions', runId, '--verify', '--json'], alice, dir);
    expect(tampered.code).toBe(9);
    expect(JSON.parse(tampered.stdout)).toMatchObject({
      verified: false,
      problems: [
        'entry 0 (approve by alice on go) does not match its hash: it, or an entry before it, was changed, removed or reordered',
        // Hashing the chain again would not hide it: alice signed another reason.
        'entry 0 (approve by alice on go) shows the reason "looked fine": its signature does not cover that',
      ],
    });
    // Removing the last entries leaves a chain that holds; the run's own copy in Temporal shows what is missing.
    const db2 = new Database(path.join(cluster.CUTOVER_HOME, 'cutover.db'));
    db2.prepare(`DELETE FROM "Decision" WHERE "runId" = ?`).run(runId);
    db2.close();
    const removed = runCli(['decisions', runId, '--verify', '--json'], alice, dir);
    expect(removed.code).toBe(9);
    expect(JSON.parse(removed.stdout)).toMatchObject({
      verified: false,
      comparedWithTemporal: true,
      problems: ['the run in Temporal has 1 entries and the record store 0: entry 0 is missing from the store'],
    });
  });
});
