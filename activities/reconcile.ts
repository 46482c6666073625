/**
 * The `reconcile` action and check: the sides named by runbook connections become the engine's
 * config, the comparison runs in its own process (`reconcile-process.ts`), its full result goes to
 * the record store and only the counts come back (`ReconcileSummary`), so a large comparison never
 * makes a large payload. A check with `repeat` compares again on a schedule (hypercare): each round
 * is recorded, a round outside the limits fails the check at once, and a check asked again after a
 * worker stopped resumes after the last recorded round instead of starting its period again.
 */
import path from 'node:path';
import { formatDuration, durationMs } from '../runbook/duration.js';
import type { Connection, ReconcileAction, ReconcileCheck } from '../runbook/schema.js';
import { DEFAULT_RECONCILE_TIMEOUT_MS } from '../runbook/timeouts.js';
import type { ConnectionSide, ReconcileConfig, SourceSpec } from '../reconcile/config.js';
import { describeCounts, describeDrift, describeVerdict, formatDifferences } from '../reconcile/format.js';
import type { ReconcileResult, ReconcileSummary } from '../reconcile/result.js';
import { commandEnvironment, waitHeartbeating, type ActionContext, type ActionResult } from './action-context.js';
import { dataFileRefusal } from '../common/secret-file.js';
import type { ReconcileHeartbeat } from '../common/step-progress.js';
import { runReconcileProcess, type ReconcileAnswer } from './reconcile-process.js';

/** A reconcile action, or a reconcile check without its name and `until` (what `runChecks` passes). */
export type ReconcileWork = ReconcileAction | Omit<ReconcileCheck, 'name' | 'until'>;

/** Runs a `reconcile` action or check: once, or every `repeat.every` for `repeat.for`. */
export async function runReconcile(work: ReconcileWork, ctx: ActionContext): Promise<ActionResult> {
  const built = configFor(work, ctx.connections, ctx.baseDir);
  if (typeof built === 'string') return { ok: false, detail: built };
  const check = ctx.checkName ?? '';
  const timeoutMs = work.timeout ? durationMs(work.timeout) : ctx.check ? DEFAULT_RECONCILE_TIMEOUT_MS : ctx.timeoutMs;
  const repeat = 'repeat' in work ? work.repeat : undefined;

  // Rounds a repeating check already compared in this attempt, before a worker stop cut it short.
  const earlier = repeat && ctx.reconciliations ? await ctx.reconciliations.rounds(check).catch(() => []) : [];
  const last = earlier[earlier.length - 1];
  if (last && !last.result.within_limits) return verdict(last.result, summaryOf(last.result, earlier), repeat);

  const firstStart = earlier[0] ? Date.parse(earlier[0].startedAt) : Date.now();
  const history: { round: number; result: ReconcileResult }[] = earlier.map((r) => ({ round: r.round, result: r.result }));
  for (let round = (last?.round ?? 0) + 1; ; round += 1) {
    if (repeat && round > 1) {
      const next = firstStart + (round - 1) * durationMs(repeat.every);
      if (next > firstStart + durationMs(repeat.for)) break;
      await waitHeartbeating(next - Date.now(), ctx);
      if (ctx.signal?.aborted) {
        return ctx.workerStopping?.()
          ? { ok: false, interrupted: true, detail: `the worker stopped between rounds ${round - 1} and ${round} of the comparison` }
          : { ok: false, detail: `the comparison was cancelled after round ${round - 1}` };
      }
    }
    const startedAt = new Date().toISOString();
    const answer = await runReconcileProcess({
      config: built,
      baseDir: ctx.baseDir,
      timeoutMs,
      env: commandEnvironment(),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.workerStopping ? { workerStopping: ctx.workerStopping } : {}),
      onProgress: (progress) => {
        const step = ctx.env.CUTOVER_STEP_ID ?? '';
        const details: ReconcileHeartbeat = { reconcile: { step, check, round, phase: progress.phase, rows_read: progress.rows_read } };
        ctx.progress?.(details);
      },
    });
    if (answer.kind !== 'done') return failure(answer, timeoutMs, repeat ? round : undefined);
    const record = { round, startedAt, result: answer.result };
    const unrecorded = await recordResult(ctx, check, record);
    history.push(record);
    const result = verdict(answer.result, summaryOf(answer.result, repeat ? history : []), repeat);
    if (unrecorded) result.detail += ` (its rows could not be recorded: ${unrecorded})`;
    if (!repeat || !answer.result.within_limits) return result;
  }
  const lastRound = history[history.length - 1]!;
  return verdict(lastRound.result, summaryOf(lastRound.result, history), repeat, true);
}

