/**
 * `cutover decisions RUN --verify` as an auditor runs it after Temporal's retention (Temporal no longer has the run),
 * against someone who can write the record store: the built CLI, a real SQLite store, real Ed25519 keys. The store
 * writer swaps a person's key in the recorded runbook and re-signs, or turns a signed reject into an unsigned approve
 * and hashes the chain again; `--runbook FILE` (keys from the auditor's copy), the rule that a live run's person
 * decisions are signed, and a head exported earlier (`--export-head`, `--head FILE`) each catch it.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import Database from 'better-sqlite3';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../common/signatures.js';
import { publicKeyText, signRequest } from '../cli/keys.js';
import { hashRunbook } from '../cli/load-runbook.js';
import { readSettings } from '../cli/settings.js';
import { openRecordStore } from '../prisma/store.js';
import { chainedText } from '../run/decision-log.js';
import { RUN_WORKFLOW_TYPE } from '../workflows/messages.js';
import type { Decision } from '../run/state.js';
import { parseRunbook } from '../runbook/parse.js';
import { cliEnv, runCli } from './support/cli.js';
import { temporalAddress } from './support/temporal.js';
import { runState } from './support/store-fixtures.js';

const alice = generateKeyPairSync('ed25519').privateKey;
const dana = generateKeyPairSync('ed25519').privateKey;
const mallory = generateKeyPairSync('ed25519').privateKey;

const runbookText = (danaKey: KeyObject) => `name: crm-audit
version: "1"
lead: lead
roles: { lead: [alice], business: [dana] }
people:
  alice: { key: "${publicKeyText(alice)}" }
  dana: { key: "${publicKeyText(danaKey)}" }
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [lead, business] } }
`;
const TEXT = runbookText(dana);
const parsed = parseRunbook(TEXT, 'runbook.yaml');
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const VERSION = hashRunbook(parsed.runbook);

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(path.join(dir, 'runbook.yaml'), TEXT);

/** A signed vote as the run logs it. */
function vote(runId: string, key: KeyObject, by: string, role: string, kind: 'approve' | 'reject', reason: string): Decision {
  const request = { gateId: 'go', by, reason };
  return {
    kind,
    by,
    role,
    target: 'go',
    reason,
    at: new Date().toISOString(),
    automatic: false,
    signature: signRequest(key, runId, kind, request),
    request,
  };
}

/** The entries hashed into a chain, as the run hashes them. */
function chain(entries: Decision[]): Decision[] {
  let previous = '';
  return entries.map((entry, seq) => {
    const hash = sha256(chainedText(previous, seq, { ...entry, hash: undefined }));
    previous = hash;
    return { ...entry, hash };
  });
}

/**
 * A live run that ended backed out on dana's signed no-go, recorded in a fresh store; its id and log. `inFlight`: the
 * same votes, and the run not ended yet.
 */
async function recordLiveRun(env: Record<string, string>, { inFlight = false } = {}): Promise<{ runId: string; log: Decision[] }> {
  const store = await openRecordStore(readSettings(env));
  try {
    const { runId } = await store.reserveRun({
      runbookName: 'crm-audit',
      mode: 'live',
      runbookVersion: '1',
      versionHash: VERSION,
      runbookSource: TEXT,
      startedBy: 'alice',
    });
    const log = chain([
      vote(runId, alice, 'alice', 'lead', 'approve', 'counts match'),
      vote(runId, dana, 'dana', 'business', 'reject', 'order totals look off'),
    ]);
    for (const [seq, entry] of log.entries()) await store.recordDecision(runId, seq, entry);
    if (inFlight) return { runId, log };
    await store.finishRun(runId, {
      status: 'backed_out',
      outcome: 'no-go at go',
      endedAt: new Date().toISOString(),
      state: runState(runId, { mode: 'live', status: 'backed_out', versionHash: VERSION, decisions: log }),
    });
    return { runId, log };
  } finally {
    await store.close();
  }
}

/** What someone who can write the store does: replace the log with `entries`, hashed again, and maybe the runbook. */
async function rewrite(
  env: Record<string, string>,
  runId: string,
  entries: Decision[],
  changes: { runbookSource?: string; mode?: string } = {},
) {
  const store = await openRecordStore(readSettings(env));
  try {
    for (const [seq, entry] of chain(entries).entries()) await store.recordDecision(runId, seq, entry);
  } finally {
    await store.close();
  }
  const db = new Database(path.join(env.CUTOVER_HOME!, 'cutover.db'));
  if (changes.runbookSource) db.prepare('UPDATE "Run" SET "runbookSource" = ? WHERE id = ?').run(changes.runbookSource, runId);
  if (changes.mode) db.prepare('UPDATE "Run" SET mode = ? WHERE id = ?').run(changes.mode, runId);
  db.close();
}

