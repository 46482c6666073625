/**
 * A runbook's commands start with an environment built for them (an allow-list), never the worker's: none of
 * cutover's own secrets, none of the worker's other variables unless it lists them in CUTOVER_ACTION_ENV. With
 * CUTOVER_ACTION_USER they run as that user and cannot read the worker's /proc/PID/environ.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runShellCommand } from '../activities/actions.js';
import { ensureActionUser } from './support/action-user.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-action-env-'));
chmodSync(dir, 0o755);
const ctx = { baseDir: dir, connections: {}, env: { CUTOVER_STEP_ID: 's' }, timeoutMs: 10_000 };
const OWN = {
  CUTOVER_DATABASE_URL: 'postgresql://cutover:db-password-0123@db/cutover',
  CUTOVER_PAYLOAD_KEY: 'payload-key-0123456789',
  CUTOVER_KEY_PASSPHRASE: 'passphrase-0123456789',
  CUTOVER_KEY_PASSPHRASE_FILE: '/etc/cutover/passphrase',
  CUTOVER_WEB_TOKEN: 'web-token-0123456789',
  TEMPORAL_API_KEY: 'temporal-key-0123456789',
};

async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (entries: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(entries))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  };
  set(vars);
  try {
    return await fn();
  } finally {
    set(before);
  }
}

describe("a command's environment", () => {
  it("holds the base variables, the run's and the listed ones: none of cutover's secrets, nothing unlisted", async () => {
    await withEnv(
      { ...OWN, WORKER_ONLY: 'worker-only-value', LISTED_ONE: 'listed-value', CUTOVER_ACTION_ENV: 'LISTED_ONE:CUTOVER_PAYLOAD_KEY' },
      async () => {
        const result = await runShellCommand({ command: 'env', env: { OWN_VAR: 'own' } }, ctx);
        expect(result.ok, result.detail).toBe(true);
        const names = new Set((result.outputTail ?? '').split('\n').map((line) => line.split('=')[0]));
        for (const name of ['PATH', 'HOME', 'CUTOVER_STEP_ID', 'OWN_VAR', 'LISTED_ONE']) expect(names, name).toContain(name);
        for (const name of [...Object.keys(OWN), 'WORKER_ONLY', 'CUTOVER_ACTION_ENV']) expect(names, name).not.toContain(name);
        for (const value of Object.values(OWN)) expect(result.outputTail).not.toContain(value);
      },
    );
  });
});

describe('CUTOVER_ACTION_USER', () => {
  // Switching users needs root; the sandbox and CI run the tests as root, so this is asserted there (and the
  // refusal a non-root worker gives is asserted otherwise).
  const root = process.getuid?.() === 0;

  it('runs the command as that user, who cannot read the worker environment in /proc/$PPID/environ (as root; else refused)', async () => {
    if (!root) {
      // Not root: the one assertion possible is the refusal, before anything runs.
      await withEnv({ CUTOVER_ACTION_USER: 'nobody' }, async () => {
        const result = await runShellCommand({ command: 'echo ran' }, ctx);
        expect(result).toMatchObject({
          ok: false,
          detail: expect.stringMatching(/^CUTOVER_ACTION_USER=nobody needs a worker running as root/),
        });
      });
      return;
    }
    ensureActionUser();
    await withEnv({ CUTOVER_ACTION_USER: 'cutover-action' }, async () => {
      const result = await runShellCommand({ command: 'id -un; cat /proc/$PPID/environ 2>&1; echo "cat: $?"' }, ctx);
      expect(result.ok, result.detail).toBe(true);
      expect(result.outputTail).toMatch(/^cutover-action\n.*Permission denied\ncat: 1\n$/s);
    });
  });

  it('names a user that does not exist', async () => {
    await withEnv({ CUTOVER_ACTION_USER: 'no-such-user-here' }, async () => {
      const result = await runShellCommand({ command: 'echo ran' }, ctx);
      expect(result.ok).toBe(false);
      expect(result.detail).toMatch(
        root ? /^CUTOVER_ACTION_USER=no-such-user-here is not a user on this machine/ : /needs a worker running as root/,
      );
      expect(result.outputTail).toBeUndefined();
    });
  });
});
