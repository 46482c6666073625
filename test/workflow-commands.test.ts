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
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { HISTORIES } from './support/history-scenarios.js';
import { traceLine, traceReplays, tracedBundle } from './support/replay-trace.js';

const EXPECTED = path.resolve(import.meta.dirname, 'fixtures/replay-commands.json');
const HistoryProto = temporal.api.history.v1.History;

async function traceHistories(): Promise<Record<string, string[]>> {
  const files = readdirSync(HISTORIES, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .sort();
  const histories = Object.fromEntries(
    files.map((f) => [f, HistoryProto.fromObject(JSON.parse(readFileSync(path.join(HISTORIES, f), 'utf8')) as Record<string, unknown>)]),
  );
  const traces = await traceReplays(await tracedBundle(), histories);
  expect(
    Object.entries(traces)
      .filter(([, t]) => t.error)
      .map(([f, t]) => `${f}: ${t.error}`),
  ).toEqual([]);
  return Object.fromEntries(files.map((f) => [f, traces[f]!.activations.map(traceLine)]));
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
