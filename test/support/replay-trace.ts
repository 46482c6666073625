/**
 * Replays recorded histories with support/command-trace.ts bundled in, and hands back, per history, what each
 * activation was given and what it produced: its jobs, its commands (each described, and fingerprinted with its
 * arguments) and the microtask turns they came on. test/workflow-commands.test.ts keeps them in a fixture;
 * test/workflow-activation-order.test.ts compares them between orders of the jobs.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';

type Command = Record<string, Record<string, unknown> | undefined>;

/** One activation of a replay. */
export interface TracedActivation {
  jobs: string[];
  /** `kind name`, one per command, in order. */
  commands: string[];
  /** The commands as sent, but for what moves with the code or the test process, hashed. */
  fingerprint: string;
  turns: string[];
}

/** The replay of one history: its activations, and the error it ended with, if any. */
export interface TracedReplay {
  activations: TracedActivation[];
  error?: string;
}

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

function fingerprint(commands: string): string {
  const normal = commands
    // A refused request's stack trace names the workflow's files and lines.
    .replace(/"stackTrace":"(?:[^"\\]|\\.)*",?/g, '')
    // The replay worker's task queue is numbered per process.
    .replace(/fake_replay_queue-\d+/g, 'replay');
  return createHash('sha256').update(normal).digest('hex').slice(0, 16);
}

/** The run workflow's bundle with the command trace, and `modules` (more workflow interceptor modules) before it. */
export function tracedBundle(modules: string[] = []): Promise<{ code: string }> {
  return bundleWorkflowCode({
    workflowsPath: path.resolve(import.meta.dirname, '../../workflows/index.ts'),
    workflowInterceptorModules: [...modules, path.resolve(import.meta.dirname, 'command-trace.ts')],
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
}

/** Replays `histories` (by id) on `bundle` and traces every activation. */
export async function traceReplays(
  bundle: { code: string },
  histories: Record<string, temporal.api.history.v1.IHistory>,
): Promise<Record<string, TracedReplay>> {
  const traces: Record<string, TracedReplay> = Object.fromEntries(Object.keys(histories).map((id) => [id, { activations: [] }]));
  const replays = Worker.runReplayHistories(
    {
      workflowBundle: bundle,
      sinks: {
        commandTrace: {
          activation: {
            fn: (info, jobs: string[], commands: string, turns: string[]) => {
              const parsed = JSON.parse(commands) as Command[];
              traces[info.workflowId]!.activations.push({
                jobs,
                commands: parsed.map(describeCommand),
                fingerprint: fingerprint(commands),
                turns,
              });
            },
            callDuringReplay: true,
          },
        },
      },
    },
    Object.entries(histories).map(([workflowId, history]) => ({ workflowId, history })),
  );
  for await (const result of replays) if (result.error) traces[result.workflowId]!.error = result.error.message;
  return traces;
}

/** An activation as test/fixtures/replay-commands.json keeps it. */
export function traceLine(a: TracedActivation): string {
  return (
    `${a.jobs.join(' + ')} -> ${a.commands.join(', ') || 'nothing'} #${a.fingerprint}` +
    (a.turns.length > 0 ? ` | turns: ${a.turns.join(', ')}` : '')
  );
}
