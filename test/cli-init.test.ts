/**
 * `cutover init --template NAME DIR`: the starter runbook validates and rehearses as it is (the built CLI, a real
 * Temporal server and `cutover worker`, the reconcile step comparing the CSV samples it wrote), and init never writes
 * over a file.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, killStartedCli, runCli, startCli, startWorkerCli } from './support/cli.js';
import { temporalAddress, temporalNamespace } from './support/temporal.js';

afterEach(killStartedCli);

const fresh = () => mkdtempSync(path.join(tmpdir(), 'cutover-init-'));

describe('cutover init', () => {
  it('writes each template as a runbook that validates and rehearses to completion', async () => {
    const env = cliEnv({
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: temporalNamespace(),
      CUTOVER_TASK_QUEUE: `init-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
    });
    const cwd = fresh();
    await startWorkerCli([], env, cwd);
    for (const template of ['crm', 'erp', 'integration']) {
      const init = runCli(['init', '--template', template, template], env, cwd);
      expect(init.code, init.stderr).toBe(0);
      expect(init.stdout).toContain(`wrote ${path.join(template, 'runbook.yaml')} from the ${template} template`);
      const validate = runCli(['validate', `${template}/runbook.yaml`], env, cwd);
      expect(validate.code, validate.stdout + validate.stderr).toBe(0);
      expect(validate.stdout).toMatch(new RegExp(`valid — ${template}-cutover v0\\.1, 7 phases`));

      const rehearsal = startCli(['rehearse', `${template}/runbook.yaml`, '--auto-approve', '--as', 'lead-person'], env, cwd);
      const code = await rehearsal.exited;
      const output = rehearsal.output();
      expect(code, output).toBe(0);
      expect(output).toMatch(new RegExp(`${template}-cutover-1 COMPLETED: completed in`));
      expect(output).toMatch(/approved go-no-go/);
      expect(output).toMatch(/compared: \d+ matched, 0 differ/);
    }
  }, 300_000);

  it('refuses to write over an existing runbook and leaves it as it was', () => {
    const dir = fresh();
    writeFileSync(path.join(dir, 'runbook.yaml'), 'name: mine\n');
    const result = runCli(['init', '--template', 'crm', dir], cliEnv());
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `cutover: ${path.join(dir, 'runbook.yaml')} already exists; cutover init writes over nothing: pick an empty folder`,
    );
    expect(readFileSync(path.join(dir, 'runbook.yaml'), 'utf8')).toBe('name: mine\n');
    expect(() => readFileSync(path.join(dir, 'data', 'legacy-customers.csv'))).toThrow();
  });

  it('names the templates when asked for one it does not have', () => {
    const result = runCli(['init', '--template', 'sap', fresh()], cliEnv());
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('cutover: there is no template "sap"; pick one of crm, erp, integration');
  });
});
