/**
 * The runbook format: one zod schema is the source of the TypeScript types, the validation of
 * YAML files and the published JSON Schema (`schema/runbook.schema.json`).
 *
 * Structural rules live here; rules that need the whole document (ids, the dependency graph,
 * roles that exist) live in `validate.ts`. The workflow bundle imports only the *types* of
 * this module, never zod at run time.
 */
import { z } from 'zod';
import { comparisonFields, connectionSide, csvSource } from '../reconcile/config.js';
import { PASSKEY_PATTERN, PUBLIC_KEY_PATTERN } from './public-key.js';
import { DURATION_PATTERN, NOT_BEFORE_PATTERN } from './duration.js';
import { channelName, notificationsSchema, personAddresses } from './notifications.js';
import { hypercareSchema } from './hypercare.js';
import { rotaShift } from './rota-schema.js';

const duration = z
  .string()
  .regex(DURATION_PATTERN, { message: 'expected a duration such as 90s, 15m, 1h30m or 2d' })
  .describe('A duration: digits with a unit (ms, s, m, h, d), parts may be combined: 1h30m.');

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, {
  message: 'expected lower-case letters, digits, - and _ (starting with a letter or digit)',
});

const stringMap = z.record(z.string(), z.string());

/** The expected outcome of a shell command. */
const shellExpect = z
  .object({
    exit_code: z.number().int().default(0).describe('Exit code that counts as success.'),
    output_contains: z.string().optional().describe('Text that stdout or stderr must contain.'),
  })
  .strict();

const shellFields = {
  command: z.string().min(1).describe('Run with /bin/sh -c in the working directory.'),
  env: stringMap.optional().describe('Extra environment variables.'),
  cwd: z.string().optional().describe('Working directory, relative to the runbook file.'),
  timeout: duration.optional().describe('Kill the command after this long.'),
  expect: shellExpect.optional(),
};

const httpExpect = z
  .object({
    status: z
      .union([z.number().int(), z.array(z.number().int()).min(1)])
      .optional()
      .describe('Expected status code(s); default: any 2xx.'),
    body_contains: z.string().optional(),
    body_matches: z.string().optional().describe('A regular expression the body must match.'),
  })
  .strict();

const httpFields = {
  url: z.string().min(1).describe('May use ${NAME} or ${NAME:-default} from the environment (also in headers and body).'),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  headers: stringMap.optional(),
  body: z.string().optional(),
  timeout: duration.optional(),
  expect: httpExpect.optional(),
};

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const sqlExpect = z
  .object({
    rows: z.number().int().min(0).optional().describe('Exact number of rows returned.'),
    value: scalar.optional().describe('Value of the first column of the first row.'),
    min: z.number().optional().describe('First column of the first row is at least this.'),
    max: z.number().optional().describe('First column of the first row is at most this.'),
  })
  .strict();

const sqlFields = {
  connection: id.describe('A name from the runbook `connections`.'),
  query: z.string().min(1).describe('One SQL statement.'),
  expect: sqlExpect.optional(),
};

const simulateFields = {
  duration: duration.default('0s'),
  outcome: z.enum(['success', 'failure']).default('success').describe('Rehearse a failure by making this simulated action fail.'),
};

export const shellAction = z.object({ kind: z.literal('shell'), ...shellFields }).strict();
export const httpAction = z.object({ kind: z.literal('http'), ...httpFields }).strict();
export const sqlAction = z.object({ kind: z.literal('sql'), ...sqlFields }).strict();
export const manualAction = z
  .object({
    kind: z.literal('manual'),
    instructions: z.string().optional().describe('What the owner does before marking it done.'),
  })
  .strict();
export const waitAction = z.object({ kind: z.literal('wait'), duration }).strict();
/** A comms step: a message with the run's facts to an audience, sent the moment the step starts (docs/notifications.md). */
export const notifyAction = z
  .object({
    kind: z.literal('notify'),
    message: z
      .string()
      .min(1)
      .describe("What it says; {run}, {runbook}, {mode}, {elapsed}, {done} and {total} (steps) are replaced with the run's facts."),
    to: z.array(z.string().min(1)).min(1).describe('Roles or people (as named in `roles` and `people`).'),
    via: z.array(channelName).min(1).optional().describe('Channels under `notifications.channels`; default: every channel.'),
  })
  .strict();
export const simulateAction = z.object({ kind: z.literal('simulate'), ...simulateFields }).strict();
/**
 * Compares the records of two systems (a migration sample, or old and new side by side in
 * hypercare): the same comparison as `cutover reconcile CONFIG`, with sides that name runbook
 * `connections`. It passes when the differences are within `limits`.
 */
