/**
 * The patch ledger (workflows/patches.ts): it lists every patch the run workflow evaluates, and what the open runs of
 * a deployment hold back follows from it (`cutover doctor` prints these lines; test/cli-doctor.test.ts runs them
 * against a real server).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerVerdicts, PATCHES, WORKFLOW_VERSION, type OpenExecution, type PatchEntry } from '../workflows/patches.js';

const WORKFLOWS = path.resolve(import.meta.dirname, '../workflows');

describe('the ledger', () => {
  it('names every patch the run workflow evaluates, and each one it names is evaluated', () => {
    const sources = readdirSync(WORKFLOWS)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(path.join(WORKFLOWS, f), 'utf8'))
      .join('\n')
      // The code, not what its comments say about patches.
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    // Every call goes through the ledger: no id written by hand.
    const calls = [...sources.matchAll(/\b(?:patched|deprecatePatch)\(([^)]*)\)/g)].map((m) => m[1]!);
    expect(calls.filter((arg) => !/^PATCHES\.\w+\.id$/.test(arg))).toEqual([]);
    const used = new Set(calls.map((arg) => arg.split('.')[1]));
    expect([...used].sort()).toEqual(Object.keys(PATCHES).sort());
    const ids = Object.values(PATCHES).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const patch of Object.values(PATCHES) as PatchEntry[]) {
      expect(patch.since, patch.id).toBeLessThanOrEqual(WORKFLOW_VERSION);
      expect(patch.introduced, patch.id).toMatch(/^[0-9a-f]{7}, \d{4}-\d{2}-\d{2}$/);
    }
  });
});

describe('what open runs hold back', () => {
  const run = (workflowId: string, version?: number, extra: Partial<OpenExecution> = {}): OpenExecution => ({
    workflowId,
    type: 'cutoverRun',
    ...(version !== undefined ? { version } : {}),
    ...extra,
  });
  const ledger: Record<string, PatchEntry> = {
    a: { id: 'a', guards: 'A', introduced: '0000000, 2026-11-24', since: 1, stage: 'patched' },
    b: { id: 'b', guards: 'B', introduced: '0000000, 2026-11-24', since: 1, stage: 'patched' },
    c: { id: 'c', guards: 'C', introduced: '0000000, 2026-12-01', since: 3, stage: 'patched' },
    d: { id: 'd', guards: 'D', introduced: '0000000, 2026-11-20', since: 1, stage: 'deprecated', deprecatedIn: 2 },
  };

  it('nothing open: each patch may take its next step, and no retired type is needed', () => {
    expect(ledgerVerdicts([], { where: ' on task queue q', ledger })).toEqual([
      { subject: 'retired types', status: 'ok', detail: 'no open runRunbook execution on task queue q: none here needs its frozen code' },
      {
        subject: 'patches',
        status: 'ok',
        detail:
          'no open execution on task queue q predates the 4 patches in the ledger: each may take its next step (workflows/patches.ts)',
      },
    ]);
  });

  it('each patch waits for the runs older than it; a run without a version is older than all', () => {
    const verdicts = ledgerVerdicts([run('unstamped'), run('v1', 1), run('v2', 2), run('v3', 3)], { ledger });
    expect(verdicts.filter((v) => v.subject === 'patches')).toEqual([
      { subject: 'patches', status: 'warn', detail: 'patches a, b can be deprecated once this execution closes: unstamped' },
      { subject: 'patches', status: 'warn', detail: 'patch c can be deprecated once these 3 executions close: unstamped, v1, v2' },
      // A deprecated patch goes once no run predates the version that deprecated it.
      { subject: 'patches', status: 'warn', detail: 'patch d can be removed once these 2 executions close: unstamped, v1' },
    ]);
  });

  it('names the open runs of a retired type, and counts them out of the patches', () => {
    const verdicts = ledgerVerdicts(
      [{ workflowId: 'old-1', type: 'runRunbook' }, { workflowId: 'old-2', type: 'runRunbook' }, run('now', WORKFLOW_VERSION)],
      { where: ' on task queue q' },
    );
    expect(verdicts[0]).toEqual({
      subject: 'retired types',
      status: 'warn',
      detail: '2 open runRunbook executions on task queue q (a retired type): its frozen code stays until they close: old-1, old-2',
    });
    expect(verdicts[1]).toMatchObject({ subject: 'patches', status: 'ok' });
  });

  it('a long list is cut short, and a memo that could not be read is said so', () => {
    const many = Array.from({ length: 8 }, (_, i) => run(`r${i}`, undefined, i === 0 ? { unreadable: true } : {}));
    const [patches] = ledgerVerdicts(many, { ledger: { a: ledger.a! }, retired: [] });
    expect(patches!.detail).toBe(
      'patch a can be deprecated once these 8 executions close: r0, r1, r2, r3, r4 and 3 more ' +
        '(1 with a memo that could not be decrypted: set CUTOVER_PAYLOAD_KEY as the workers have it)',
    );
  });
});