/** The engine's config: each side's connection, with paths made absolute and references already resolved. */
export function configFor(work: ReconcileWork, connections: Record<string, Connection>, baseDir: string): ReconcileConfig | string {
  const side = (spec: ConnectionSide, role: 'source' | 'target'): SourceSpec | string => {
    const connection = connections[spec.connection];
    if (!connection) return `the ${role} names connection ${spec.connection}, which the runbook does not define`;
    const relation = {
      ...(spec.table !== undefined ? { table: spec.table } : {}),
      ...(spec.query !== undefined ? { query: spec.query } : {}),
    };
    const refused = connection.driver === 'postgres' ? undefined : dataFileRefusal(path.resolve(baseDir, connection.path));
    if (refused) return `the ${role}'s connection ${spec.connection}: ${refused}`;
    switch (connection.driver) {
      case 'sqlite':
        return { driver: 'sqlite', path: path.resolve(baseDir, connection.path), ...relation };
      case 'postgres':
        return { driver: 'postgres', url: connection.url, ...relation };
      case 'csv':
        return { ...connection, path: path.resolve(baseDir, connection.path) };
    }
  };
  const source = side(work.source, 'source');
  if (typeof source === 'string') return source;
  const target = side(work.target, 'target');
  if (typeof target === 'string') return target;
  const { key, columns, ignore, limits, sample, examples } = work;
  return { source, target, key, columns, ignore, limits, sample, examples };
}

/** Writes one comparison's full result; the failure's message when the store would not take it. */
async function recordResult(
  ctx: ActionContext,
  check: string,
  record: { round: number; startedAt: string; result: ReconcileResult },
): Promise<string | undefined> {
  if (!ctx.reconciliations) return undefined;
  let last: unknown;
  for (let i = 0; i < 4; i += 1) {
    try {
      await ctx.reconciliations.record(check, record.round, record.startedAt, record.result);
      return undefined;
    } catch (err) {
      last = err;
      await waitHeartbeating(250 * 2 ** i, ctx);
    }
  }
  return last instanceof Error ? last.message : String(last);
}

/** The counts the run state carries; for a repeating check, its round and the drift since the previous one. */
export function summaryOf(result: ReconcileResult, rounds: readonly { round: number; result: ReconcileResult }[] = []): ReconcileSummary {
  const summary: ReconcileSummary = {
    matched: result.matched,
    missing_in_target: result.missing_in_target,
    extra_in_target: result.extra_in_target,
    mismatched: result.mismatched,
    duplicate_keys: result.duplicate_keys,
    null_keys: result.null_keys,
    rows_read: result.rows_read,
    sampled: result.sampled,
    within_limits: result.within_limits,
    limit_violations: result.limit_violations,
    seconds: result.seconds,
  };
  if (rounds.length > 0) {
    summary.round = rounds[rounds.length - 1]!.round;
    const previous = rounds[rounds.length - 2];
    if (previous) summary.drift = differing(result) - differing(previous.result);
  }
  return summary;
}

function differing(r: Pick<ReconcileResult, 'missing_in_target' | 'extra_in_target' | 'mismatched'>): number {
  return r.missing_in_target + r.extra_in_target + r.mismatched;
}

/** Differing rows shown under a failed step; the rest are in `cutover reconcile-report`. */
const SHOWN_DIFFERENCES = 5;

/** The action's or check's answer for a result: within the limits or not, and why. */
function verdict(
  result: ReconcileResult,
  summary: ReconcileSummary,
  repeat: { every: string; for: string } | undefined,
  finished = false,
): ActionResult & { reconcile: ReconcileSummary } {
  const counts = describeCounts(summary);
  const judged = describeVerdict(result);
  // The comparison's "output": its first differing rows, shown under a failure like a command's last lines.
  const differences = formatDifferences(result, SHOWN_DIFFERENCES);
  const tail = differences.length > 0 ? { outputTail: differences.join('\n') } : {};
  if (!repeat) return { ok: result.within_limits, detail: `${counts}; ${judged}`, reconcile: summary, ...tail };
  const drift = summary.drift === undefined ? '' : `, ${describeDrift(summary.drift)} since round ${summary.round! - 1}`;
  const head = finished
    ? `${summary.round} rounds every ${repeat.every} for ${repeat.for}, all within limits; last: `
    : `round ${summary.round} of the comparison every ${repeat.every} for ${repeat.for}: `;
  return { ok: result.within_limits, detail: `${head}${counts}${drift}; ${judged}`, reconcile: summary, ...tail };
}

/** A comparison that gave no result: why, in one sentence. */
function failure(answer: Exclude<ReconcileAnswer, { kind: 'done' }>, timeoutMs: number, round: number | undefined): ActionResult {
  const which = round === undefined ? 'the comparison' : `round ${round} of the comparison`;
  switch (answer.kind) {
    case 'failed':
      return { ok: false, detail: answer.message };
    case 'timed_out':
      return {
        ok: false,
        detail: `${which} did not finish within ${formatDuration(timeoutMs)} and was stopped; nothing was recorded for it`,
      };
    case 'cancelled':
      return { ok: false, detail: `${which} was cancelled and stopped; nothing was recorded for it` };
    case 'worker_stopped':
      return { ok: false, interrupted: true, detail: `the worker stopped during ${which}, which was stopped and will run again` };
    case 'crashed':
      return { ok: false, detail: `${which} failed: ${answer.message}` };
  }
}
