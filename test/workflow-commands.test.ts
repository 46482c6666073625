/**
 * The commands each activation of each recorded history produces, in order and with their arguments, and the
 * microtask turn of the activation on which each activity and timer was scheduled and each Update answered, are the
 * ones kept in test/fixtures/replay-commands.json. The SDK's replay (workflow-replay.test.ts) checks a replay's
 * commands against the history's events by kind and order only: an activity scheduled with other arguments, or two of
 * one type in swapped order, replays there without complaint and fails here. The turns catch a change that reorders
 * commands only when two coroutines meet in one activation, which no recorded history may show (see
 * support/command-trace.ts). A refactor of the workflow must leave this file as it is.
 *
 * `RECORD_COMMANDS=1 npx vitest run test/workflow-commands.test.ts` rewrites it, for a deliberate change that running
 * executions may see (say why in the commit), and after the histories are recorded anew.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { HISTORIES } from './support/history-scenarios.js';

const EXPECTED = path.resolve(import.meta.dirname, 'fixtures/replay-commands.json');
const HistoryProto = temporal.api.history.v1.History;

type Command = Record<string, Record<string, unknown> | undefined>;

/** One line per command: its kind and what names it (activity type, patch id, update outcome). */
function describeCommand(command: Command): string {
  const [kind, body] = Object.entries(command).find(([, v]) => v != null) ?? ['?', {}];
  const b = body ?? {};
  switch (kind) {
    case 'scheduleActivity':
      return `activity ${String(b.activityType)}`;
    case 'scheduleLocalActivity':
      return `local activity ${String(b.activityType)}`;
    case 'setPatchMarker':
      return `patch ${String(b.patchId)}${b.deprecated ? ' (deprecated)' : ''}`;
    case 'updateResponse':
      return `update ${['accepted', 'completed', 'rejected'].find((k) => b[k] != null) ?? '?'}`;
    default:
      return kind;
  }
}

/** The commands as they were sent, but for what moves with the code or the test process, hashed. */
function fingerprint(commands: string): string {
  const normal = commands
    // A refused request's stack trace names the workflow's files and lines.
    .replace(/"stackTrace":"(?:[^"\\]|\\.)*",?/g, '')
    // The replay worker's task queue is numbered per process.
    .replace(/fake_replay_queue-\d+/g, 'replay');
  return createHash('sha256').update(normal).digest('hex').slice(0, 16);
}

async function traceHistories(): Promise<Record<string, string[]>> {
  const bundle = await bundleWorkflowCode({
    workflowsPath: path.resolve(import.meta.dirname, '../workflows/index.ts'),
    workflowInterceptorModules: [path.resolve(import.meta.dirname, 'support/command-trace.ts')],
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  const files = readdirSync(HISTORIES, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .sort();
  const traces: Record<string, string[]> = Object.fromEntries(files.map((f) => [f, []]));
  const histories = files.map((f) => ({
    workflowId: f,
    history: HistoryProto.fromObject(JSON.parse(readFileSync(path.join(HISTORIES, f), 'utf8')) as Record<string, unknown>),
  }));
  const failures: string[] = [];
  const replays = Worker.runReplayHistories(
    {
      workflowBundle: bundle,
      sinks: {
        commandTrace: {
          activation: {
            fn: (info, jobs: string[], commands: string, turns: string[]) => {
              const parsed = JSON.parse(commands) as Command[];
              traces[info.workflowId]!.push(
                `${jobs.join(' + ')} -> ${parsed.map(describeCommand).join(', ') || 'nothing'} #${fingerprint(commands)}` +
                  (turns.length > 0 ? ` | turns: ${turns.join(', ')}` : ''),
              );
            },
            callDuringReplay: true,
          },
        },
      },
    },
    histories,
  );
  for await (const result of replays) if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  expect(failures).toEqual([]);
  return traces;
}

describe('determinism, command by command', () => {
  it('every activation of every recorded history produces the commands it did, in order, with the same arguments, on the same turns', async () => {
    const traces = await traceHistories();
    if (process.env.RECORD_COMMANDS === '1') {
      // Laid out as `npm run format` would.
      const prettier = await import('prettier');
      const options = await prettier.resolveConfig(EXPECTED);
      writeFileSync(EXPECTED, await prettier.format(JSON.stringify(traces), { ...options, parser: 'json' }));
    }
    const expected = JSON.parse(readFileSync(EXPECTED, 'utf8')) as Record<string, string[]>;
    expect(Object.keys(traces)).toEqual(Object.keys(expected));
    for (const [file, lines] of Object.entries(expected)) expect(traces[file], file).toEqual(lines);
  });
});