const reconcileFields = {
  source: connectionSide.describe('The old system: a connection, and for a database a `table` or `query`.'),
  target: connectionSide.describe('The new system: a connection, and for a database a `table` or `query`.'),
  ...comparisonFields,
  timeout: duration.optional().describe('Stop the comparison after this long (default 1h).'),
};
export const reconcileAction = z.object({ kind: z.literal('reconcile'), ...reconcileFields }).strict();

/** A reconcile check that compares again on a schedule while old and new systems both run (hypercare). */
export const reconcileRepeat = z
  .object({
    every: duration.describe('Compare again this long after the previous comparison started.'),
    for: duration.describe('Keep comparing for this long after the first comparison; a round outside the limits fails the step at once.'),
  })
  .strict();

/** What a step does. Action kinds form one registry; a new kind is a new member here. */
export const action = z.discriminatedUnion('kind', [
  shellAction,
  httpAction,
  sqlAction,
  manualAction,
  waitAction,
  simulateAction,
  reconcileAction,
  notifyAction,
]);

const checkName = z.string().min(1).describe('Shown in the console and recorded with the result.');

/**
 * Asking again until the answer is yes: a service that was just switched on may need a minute
 * before its health check passes. Checks are questions, so asking again is always safe.
 */
export const checkUntil = z
  .object({
    within: duration.describe('Keep asking for at most this long.'),
    every: duration.default('5s').describe('Wait between two questions.'),
  })
  .strict();

const checkFields = {
  name: checkName,
  until: checkUntil.optional().describe('Ask again until it passes, for at most `within`.'),
};

/** A check runs after the step's action succeeded; a failing check fails the step. */
export const check = z.discriminatedUnion('kind', [
  z.object({ ...checkFields, kind: z.literal('shell'), ...shellFields }).strict(),
  z.object({ ...checkFields, kind: z.literal('http'), ...httpFields }).strict(),
  z.object({ ...checkFields, kind: z.literal('sql'), ...sqlFields }).strict(),
  z.object({ ...checkFields, kind: z.literal('simulate'), ...simulateFields }).strict(),
  z
    .object({
      ...checkFields,
      kind: z.literal('reconcile'),
      ...reconcileFields,
      repeat: reconcileRepeat.optional().describe('Compare again on a schedule during hypercare; every round is recorded.'),
    })
    .strict(),
]);

export const retryPolicy = z
  .object({
    attempts: z.number().int().min(1).max(100).default(1).describe('Total attempts of the action; more than 1 needs `idempotent: true`.'),
    interval: duration.default('5s').describe('Wait before the second attempt.'),
    backoff: z.number().min(1).max(10).default(2).describe('Multiplier of the wait per attempt.'),
  })
  .strict();

/**
 * When an open gate stops waiting for people: one of `at` (a time on the night), `after_opening`
 * (a duration after the gate opens) or `after_window_start` (a duration after the window starts).
 * In a rehearsal, times on the night are moved so the window starts when the rehearsal did.
 */
export const gateDeadline = z
  .object({
    at: z.iso.datetime({ offset: true }).optional().describe('The time it closes, ISO 8601.'),
    after_opening: duration.optional().describe('It closes this long after it opens.'),
    after_window_start: duration.optional().describe('It closes this long after the window starts (needs `window.start`).'),
    decides: z.enum(['no-go', 'go']).default('no-go').describe('What the gate decides when it closes undecided.'),
  })
  .strict();

/** People whose approvals a gate needs: N of a list, or every one of a list. */
export const gateRequirement = z.union([
  z
    .object({
      at_least: z.number().int().min(1).describe('How many of `of` must approve.'),
      of: z.array(z.string().min(1)).min(1).describe('People (as named in `roles`).'),
    })
    .strict(),
  z.object({ all_of: z.array(z.string().min(1)).min(1).describe('People who must all approve.') }).strict(),
]);

export const gate = z
  .object({
    approvers: z
      .array(id)
      .min(1, { message: 'a gate needs at least one approver role' })
      .describe('Roles whose members may vote on this gate.'),
    rule: z.enum(['all', 'any']).default('all').describe('all: one approval from every approver role; any: one approval from any of them.'),
    question: z.string().optional().describe('What the approvers decide, shown when the gate opens.'),
    deadline: gateDeadline.optional().describe('When the gate stops taking votes and decides by itself (`decides`, no-go by default).'),
    require: z
      .array(gateRequirement)
      .min(1)
      .optional()
      .describe('Approvals needed besides `rule`, all of them: `{ at_least: 2, of: [dana, erin, frank] }`, `{ all_of: [alice, bob] }`.'),
    criteria: z
      .object({
        checks_passed: z
          .array(id)
          .min(1)
          .optional()
          .describe('Phases whose steps all succeeded (or were simulated) with every check passed.'),
        max_mismatch_rate: z
          .number()
          .min(0)
          .max(1)
          .optional()
          .describe('Every reconciliation so far: mismatched / (matched + mismatched) at most this.'),
        max_late: duration.optional().describe('The gate opened at most this long after its planned start.'),
      })
      .strict()
      .optional()
      .describe('What must hold before anyone may approve: until then the gate takes no approvals (a no-go is always taken).'),
    self_approval: z
      .boolean()
      .default(true)
      .describe('false: people holding the role that owns a step this gate decides on (its dependencies) may not approve it.'),
  })
  .strict();

