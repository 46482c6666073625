/**
 * The `notifications:` block of a runbook: the channels messages go out on, the routes that say which events reach
 * whom on which channel, and who a rehearsal may reach. People's addresses live with them under `people:` (see
 * {@link personAddresses}). Rules that need the whole runbook (channels and roles that exist, URLs, references) are
 * in validate-notifications.ts.
 *
 * Secrets are written as references (`${env:NAME}`, `${file:path}`, runbook/secret-refs.ts) and resolved by the
 * worker right before a delivery, as steps' secrets are: the runbook, the store and the run's history hold only the
 * reference.
 */
import { z } from 'zod';
import { DURATION_PATTERN } from './duration.js';

/**
 * Every kind of event a route may name. The workflow emits them (issue 20, item 1); `test` is what
 * `cutover notify test` sends and is never routed.
 */
export const NOTIFICATION_EVENT_KINDS = [
  'run_started',
  'run_ended',
  'gate_opened',
  'gate_deadline',
  'manual_step_waiting',
  'step_ready_soon',
  'step_late',
  'step_failed',
  'backout_started',
  'backout_halted',
  'backout_finished',
  'point_of_no_return',
  'comms',
  'escalated',
  'incident_approaching',
  'incident_breached',
  'test',
] as const;

const routableKinds = NOTIFICATION_EVENT_KINDS.filter((kind) => kind !== 'test') as [string, ...string[]];

export const channelName = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, {
  message: 'expected lower-case letters, digits, - and _ (starting with a letter or digit)',
});

const timeout = z
  .string()
  .regex(DURATION_PATTERN, { message: 'expected a duration such as 10s or 1m' })
  .optional()
  .describe('Longest one delivery attempt may take (default 10s; 30s for email).');

const url = z
  .string()
  .min(1)
  .describe('https://…; may be a reference such as ${env:SLACK_WEBHOOK_URL}, since a webhook URL is itself a secret.');

export const webhookChannel = z
  .object({
    kind: z.literal('webhook'),
    url,
    secret: z
      .string()
      .min(1)
      .describe(
        'The HMAC-SHA256 key receivers verify X-Cutover-Signature with, as a reference: ${env:NAME} or ${file:path}; never the secret itself.',
      ),
    headers: z.record(z.string(), z.string()).optional().describe('Extra headers; values may use references.'),
    timeout,
  })
  .strict();

export const slackChannel = z.object({ kind: z.literal('slack'), url: url.describe('A Slack incoming webhook URL.'), timeout }).strict();

export const teamsChannel = z
  .object({
    kind: z.literal('teams'),
    url: url.describe('A Microsoft Teams workflow ("When a Teams webhook request is received") URL.'),
    timeout,
  })
  .strict();

export const emailChannel = z
  .object({
    kind: z.literal('email'),
    host: z.string().min(1).describe('The SMTP server.'),
    port: z.number().int().min(1).max(65535).default(587),
    tls: z
      .enum(['starttls', 'implicit'])
      .default('starttls')
      .describe(
        'starttls: plain connection upgraded with STARTTLS, refused when the server does not offer it; implicit: TLS from the start (port 465).',
      ),
    user: z.string().optional().describe('SMTP user; may be a reference.'),
    password: z.string().optional().describe('SMTP password, as a reference: ${env:SMTP_PASSWORD} or ${file:path}.'),
    from: z.string().min(3).describe('The sender, such as "Cutover <cutover@example.com>".'),
    ca_file: z
      .string()
      .optional()
      .describe("A PEM file of CA certificates to trust for the server's certificate (a company CA), relative to the runbook."),
    timeout,
  })
  .strict();

export const commandChannel = z
  .object({
    kind: z.literal('command'),
    command: z.string().min(1).describe('Run with /bin/sh -c on the worker, the message as JSON on stdin; exit 0 means delivered.'),
    env: z.record(z.string(), z.string()).optional().describe('Extra environment variables; values may use references.'),
    timeout,
  })
  .strict();

/** Where messages go: a kind of channel and how to reach it. */
export const notificationChannel = z.discriminatedUnion('kind', [webhookChannel, slackChannel, teamsChannel, emailChannel, commandChannel]);

/** Which events reach whom, on which channels. */
export const notificationRoute = z
  .object({
    on: z.array(z.enum(routableKinds)).min(1).optional().describe('Event kinds this route sends; default: every kind.'),
    to: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        "Roles or people (as named in `roles` and `people`); default: whoever must act on the event (a gate's approvers, a step's owner, the lead).",
      ),
    via: z.array(channelName).min(1).describe('Channels (names under `notifications.channels`).'),
  })
  .strict();

export const notificationsSchema = z
  .object({
    channels: z.record(channelName, notificationChannel).describe('Channel name -> how to reach it.'),
    routes: z.array(notificationRoute).default([]),
    rehearsal: z
      .object({
        audience: z
          .array(z.string().min(1))
          .min(1)
          .optional()
          .describe('Roles or people: in a rehearsal only they are notified; everyone else routed is left out.'),
        channels: z.array(channelName).min(1).optional().describe('In a rehearsal only these channels are used.'),
      })
      .strict()
      .optional()
      .describe('Who a rehearsal may reach. Rehearsal messages always say REHEARSAL; without an audience they reach everyone routed.'),
    public_url: z
      .string()
      .optional()
      .describe("The status page's address for links in messages; default: CUTOVER_PUBLIC_URL on the worker."),
    ack_within: z
      .string()
      .regex(DURATION_PATTERN, { message: 'expected a duration such as 10m' })
      .optional()
      .describe(
        'Every manual step and gate not acknowledged this long after it started waiting escalates (a step may set its own `ack_within`).',
      ),
  })
  .strict();

/** How a person is reached, beside their key (under `people:`). */
export const personAddresses = {
  email: z
    .email({ message: 'expected an e-mail address such as alice@example.com' })
    .optional()
    .describe('Where e-mail channels reach them.'),
  slack: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,}$/, { message: 'expected a Slack member ID such as U012AB3CD (profile, "Copy member ID")' })
    .optional()
    .describe('Their Slack member ID, mentioned in Slack messages.'),
};

export type NotificationEventKind = (typeof NOTIFICATION_EVENT_KINDS)[number];
export type Notifications = z.output<typeof notificationsSchema>;
export type NotificationChannel = z.output<typeof notificationChannel>;
export type NotificationRoute = z.output<typeof notificationRoute>;
export type WebhookChannel = z.output<typeof webhookChannel>;
export type EmailChannel = z.output<typeof emailChannel>;
export type CommandChannel = z.output<typeof commandChannel>;