function verify(env: Record<string, string>, runId: string, ...args: string[]) {
  return runCli(['decisions', runId, '--verify', ...args], env, dir);
}

let env: Record<string, string>;
beforeEach(() => {
  // A data folder of its own, no embedded server running in it and no TEMPORAL_ADDRESS: Temporal has nothing of
  // these runs, as after its retention.
  env = cliEnv();
});

describe('decisions --verify against a store writer, Temporal gone', () => {
  it('holds for the log as the run wrote it, with the keys of the auditor’s runbook file', async () => {
    const { runId } = await recordLiveRun(env);
    const result = verify(env, runId, '--runbook', 'runbook.yaml');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\nverified: 2 entries, chain intact \(head [0-9a-f]{16}\), every signature matches its key\n/);
    expect(result.stdout).not.toContain('give --runbook FILE');
    // Why it was not compared with the run's own copy: here, there was nobody to ask.
    expect(result.stdout).toContain(
      '\nnot compared with the run in Temporal (no Temporal server to ask: the embedded one is not running here, and TEMPORAL_ADDRESS is not set) nor with an exported head (--head)',
    );
  });

  it('against a Temporal that answers but no longer has the run, says so (not "unreachable")', async () => {
    const reachable = { ...env, TEMPORAL_ADDRESS: temporalAddress() };
    const { runId } = await recordLiveRun(reachable);
    const result = verify(reachable, runId, '--runbook', 'runbook.yaml');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `\nnot compared with the run in Temporal (Temporal has no run ${runId}: past the namespace's retention, or deleted) nor with an exported head (--head)`,
    );
  });

  it('a run in flight whose workers are all down: says no worker answered, not that Temporal did not', async () => {
    const reachable = { ...env, TEMPORAL_ADDRESS: temporalAddress() };
    const { runId } = await recordLiveRun(reachable, { inFlight: true });
    // The run is in flight in Temporal, on a task queue no worker polls: Temporal answers, the query waits for a worker.
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    const handle = await client.workflow.start(RUN_WORKFLOW_TYPE, { taskQueue: `nobody-${runId}`, workflowId: runId, args: [] });
    try {
      const result = verify(reachable, runId, '--runbook', 'runbook.yaml');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(
        "\nnot compared with the run in Temporal (the run is in flight, and no worker answered Temporal's query of its log within 10 s: is a `cutover worker` running for its task queue?) nor with an exported head (--head)",
      );
    } finally {
      await handle.terminate('test over');
      await client.connection.close();
    }
  });

  it('a key swapped in the store and the entry re-signed: passes with the store’s keys, fails with the runbook file’s', async () => {
    const { runId, log } = await recordLiveRun(env);
    // dana's no-go becomes a go signed by mallory's key, which the store's runbook now lists for dana.
    const forged = [log[0]!, vote(runId, mallory, 'dana', 'business', 'approve', 'ok')];
    await rewrite(env, runId, forged, { runbookSource: runbookText(mallory) });

    // What the check said before it took keys from elsewhere: the store vouches for itself.
    const trusting = verify(env, runId);
    expect(trusting.code, trusting.stdout).toBe(0);
    expect(trusting.stdout).toContain('keys from the runbook the record store holds: give --runbook FILE');

    const audited = verify(env, runId, '--runbook', 'runbook.yaml');
    expect(audited.code, audited.stdout).toBe(9);
    expect(audited.stdout).toContain(
      '\nNOT verified: entry 1 (approve by dana on go) is signed with a key the runbook file runbook.yaml does not list for dana\n',
    );
    expect(JSON.parse(verify(env, runId, '--runbook', 'runbook.yaml', '--json').stdout)).toMatchObject({
      verified: false,
      keysFrom: 'runbook file',
      comparedWithTemporal: false,
      problems: ['entry 1 (approve by dana on go) is signed with a key the runbook file runbook.yaml does not list for dana'],
    });
  });

  it('a signed reject turned into an unsigned approve, chain hashed again: a live run’s person decisions must be signed', async () => {
    const { runId, log } = await recordLiveRun(env);
    const first = log[0]!;
    const unsigned: Decision = {
      kind: 'approve',
      by: 'dana',
      role: 'business',
      target: 'go',
      at: new Date().toISOString(),
      automatic: false,
    };
    await rewrite(env, runId, [first, unsigned]);
    const result = verify(env, runId);
    expect(result.code, result.stdout).toBe(9);
    expect(result.stdout).toContain(
      '\nNOT verified: entry 1 (approve by dana on go) is not signed, and a live run takes only signed requests: it was written into the record store, not decided by the run\n',
    );
    // Nor may a store writer pass it off as `--auto-approve`'s.
    await rewrite(env, runId, [first, { ...unsigned, automatic: true }]);
    expect(verify(env, runId).stdout).toContain(
      'NOT verified: entry 1 (approve by dana on go) is marked automatic, and a live run takes no automatic request\n',
    );
  });

  it('a runbook file of another version is named, not used', async () => {
    const { runId } = await recordLiveRun(env);
    writeFileSync(path.join(dir, 'other.yaml'), TEXT.replace('version: "1"', 'version: "2"'));
    const result = verify(env, runId, '--runbook', 'other.yaml');
    expect(result.code).toBe(9);
    expect(result.stdout).toContain(
      `\nNOT verified: the runbook file other.yaml is not the version ${runId} ran (${VERSION}): give the runbook file the run ran\n`,
    );
  });
});

