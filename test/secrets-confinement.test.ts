/**
 * `${file:...}` reads only the runbook's folder and the secret folders the worker declares (`CUTOVER_SECRET_DIRS`), by
 * real path: `../`, a symbolic link or an absolute path lead nowhere else, and `/proc`, `/sys`, `/dev` never. A refusal
 * names the reference, never what the file holds.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStepActivities } from '../activities/steps.js';
import type { StepRequest } from '../activities/types.js';
import { MemoryStore } from './support/memory-store.js';

const root = mkdtempSync(path.join(tmpdir(), 'cutover-confine-'));
const runbookDir = path.join(root, 'runbook');
const outside = path.join(root, 'elsewhere');
const declared = path.join(root, 'vault');
mkdirSync(runbookDir);
mkdirSync(outside);
mkdirSync(declared);
const OUTSIDE_VALUE = 'outside-value-0123456789';
writeFileSync(path.join(outside, 'token'), `${OUTSIDE_VALUE}\n`);
writeFileSync(path.join(declared, 'token'), 'vault-value-0123456789\n');
writeFileSync(path.join(runbookDir, 'own'), 'own-value-0123456789\n');
symlinkSync(path.join(outside, 'token'), path.join(runbookDir, 'link-out'));
symlinkSync('/proc/self/environ', path.join(runbookDir, 'link-environ'));

function request(command: string): StepRequest {
  return {
    runId: 'r-1',
    stepId: 'read',
    phaseId: 'p',
    title: 'Read',
    owner: 'dba',
    kind: 'shell',
    mode: 'rehearsal',
    purpose: 'forward',
    treatment: 'run',
    action: { kind: 'shell', command },
    checks: [],
    baseDir: runbookDir,
    connections: {},
    idempotencyKey: 'r-1/read',
    attemptOffset: 0,
    maxAttempts: 1,
    timeoutMs: 10_000,
    plannedStartMs: 0,
    plannedDurationMs: 1000,
  };
}

/** Runs a shell step that prints the reference; returns its outcome and what the store recorded. */
async function run(reference: string, env: Record<string, string> = {}) {
  const saved = process.env.CUTOVER_SECRET_DIRS;
  if (env.CUTOVER_SECRET_DIRS !== undefined) process.env.CUTOVER_SECRET_DIRS = env.CUTOVER_SECRET_DIRS;
  else delete process.env.CUTOVER_SECRET_DIRS;
  try {
    const store = new MemoryStore();
    const outcome = await createStepActivities({ store }).runStep(request(`printf '%s' "${reference}"`));
    return { outcome, recorded: JSON.stringify(store.attempts) };
  } finally {
    if (saved === undefined) delete process.env.CUTOVER_SECRET_DIRS;
    else process.env.CUTOVER_SECRET_DIRS = saved;
  }
}

describe('${file:} confinement', () => {
  it("reads the runbook's folder and a declared secret folder", async () => {
    expect((await run('${file:own}')).outcome.status).toBe('succeeded');
    const vault = await run(`\${file:${declared}/token}`, { CUTOVER_SECRET_DIRS: `/nonexistent:${declared}` });
    expect(vault.outcome.status, vault.outcome.error).toBe('succeeded');
    expect(vault.outcome.outputTail).toBe(`[secret file:${declared}/token]`);
  });

  it.each([
    ['/proc/self/environ', '${file:/proc/self/environ}'],
    ['../ to /proc', '${file:../../../../../../../proc/self/environ}'],
    ['a link to /proc', '${file:link-environ}'],
    ['../ out of the folder', '${file:../elsewhere/token}'],
    ['an absolute path out', `\${file:${outside}/token}`],
    ['a link out of the folder', '${file:link-out}'],
  ])('refuses %s, naming the reference and nothing it holds', async (_, reference) => {
    const { outcome, recorded } = await run(reference, { CUTOVER_SECRET_DIRS: declared });
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain(`${reference} is outside the folders a runbook may read`);
    expect(outcome.error).toMatch(/CUTOVER_SECRET_DIRS, never \/proc, \/sys or \/dev; nothing ran$/);
    for (const text of [outcome.error ?? '', outcome.outputTail ?? '', recorded]) {
      expect(text).not.toContain(OUTSIDE_VALUE);
      expect(text).not.toMatch(/PATH=|HOME=/);
    }
  });

  it('refuses /proc even when a worker declares it', async () => {
    const { outcome } = await run('${file:/proc/self/environ}', { CUTOVER_SECRET_DIRS: '/proc:/' });
    expect(outcome.error).toContain('${file:/proc/self/environ} is outside the folders a runbook may read');
  });

  it('fails a file holding NUL bytes without printing what it holds', async () => {
    writeFileSync(
      path.join(runbookDir, 'binary'),
      Buffer.concat([Buffer.from('nul-secret-0123456789'), Buffer.from([0]), Buffer.from('tail-part')]),
    );
    const { outcome, recorded } = await run('${file:binary}');
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/^\$\{file:binary\} holds NUL bytes .*: a secret file holds text; nothing ran$/);
    for (const text of [outcome.error ?? '', recorded]) expect(text).not.toMatch(/nul-secret|tail-part/);
  });
});
