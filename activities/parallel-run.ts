/**
 * One round of a hypercare parallel-run reconciliation (`hypercare.reconcile`): the same comparison as a reconcile
 * step, in its own process, answering only its counts (the run keeps the last rounds' counts, never rows). Never fails
 * the activity: a comparison that cannot run is an answer too (the round counts as drift), with one line saying why.
 */
import { DEFAULT_RECONCILE_TIMEOUT_MS } from '../runbook/timeouts.js';
import { durationMs } from '../runbook/duration.js';
import type { HypercareReconcile } from '../runbook/hypercare.js';
import type { Connection, ReconcileAction } from '../runbook/schema.js';
import type { DriftReading } from '../run/hypercare-drift.js';
import { commandEnvironment } from './action-context.js';
import { configFor } from './reconcile.js';
import { runReconcileProcess } from './reconcile-process.js';
import { resolveSecrets } from './secrets.js';

/** What the workflow sends for one round. */
export interface ParallelRunRequest {
  runId: string;
  reconcile: HypercareReconcile;
  connections: Record<string, Connection>;
  baseDir: string;
}

/** The parallel-run activity. */
export function createParallelRunActivities() {
  return {
    /** Compares old and new once: the rows missing, extra and mismatched, or why it could not. */
    async compareParallelRun(request: ParallelRunRequest): Promise<DriftReading> {
      const { id, owner: _owner, title: _title, repeat: _repeat, ...fields } = request.reconcile;
      const reconcileId = id;
      const action: ReconcileAction = { kind: 'reconcile', ...fields };
      let redact = (text: string) => text;
      try {
        const secrets = resolveSecrets({ action, checks: [], connections: request.connections, baseDir: request.baseDir });
        redact = secrets.redact;
        const config = configFor(secrets.action, secrets.connections, request.baseDir);
        if (typeof config === 'string') return { reconcileId, error: config };
        const answer = await runReconcileProcess({
          config,
          baseDir: request.baseDir,
          timeoutMs: fields.timeout ? durationMs(fields.timeout) : DEFAULT_RECONCILE_TIMEOUT_MS,
          env: commandEnvironment(),
        });
        if (answer.kind === 'done') {
          const { missing_in_target: missing, extra_in_target: extra, mismatched } = answer.result;
          return { reconcileId, missing, extra, mismatched };
        }
        const why = 'message' in answer ? answer.message : answer.kind.replace('_', ' ');
        return { reconcileId, error: redact(`the comparison gave no result: ${why}`) };
      } catch (err) {
        return { reconcileId, error: redact(err instanceof Error ? err.message : String(err)) };
      }
    },
  };
}