export const rehearsalMode = z.enum(['run', 'simulate', 'skip']);

/** A fixed start: `+DURATION` after the window starts, or a time on the night. */
const notBefore = z.string().refine((text) => NOT_BEFORE_PATTERN.test(text) || z.iso.datetime({ offset: true }).safeParse(text).success, {
  message: 'expected +DURATION after the window starts (+2h, +1h30m) or a time in ISO 8601 (2026-12-05T23:30:00Z)',
});

/** A period of the night, ISO 8601 at both ends. */
const period = {
  start: z.iso.datetime({ offset: true }).describe('When it begins, ISO 8601.'),
  end: z.iso.datetime({ offset: true }).describe('When it ends, ISO 8601.'),
};

export const step = z
  .object({
    id: id.describe('Unique in the runbook; used on the command line.'),
    title: z.string().min(1),
    owner: id.describe('The role accountable for this step (required).'),
    depends_on: z.array(id).default([]).describe('Steps that must finish first.'),
    expected: duration.optional().describe('Planned duration, for timing review and simulation.'),
    action: action.optional(),
    gate: gate.optional(),
    checks: z.array(check).default([]),
    backout: action.optional().describe('How to undo this step when the run backs out.'),
    timeout: duration.optional().describe('Longest one attempt of the action may take. Default 1h.'),
    retry: retryPolicy.optional(),
    idempotent: z.boolean().default(false).describe('Safe to run twice; only idempotent steps may be retried automatically.'),
    rehearsal: rehearsalMode.default('run').describe('In a rehearsal: run it, simulate it for its expected duration, or skip it.'),
    not_before: notBefore
      .optional()
      .describe(
        'The step starts no earlier than this even when it is ready: +DURATION after the window starts (+2h), or a time (ISO 8601, needs `window.start`); a rehearsal moves it with its own start.',
      ),
    stream: z.string().min(1).optional().describe('The workstream it belongs to; the one-page plan draws a lane per stream.'),
    milestone: z
      .union([z.literal(true), z.literal('retirement')])
      .optional()
      .describe('true: a milestone of the plan (a diamond on the one-page plan); retirement: a legacy retirement milestone.'),
    runs_on: id
      .optional()
      .describe(
        'Worker pool that must run this step, its checks and its back-out (served by `cutover worker --pool NAME` on the machine that holds the system); default: any worker.',
      ),
    notes: z.string().optional(),
    ack_within: duration
      .optional()
      .describe(
        'A manual step or gate not acknowledged (`cutover ack`) this long after it started waiting escalates: to the deputies of its role, then after as long again to the lead (default `notifications.ack_within`).',
      ),
  })
  .strict();

export const phaseKind = z.enum([
  'preparation',
  'data_freeze',
  'migration',
  'reconciliation',
  'interface_switch_on',
  'go_no_go',
  'hypercare',
]);

export const phase = z
  .object({
    id: id,
    kind: phaseKind,
    title: z.string().optional(),
    steps: z.array(step).min(1, { message: 'a phase needs at least one step' }),
  })
  .strict();

export const sqliteConnection = z
  .object({
    driver: z.literal('sqlite'),
    path: z.string().min(1).describe('Database file, relative to the runbook file.'),
    readonly: z.boolean().default(false),
  })
  .strict();

export const postgresConnection = z
  .object({
    driver: z.literal('postgres'),
    url: z
      .string()
      .min(1)
      .describe(
        'postgres://USER:PASSWORD@HOST:PORT/DATABASE (with ?sslmode=...); put the password in a reference, e.g. postgres://app:${env:APP_DB_PASSWORD}@db/crm.',
      ),
    readonly: z.boolean().default(false).describe('Run statements in read-only transactions.'),
  })
  .strict();

/** A CSV file a `reconcile` side may name (not an `sql` one). */
export const csvConnection = csvSource.describe('A CSV file, relative to the runbook file; `reconcile` sides may name it.');

export const connection = z
  .discriminatedUnion('driver', [sqliteConnection, postgresConnection, csvConnection])
  .describe('What sql and reconcile steps name: sqlite (a file), postgres (a server), or csv (a file; reconcile only).');