describe('decisions --export-head, and --verify --head', () => {
  it('exports the head (run, version, mode, count, every hash, time) to a file of its own', async () => {
    const { runId } = await recordLiveRun(env);
    const exported = runCli(['decisions', runId, '--export-head', '--out', 'head.json'], env, dir);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toBe('');
    expect(exported.stderr).toContain(`${runId}: 2 entries, head `);
    const head = JSON.parse(readFileSync(path.join(dir, 'head.json'), 'utf8'));
    expect(head).toEqual({
      v: 1,
      run: runId,
      mode: 'live',
      versionHash: VERSION,
      entries: 2,
      head: head.hashes[1],
      hashes: [expect.stringMatching(/^[0-9a-f]{64}$/), expect.stringMatching(/^[0-9a-f]{64}$/)],
      exportedAt: expect.any(String),
    });
    expect(statSync(path.join(dir, 'head.json')).isFile()).toBe(true);
    const held = verify(env, runId, '--head', 'head.json', '--runbook', 'runbook.yaml');
    expect(held.code, held.stdout).toBe(0);
    expect(held.stdout).toContain(`\nand its first 2 entries are the ones exported at ${head.exportedAt}\n`);
  });

  it('shows the last entry removed after the export, which the chain alone cannot', async () => {
    const { runId } = await recordLiveRun(env);
    expect(runCli(['decisions', runId, '--export-head', '--out', `${runId}.json`], env, dir).code).toBe(0);
    const db = new Database(path.join(env.CUTOVER_HOME!, 'cutover.db'));
    db.prepare('DELETE FROM "Decision" WHERE "runId" = ? AND seq = 1').run(runId);
    db.close();
    expect(verify(env, runId, '--runbook', 'runbook.yaml').code).toBe(0); // what is left still holds
    const result = verify(env, runId, '--runbook', 'runbook.yaml', '--head', `${runId}.json`);
    expect(result.code).toBe(9);
    expect(result.stdout).toMatch(/\nNOT verified: the head exported at \S+ has 2 entries and the record store 1: entry 1 is missing\n/);
  });

  it('shows an entry rewritten after the export, even with the store’s keys swapped and the run made a rehearsal', async () => {
    const { runId, log } = await recordLiveRun(env);
    expect(runCli(['decisions', runId, '--export-head', '--out', `${runId}.json`], env, dir).code).toBe(0);
    const forged = [log[0]!, vote(runId, mallory, 'dana', 'business', 'approve', 'ok')];
    await rewrite(env, runId, forged, { runbookSource: runbookText(mallory), mode: 'rehearsal' });
    expect(verify(env, runId).code).toBe(0); // the store vouches for itself
    const result = verify(env, runId, '--head', `${runId}.json`, '--json');
    expect(result.code).toBe(9);
    expect(JSON.parse(result.stdout).problems).toEqual([
      expect.stringMatching(
        /^the record store says \S+ was a rehearsal run, but the head exported at \S+ says live: the store's run was changed$/,
      ),
      expect.stringMatching(
        /^entry 1 \(approve by dana on go\) is not the entry the head exported at \S+ has there: the log was rewritten from there on$/,
      ),
    ]);
  });

  it('refuses a file that is not a head, naming the field, exit 2', async () => {
    const { runId } = await recordLiveRun(env);
    writeFileSync(
      path.join(dir, 'bad-head.json'),
      JSON.stringify({ v: 1, run: runId, mode: 'live', versionHash: VERSION, entries: 2, hashes: ['x'] }),
    );
    const result = verify(env, runId, '--head', 'bad-head.json');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'cutover: head file bad-head.json: `hashes` is not one SHA-256 (hex) per entry; give the file `cutover decisions RUN --export-head` wrote\n',
    );
  });
});
