/**
 * Determinism guards: recorded histories of real runs replay against today's workflow code
 * (a non-deterministic change fails here, before it breaks runs in flight), and the workflow
 * bundle holds no Node, Prisma or other side-effecting module.
 *
 * `RECORD_HISTORIES=1 npx vitest run` records the histories anew from the scenarios in
 * `support/record-histories.ts` (only for a deliberate, versioned workflow change).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { HISTORIES, SCENARIOS } from './support/history-scenarios.js';
import { workflowBundle } from './support/workflow-harness.js';

// The SDK's own historyToJSON fails here ("type must be a Type"): npm installs a second
// protobufjs (8.x) under @temporalio/common beside the 7.x that @temporalio/proto uses. The
// proto classes' own object conversion round-trips the same data without that mismatch.
const ROOT = path.resolve(import.meta.dirname, '..');
const HistoryProto = temporal.api.history.v1.History;
const historyFromJSON = (json: unknown) => HistoryProto.fromObject(json as Record<string, unknown>);

describe('determinism', () => {
  it('every recorded history replays against the current workflow code', async () => {
    // Today's recordings, plus those kept from earlier versions of the workflow (histories/
    // earlier/): runs started by an older worker must still finish on a newer one.
    const files = readdirSync(HISTORIES, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));
    expect(files.filter((f) => !f.includes(path.sep)).sort()).toEqual(
      Object.keys(SCENARIOS)
        .map((name) => `${name}.json`)
        .sort(),
    );
    expect(files.some((f) => f.startsWith(`earlier${path.sep}`))).toBe(true);
    const histories = files.map((f) => ({
      workflowId: f,
      history: historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES, f), 'utf8'))),
    }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });

  it('a changed workflow fails the replay (the guard itself works)', async () => {
    // The completed history replayed against a bundle where the run sleeps before starting:
    // a new timer where history has none is exactly the mistake the replay must catch.
    const { bundleWorkflowCode } = await import('@temporalio/worker');
    const changed = await bundleWorkflowCode({
      workflowsPath: path.resolve(import.meta.dirname, 'support/changed-workflow.ts'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES, 'completed.json'), 'utf8')));
    const results: Array<Error | undefined> = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: changed }, [{ workflowId: 'completed', history }])) {
      results.push(result.error);
    }
    expect(results[0]?.name).toMatch(/DeterminismViolationError/);
  });

  /** The project's modules and the packages the SDK's own bundle of the workflow code is made of. */
  async function bundledModules(): Promise<Set<string>> {
    const { code } = await workflowBundle();
    return new Set(
      [...code.matchAll(/__webpack_require__\(\/\*! [^*]+ \*\/ "([^"]+)"\)/g)]
        .map((m) => m[1]!)
        .filter((id) => id.startsWith('./'))
        .map((id) => id.replace(/node_modules\/((?:@[^/]+\/)?[^/]+).*/, 'node_modules/$1')),
    );
  }

  it('the workflow bundle holds only workflow code, the run model, the workflow SDK and the hash it computes', async () => {
    // The SDK's bundler already refuses Node built-ins; this also keeps out modules that would
    // bundle but must never run inside a workflow (Prisma, SQLite, the activity runtime, ...).
    const modules = await bundledModules();
    expect(modules).toContain('./workflows/cutover-run.ts');
    const unexpected = [...modules].filter(
      (id) =>
        !/^\.\/(workflows|run|runbook)\//.test(id) &&
        !/^\.\/notify\/(event|plan|deliveries|run-events)\.ts$/.test(id) &&
        !/^\.\/node_modules\/(@temporalio\/(workflow|common)|nexus-rpc|long|ms|@noble\/hashes)$/.test(id),
    );
    expect(unexpected).toEqual([]);
    expect(modules).not.toContain('./runbook/parse.ts'); // the YAML parser and zod stay out too
    expect(modules).not.toContain('./runbook/schema.ts');
  });

  it('every project file in the bundle is under the lint rule that keeps Node, Prisma and the servers out', async () => {
    // The rule (eslint.config.js) is what stops such an import as it is written; it must reach every file the
    // bundle takes in, so a workflow that starts importing from a new folder fails here until that folder is covered.
    const files = [...(await bundledModules())].filter((id) => !id.includes('node_modules')).map((id) => id.slice(2));
    expect(files).toContain('run/transitions.ts');
    const eslint = new ESLint({ cwd: ROOT });
    const uncovered: string[] = [];
    for (const file of files) {
      const config = (await eslint.calculateConfigForFile(path.join(ROOT, file))) as { rules?: Record<string, unknown> };
      const rule = config.rules?.['no-restricted-imports'] as [unknown, { patterns?: { group: string[] }[] }] | undefined;
      if (rule?.[1]?.patterns?.some((p) => p.group.includes('node:*')) !== true) uncovered.push(file);
    }
    expect(uncovered).toEqual([]);
  });
});
