/**
 * Masking runs over the whole output before any cut: a secret that straddles the 4,000-character output tail, the
 * 200-character detail or an HTTP body's 1,000-character tail leaves no part of itself in what the step reports.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStepActivities } from '../activities/steps.js';
import type { StepRequest } from '../activities/types.js';
import type { Action } from '../runbook/schema.js';
import { MemoryStore } from './support/memory-store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-mask-cut-'));
// 37 characters, as in the measurement: the store's tail began with its last ten, `0123456789`.
const TOKEN = 'tokABCDEFGHIJKLMNOPQRSTUVWX0123456789';
const HEAD = TOKEN.slice(0, 10);
const TAIL = TOKEN.slice(-10);

let server: http.Server;
let base = '';
beforeAll(async () => {
  server = http.createServer((_req, res) => res.writeHead(500).end(`${TOKEN}${'y'.repeat(990)}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function request(action: Action): StepRequest {
  return {
    ...{ runId: 'r-1', stepId: 's', phaseId: 'p', title: 'S', owner: 'dba', kind: action.kind, mode: 'rehearsal' },
    ...{ purpose: 'forward', treatment: 'run', action, checks: [], baseDir: dir, connections: {}, idempotencyKey: 'r-1/s' },
    ...{ attemptOffset: 0, maxAttempts: 1, timeoutMs: 10_000, plannedStartMs: 0, plannedDurationMs: 1000 },
  };
}

async function runWithToken(action: Action) {
  process.env.MASK_CUT_TOKEN = TOKEN;
  try {
    const store = new MemoryStore();
    const outcome = await createStepActivities({ store }).runStep(request(action));
    return { outcome, everything: JSON.stringify([outcome, store.attempts]) };
  } finally {
    delete process.env.MASK_CUT_TOKEN;
  }
}

describe('masking before the cut', () => {
  it('leaves no part of a secret printed just before the 4,000-character output tail', async () => {
    const { outcome, everything } = await runWithToken({
      kind: 'shell',
      command: `printf '%s' "\${env:MASK_CUT_TOKEN}"; head -c 3990 /dev/zero | tr '\\0' x`,
    });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.outputTail).toMatch(/x{3990}$/);
    expect(everything).not.toContain(TAIL);
  });

  it("leaves no part of a secret at the end of the 200-character detail of a failed command's last line", async () => {
    const { outcome, everything } = await runWithToken({
      kind: 'shell',
      command: `printf '%s%s\\n' "$(head -c 190 /dev/zero | tr '\\0' z)" "\${env:MASK_CUT_TOKEN}"; exit 1`,
    });
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/^exit code 1, expected 0: z{190}/);
    expect(everything).not.toContain(HEAD);
  });

  it('leaves no part of a secret an HTTP body holds before its 1,000-character tail', async () => {
    const { outcome, everything } = await runWithToken({
      kind: 'http',
      method: 'GET',
      url: `${base}/x`,
      headers: { authorization: 'Bearer ${env:MASK_CUT_TOKEN}' },
    });
    expect(outcome.error).toBe('HTTP 500, expected 2xx');
    expect(outcome.outputTail).toMatch(/y{990}$/);
    expect(everything).not.toContain(TAIL);
  });
});
