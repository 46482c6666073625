/**
 * A step's data files (a SQLite connection, a CSV a reconcile step compares) are never /proc, /sys or /dev, nor one of
 * cutover's own credential files: a comparison's mismatch examples and a query's errors quote what they read, so the
 * worker's environment or its TLS key opened as data would reach the record. Real files, the real action code.
 */
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { performAction } from '../activities/actions.js';
import type { ActionContext } from '../activities/action-context.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Action, Connection } from '../runbook/schema.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-data-files-'));
writeFileSync(path.join(dir, 'target.csv'), 'id,v\n1,a\n');
const ctx = (connections: Record<string, Connection>): ActionContext => ({ baseDir: dir, connections, env: {}, timeoutMs: 60_000 });

/** A reconcile step of a real runbook comparing two CSV files, `source` and `target` relative to its folder. */
function reconcileStep(source: string, target: string): { action: Action; connections: Record<string, Connection> } {
  const parsed = parseRunbook(
    `name: data-files
version: 1
lead: lead
roles: { lead: [alice] }
connections:
  legacy: { driver: csv, path: ${source} }
  crm: { driver: csv, path: ${target} }
phases:
  - id: r
    kind: reconciliation
    steps:
      - id: compare
        title: Compare
        owner: lead
        expected: 1m
        action: { kind: reconcile, source: { connection: legacy }, target: { connection: crm }, key: [{ column: id, type: integer }] }
`,
    'data-files.yaml',
  );
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('; '));
  return { action: parsed.runbook.phases[0]!.steps[0]!.action!, connections: parsed.runbook.connections ?? {} };
}

afterEach(() => {
  delete process.env.TEMPORAL_TLS_KEY;
  delete process.env.CUTOVER_PAYLOAD_KEY_FILE;
});

describe('a step that opens a data file', () => {
  it('may not query /proc/self/environ as a SQLite database, even through a link in the runbook folder', async () => {
    symlinkSync('/proc/self/environ', path.join(dir, 'legacy.db'));
    const result = await performAction(
      { kind: 'sql', connection: 'legacy', query: 'select 1' },
      ctx({ legacy: { driver: 'sqlite', path: 'legacy.db', readonly: true } }),
    );
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/^connection legacy: .*legacy\.db is under \/proc, \/sys or \/dev \(\/proc\/\d+\/environ\)/);
  });

  it("may not compare the worker's TLS key or a secret file as CSV", async () => {
    const key = path.join(dir, 'client.key');
    writeFileSync(key, 'id,v\n-----BEGIN PRIVATE KEY-----,x\n');
    process.env.TEMPORAL_TLS_KEY = key;
    const step = reconcileStep('client.key', 'target.csv');
    const result = await performAction(step.action, ctx(step.connections));
    expect(result.ok).toBe(false);
    expect(result.detail).toContain("the source's connection legacy:");
    expect(result.detail).toContain("is one of cutover's own credential files");
    expect(result.detail).not.toContain('PRIVATE KEY');

    const payloadKey = path.join(dir, 'payload.key');
    writeFileSync(payloadKey, 'id,v\n1,secret\n');
    process.env.CUTOVER_PAYLOAD_KEY_FILE = payloadKey;
    const other = reconcileStep('target.csv', 'payload.key');
    const again = await performAction(other.action, ctx(other.connections));
    expect(again.detail).toContain("the target's connection crm:");
    expect(again.detail).toContain("is one of cutover's own credential files");
  });
});
