/**
 * Secret references (`${env:NAME}`, `${file:path}`): refused when malformed, resolved on the
 * worker right before the action, masked in everything the step reports and records, and never
 * a way to read cutover's own credentials.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandEnvironment } from '../activities/action-context.js';
import { expandEnv } from '../activities/actions.js';
import { resolveSecrets } from '../activities/secrets.js';
import { createStepActivities } from '../activities/steps.js';
import type { StepRequest } from '../activities/types.js';
import { formatProblem } from '../lib/yaml-document/problems.js';
import { parseRunbook } from '../runbook/parse.js';
import { MemoryStore } from './support/memory-store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-secrets-'));
const SECRET = 's3cr3t-Pa$$word';

function request(over: Partial<StepRequest>): StepRequest {
  return {
    runId: 'r-1',
    stepId: 'load',
    phaseId: 'p',
    title: 'Load',
    owner: 'dba',
    kind: 'shell',
    mode: 'rehearsal',
    purpose: 'forward',
    treatment: 'run',
    action: { kind: 'shell', command: 'true' },
    checks: [],
    baseDir: dir,
    connections: {},
    idempotencyKey: 'r-1/load',
    attemptOffset: 0,
    maxAttempts: 1,
    timeoutMs: 10_000,
    plannedStartMs: 0,
    plannedDurationMs: 1000,
    ...over,
  };
}

/** Runs `fn` with `vars` set in the worker's environment. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

describe('validation', () => {
  const runbook = (command: string) => `name: demo
version: 1
lead: lead
roles: { lead: [ana] }
phases:
  - id: p
    kind: migration
    steps:
      - id: s
        title: S
        owner: lead
        action:
          kind: shell
          command: ${JSON.stringify(command)}
`;
  const problemsOf = (text: string) => {
    const result = parseRunbook(text, 'runbook.yaml');
    return result.ok ? [] : result.problems.map(formatProblem);
  };

  it('refuses malformed references, at their line', () => {
    expect(problemsOf(runbook('echo ${env:}'))).toEqual([
      expect.stringMatching(
        /^runbook\.yaml:14:\d+ phases\[0\]\.steps\[0\]\.action\.command: `\$\{env:\}` does not name an environment variable/,
      ),
    ]);
    expect(problemsOf(runbook('cat ${file:}'))[0]).toMatch(/^runbook\.yaml:14:\d+ .*`\$\{file:\}` names no file/);
    expect(problemsOf(runbook('echo ${vault:db/pass}'))[0]).toMatch(/`\$\{vault:db\/pass\}` uses an unknown kind of reference `vault`/);
  });

  it("accepts good references and leaves the shell's own ${VAR:-x} alone", () => {
    expect(problemsOf(runbook('echo ${env:DB_PASS} $(cat ${file:secrets/token}) ${HOME:-/root} ${X:+y}'))).toEqual([]);
  });
});

describe('resolution on the worker', () => {
  it('hands a shell command its reference as a variable, so the value is not in the command text', async () => {
    await withEnv({ DB_PASS: SECRET }, async () => {
      const store = new MemoryStore();
      const { runStep } = createStepActivities({ store });
      // `$$` in the value would be the shell's pid if the value were pasted into the command.
      const outcome = await runStep(
        request({ action: { kind: 'shell', command: 'test "${env:DB_PASS}" = "$EXPECTED"', env: { EXPECTED: '${env:DB_PASS}' } } }),
      );
      expect(outcome.status).toBe('succeeded');
    });
  });

  it('reads ${file:path} relative to the runbook folder, without its last newline', async () => {
    writeFileSync(path.join(dir, 'token.txt'), 'tok-from-file\n');
    const store = new MemoryStore();
    const { runStep } = createStepActivities({ store });
    const outcome = await runStep(request({ action: { kind: 'shell', command: 'test "${file:token.txt}" = tok-from-file' } }));
    expect(outcome.status).toBe('succeeded');
  });

  it('fails the step, naming the reference, when the variable is not set, and runs nothing', async () => {
    await withEnv({ NOT_THERE: undefined }, async () => {
      const store = new MemoryStore();
      const { runStep } = createStepActivities({ store });
      const marker = path.join(dir, 'ran');
      const outcome = await runStep(request({ action: { kind: 'shell', command: `touch ${marker} \${env:NOT_THERE}` } }));
      expect(outcome.status).toBe('failed');
      expect(outcome.error).toMatch(/^\$\{env:NOT_THERE\} is not set in the environment of the worker on .*; nothing ran$/);
      expect(store.attempts[0]).toMatchObject({ status: 'failed', error: outcome.error });
      expect(existsSync(marker)).toBe(false);
    });
  });

  it('resolves a connection path only for the steps that query it', async () => {
    await withEnv({ DATA_DIR: dir, UNSET_DIR: undefined }, async () => {
      const { runStep } = createStepActivities({ store: new MemoryStore() });
      const connections = {
        db: { driver: 'sqlite' as const, path: '${env:DATA_DIR}/refs.db', readonly: false },
        other: { driver: 'sqlite' as const, path: '${env:UNSET_DIR}/x.db', readonly: false },
      };
      const outcome = await runStep(request({ kind: 'sql', connections, action: { kind: 'sql', connection: 'db', query: 'SELECT 1' } }));
      expect(outcome.status, outcome.error).toBe('succeeded');
      expect(existsSync(path.join(dir, 'refs.db'))).toBe(true);
      const other = await runStep(request({ kind: 'sql', connections, action: { kind: 'sql', connection: 'other', query: 'SELECT 1' } }));
      expect(other.error).toMatch(/^\$\{env:UNSET_DIR\} is not set/);
    });
  });

  it('fails the step when a file cannot be read, naming the reference', async () => {
    const { runStep } = createStepActivities({ store: new MemoryStore() });
    const outcome = await runStep(request({ action: { kind: 'shell', command: 'echo ${file:missing/token}' } }));
    expect(outcome.error).toMatch(/^\$\{file:missing\/token\} cannot be read on the worker on .* \(.*ENOENT\)/);
  });

  it("refuses cutover's own secrets, in references and in commands' environment", async () => {
    await withEnv(
      {
        TEMPORAL_API_KEY: 'temporal-key-value',
        CUTOVER_PAYLOAD_KEY: 'k'.repeat(44),
        CUTOVER_DATABASE_URL: 'postgres://u:pw@h/db',
        TEMPORAL_TLS_KEY: '/etc/key.pem',
        CUTOVER_WEB_TOKEN: 'web-token-value-0123456789',
      },
      async () => {
        const { runStep } = createStepActivities({ store: new MemoryStore() });
        const outcome = await runStep(request({ action: { kind: 'shell', command: 'echo ${env:TEMPORAL_API_KEY}' } }));
        expect(outcome.error).toMatch(/^\$\{env:TEMPORAL_API_KEY\} names one of cutover's own secrets/);
        expect(outcome.error).not.toContain('temporal-key-value');
        const env = commandEnvironment();
        for (const name of ['TEMPORAL_API_KEY', 'CUTOVER_PAYLOAD_KEY', 'CUTOVER_DATABASE_URL', 'TEMPORAL_TLS_KEY', 'CUTOVER_WEB_TOKEN'])
          expect(env[name]).toBeUndefined();
        const shown = await runStep(request({ action: { kind: 'shell', command: 'env; exit 1' } }));
        expect(shown.outputTail).not.toMatch(/temporal-key-value|postgres:\/\/u:pw|CUTOVER_PAYLOAD_KEY|web-token-value|CUTOVER_WEB_TOKEN/);
        const web = await runStep(request({ action: { kind: 'shell', command: 'echo ${env:CUTOVER_WEB_TOKEN}' } }));
        expect(web.error).toMatch(/^\$\{env:CUTOVER_WEB_TOKEN\} names one of cutover's own secrets/);
      },
    );
  });

  it("keeps HTTP actions' ${NAME} and ${NAME:-default} expansion", () => {
    expect(expandEnv('http://${HOST:-localhost}:${PORT}/x', { PORT: '8080' })).toBe('http://localhost:8080/x');
    const { action } = resolveSecrets(
      { action: { kind: 'http', method: 'GET', url: 'http://${HOST:-h}/${env:PATH_PART}' }, checks: [], connections: {}, baseDir: dir },
      { PATH_PART: 'abcd' },
    );
    expect(action).toMatchObject({ url: 'http://${HOST:-h}/abcd' });
  });
});

describe('redaction', () => {
  it('masks the value in the output, the error and the record of a step that prints it and fails', async () => {
    await withEnv({ DB_PASS: SECRET }, async () => {
      const store = new MemoryStore();
      const { runStep } = createStepActivities({ store });
      const outcome = await runStep(
        request({
          action: { kind: 'shell', command: 'echo "connecting with ${env:DB_PASS}"; echo "bad password ${env:DB_PASS}" >&2; exit 3' },
        }),
      );
      expect(outcome.status).toBe('failed');
      expect(outcome.error).toBe('exit code 3, expected 0: bad password [secret env:DB_PASS]');
      expect(outcome.outputTail).toContain('connecting with [secret env:DB_PASS]');
      expect(JSON.stringify(outcome)).not.toContain(SECRET);
      expect(JSON.stringify(store.attempts)).not.toContain(SECRET);
    });
  });

  it('masks values in check details, a multi-line file line by line too', async () => {
    writeFileSync(
      path.join(dir, 'key.pem'),
      '-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END KEY-----\n',
    );
    const store = new MemoryStore();
    const { runStep } = createStepActivities({ store });
    const outcome = await runStep(
      request({
        checks: [{ name: 'key line', kind: 'shell', command: 'echo "${file:key.pem}" | sed -n 2p; exit 1', expect: { exit_code: 0 } }],
      }),
    );
    expect(outcome.error).toBe('check "key line" failed: exit code 1, expected 0: [secret file:key.pem]');
    expect(JSON.stringify(store.checks)).not.toContain('MIIBOgIBAAJBAKj34');
  });

  it('leaves values shorter than 4 characters unmasked (masking every "ab" would wreck the output)', () => {
    const { redact } = resolveSecrets(
      { action: { kind: 'shell', command: 'echo ${env:SHORT} ${env:LONG}' }, checks: [], connections: {}, baseDir: dir },
      { SHORT: 'ab', LONG: 'abcd' },
    );
    expect(redact('ab abcd abcde')).toBe('ab [secret env:LONG] [secret env:LONG]e');
  });
});