export const runbookSchema = z
  .object({
    name: id.describe('Names the runbook; runs are called NAME-NUMBER.'),
    version: z.union([z.string(), z.number()]).transform(String).describe('Your version label.'),
    description: z.string().optional(),
    lead: id.describe('The role that leads the cutover: may request back-out and resolve failures.'),
    roles: z.record(id, z.array(z.string().min(1))).describe('Role name -> the people who hold it.'),
    window: z
      .object({
        start: z.iso.datetime({ offset: true }).optional().describe('Planned start, ISO 8601.'),
        length: duration.describe('How long the cutover window is.'),
      })
      .strict()
      .optional(),
    change_window: z
      .object(period)
      .strict()
      .optional()
      .describe('The approved change window: a live run refuses to start outside it unless the lead signs an override.'),
    freeze_windows: z
      .array(
        z
          .object({ ...period, reason: z.string().optional().describe('Why interfaces are frozen then, shown when a step waits.') })
          .strict(),
      )
      .optional()
      .describe('Interface freezes: a step of an interface_switch_on phase does not start inside one (it waits for its end).'),
    backout: z
      .object({
        policy: z
          .enum(['automatic', 'manual'])
          .default('automatic')
          .describe('automatic: a failed step or check backs the run out; manual: the run waits for the lead.'),
      })
      .strict()
      .default({ policy: 'automatic' }),
    hypercare: hypercareSchema
      .optional()
      .describe(
        'After go-live: MTTR targets, KPI freshness, owners, the exit gate and legacy retirement (docs/hypercare.md); `cutover report` shows the measured times against the targets.',
      ),
    evidence: z
      .object({
        rehearsal_within: duration
          .optional()
          .describe('A live run needs a completed rehearsal of the same runbook version at most this long ago (default 14d).'),
      })
      .strict()
      .optional()
      .describe('What `cutover run --live` requires from past rehearsals (a recent completed one, and a back-out exercised).'),
    connections: z.record(id, connection).default({}),
    people: z
      .record(
        z.string().min(1),
        z
          .object({
            key: z
              .string()
              .regex(PUBLIC_KEY_PATTERN, {
                message: 'expected a public key as `cutover keys show` prints it: ed25519: and 44 base64 characters',
              })
              .optional()
              .describe('Their public key, from `cutover keys show`.'),
            passkey: z
              .string()
              .regex(PASSKEY_PATTERN, {
                message:
                  'expected a passkey as `cutover web` enrolment prints it: webauthn:, the relying-party id, : and 87 base64url characters',
              })
              .optional()
              .describe(
                'Their passkey (WebAuthn, ES256) as enrolment on the page prints it; requests signed with it are checked like key ones.',
              ),
            ...personAddresses,
          })
          .strict(),
      )
      .default({})
      .describe(
        'Person -> their public key (requests they sign are checked against it; live runs take only signed ones) and where notifications reach them.',
      ),
    signatures: z
      .enum(['optional', 'required'])
      .default('optional')
      .describe('In rehearsals: required takes only signed requests, as live runs always do; optional also takes unsigned ones.'),
    phases: z.array(phase).min(1, { message: 'a runbook needs at least one phase' }),
    // Issue 20: channels, routes and the rehearsal audience (runbook/notifications.ts).
    notifications: notificationsSchema.optional().describe('Who is told what, on which channels (docs/notifications.md).'),
    // Issue 20: who stands in for a role, and who is on duty when (runbook/rota.ts).
    deputies: z
      .record(id, z.array(z.string().min(1)).min(1))
      // Optional, not defaulted: a runbook without it keeps its version hash.
      .optional()
      .describe(
        'Role name -> the people who stand in for its holders: told first when a step or gate of the role is not acknowledged in time.',
      ),
    rota: z
      .array(rotaShift)
      .optional()
      .describe(
        "Shifts per role relative to the window (T is its start; a rehearsal's own start): who is on duty is who is notified for the role.",
      ),
  })
  .strict();

/** A runbook as written, after defaults were applied. */
export type Runbook = z.output<typeof runbookSchema>;
export type Phase = Runbook['phases'][number];
export type PhaseKind = z.output<typeof phaseKind>;
export type Step = Phase['steps'][number];
export type Action = z.output<typeof action>;
export type ActionKind = Action['kind'];
export type Check = z.output<typeof check>;
export type Gate = z.output<typeof gate>;
export type RetryPolicy = z.output<typeof retryPolicy>;
export type Connection = z.output<typeof connection>;
export type RehearsalMode = z.output<typeof rehearsalMode>;
export type ShellAction = z.output<typeof shellAction>;
export type HttpAction = z.output<typeof httpAction>;
export type SqlAction = z.output<typeof sqlAction>;
export type ReconcileAction = z.output<typeof reconcileAction>;
export type ReconcileCheck = Extract<Check, { kind: 'reconcile' }>;
