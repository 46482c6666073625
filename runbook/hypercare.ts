/**
 * The `hypercare:` block of a runbook: what happens after go-live. MTTR targets per incident severity, the KPI reports
 * whose freshness is watched (a SQL query or an HTTP endpoint gives the latest data time), who owns each interface,
 * system and KPI after go-live, the exit criteria of hypercare and the legacy retirement milestones after it.
 *
 * A runbook whose `hypercare:` has an `exit` keeps its run going after the forward steps completed: the run takes
 * incidents, checks its KPIs on their `repeat`, and ends when the exit gate is decided. Without `exit` (or without
 * `hypercare:`) a run ends as it always did. Rules that need the whole runbook are in validate-hypercare.ts.
 */
import { z } from 'zod';
import { comparisonFields, connectionSide } from '../reconcile/config.js';
import { DURATION_PATTERN } from './duration.js';

export { SEVERITIES, type Severity } from './hypercare-rules.js';

const duration = z.string().regex(DURATION_PATTERN, { message: 'expected a duration such as 90s, 15m, 1h30m or 2d' });

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, {
  message: 'expected lower-case letters, digits, - and _ (starting with a letter or digit)',
});

/** MTTR targets per severity: `{ sev1: 1h, sev2: 4h, sev3: 1d }`; a severity without one has no target. */
export const mttrTargets = z
  .object({
    sev1: duration.optional().describe('Target time to resolve a severity 1 incident.'),
    sev2: duration.optional(),
    sev3: duration.optional(),
    sev4: duration.optional(),
  })
  .strict();

/** Where a KPI's latest data time comes from: the first column of the first row, or a field of a JSON answer. */
export const freshnessSource = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('sql'),
      connection: id.describe('A name from the runbook `connections` (sqlite or postgres).'),
      query: z.string().min(1).describe('One SQL statement whose first column of the first row is the latest data time.'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('http'),
      url: z.string().min(1).describe('GET; may use ${NAME} or ${NAME:-default} from the environment.'),
      headers: z.record(z.string(), z.string()).optional(),
      field: z
        .string()
        .min(1)
        .optional()
        .describe('Dotted path of the time in a JSON answer (`report.refreshed_at`); without it the whole body is the time.'),
      timeout: duration.optional(),
    })
    .strict(),
]);

/** A KPI report whose freshness hypercare watches. */
export const kpi = z
  .object({
    id: id.describe('Unique among the KPIs.'),
    title: z.string().min(1).optional(),
    owner: id.optional().describe('The role that owns the report after go-live: a stale KPI is an incident for it.'),
    sla: duration.describe('The latest data may be at most this old (24h is common).'),
    repeat: duration.describe('Check again this long after the previous check.'),
    severity: z
      .number()
      .int()
      .min(1)
      .max(4)
      .default(3)
      .describe('The severity of the incident a stale KPI opens (1 the worst, default 3).'),
    source: freshnessSource,
  })
  .strict();

/**
 * A parallel-run reconciliation the hypercare loop compares on its `repeat` while old and new both run: each round's
 * differences feed the exit gate's `drift_rounds` criterion.
 */
export const hypercareReconcile = z
  .object({
    id: id.describe('Unique among the hypercare reconciliations.'),
    title: z.string().min(1).optional(),
    owner: id.optional().describe('The role that owns the parallel run after go-live.'),
    source: connectionSide.describe('The old system: a connection, and for a database a `table` or `query`.'),
    target: connectionSide.describe('The new system: a connection, and for a database a `table` or `query`.'),
    ...comparisonFields,
    repeat: duration.describe('Compare again this long after the previous round.'),
    timeout: duration.optional().describe('Stop one comparison after this long (default 1h).'),
  })
  .strict();

/** The machine criteria of the hypercare exit gate, and who decides it. */
export const hypercareExit = z
  .object({
    approvers: z.array(id).min(1, { message: 'the exit gate needs at least one approver role' }).describe('Roles that decide the exit.'),
    rule: z.enum(['all', 'any']).default('all').describe('all: one approval from every approver role; any: one from any of them.'),
    no_open: z
      .array(z.number().int().min(1).max(4))
      .default([1, 2])
      .describe('No incident of these severities may be open (default sev1 and sev2).'),
    mttr_days: z
      .number()
      .int()
      .min(1)
      .default(7)
      .describe('MTTR of the incidents resolved in the last N days within its target, per severity.'),
    drift_rounds: z
      .number()
      .int()
      .min(1)
      .default(3)
      .describe('Repeating reconcile checks found no drift in their last N rounds (only when the runbook has some).'),
    earliest: duration.optional().describe('The gate opens no earlier than this long after hypercare began.'),
  })
  .strict();

export const hypercareSchema = z
  .object({
    mttr: z
      .union([duration, mttrTargets])
      .optional()
      .describe(
        'MTTR targets per incident severity (`{ sev1: 1h, sev2: 4h }`); a single duration is the target for failures resolved during the run.',
      ),
    approaching: z
      .number()
      .min(0.1)
      .max(0.99)
      .default(0.75)
      .describe('An open incident is approaching its breach at this share of its target (default 0.75).'),
    kpis: z.array(kpi).default([]).describe('KPI reports whose freshness is checked on their `repeat` during hypercare.'),
    // No default: an absent key leaves the parsed runbook, and so its version hash, as it was before the key existed.
    reconcile: z
      .array(hypercareReconcile)
      .optional()
      .describe('Parallel-run reconciliations compared on their `repeat` during hypercare; their drift feeds `exit.drift_rounds`.'),
    owners: z
      .object({
        interfaces: z
          .record(z.string(), id)
          .default({})
          .describe('Step id of an interface_switch_on step -> the role that owns it after go-live.'),
        systems: z.record(z.string(), id).default({}).describe('Connection name -> the role that owns the system after go-live.'),
      })
      .strict()
      .optional()
      .describe('Who owns each interface and system after go-live.'),
    exit: hypercareExit
      .optional()
      .describe('With it, the run goes on after go-live into hypercare until this exit gate is decided; without it, the run ends.'),
    retirement: z
      .array(
        z
          .object({
            id: id,
            title: z.string().min(1),
            date: z.iso.date().describe('YYYY-MM-DD.'),
            owner: id.describe('The role that retires it.'),
          })
          .strict(),
      )
      .default([])
      .describe('Legacy retirement milestones after hypercare.'),
  })
  .strict();

export type HypercareConfig = z.output<typeof hypercareSchema>;
export type Kpi = z.output<typeof kpi>;
export type HypercareReconcile = z.output<typeof hypercareReconcile>;
export type HypercareExit = z.output<typeof hypercareExit>;
export type FreshnessSource = z.output<typeof freshnessSource>;
