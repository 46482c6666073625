/**
 * One event in each channel's format: the generic webhook's JSON, Slack Block Kit, a Teams Adaptive Card, and an
 * e-mail's text and HTML parts. Each says what happened, who must act by when, and carries the page link and the
 * CLI command (notify/event.ts has the words). Pure.
 */
import { messageText, plainLines, type MessageText, type NotificationEvent } from './event.js';

/** What a renderer needs besides the event. */
export interface RenderContext {
  event: NotificationEvent;
  /** The people the message is for. */
  people: string[];
  idempotencyKey: string;
  publicUrl?: string;
  /** Slack member IDs by person, for mentions. */
  slackIds?: Record<string, string>;
}

/** The body of a generic webhook: the event as is, and the words for people. */
export function webhookBody(ctx: RenderContext): Record<string, unknown> {
  const text = messageText(ctx.event, ctx.publicUrl);
  return {
    version: 1,
    idempotency_key: ctx.idempotencyKey,
    rehearsal: text.rehearsal,
    event: ctx.event,
    people: ctx.people,
    message: {
      title: text.title,
      summary: text.summary,
      ...(text.whoMustAct ? { who_must_act: text.whoMustAct } : {}),
      ...(ctx.event.by ? { by: ctx.event.by } : {}),
      ...(text.link ? { link: text.link } : {}),
      command: text.command,
    },
  };
}

function mentions(ctx: RenderContext): string {
  return ctx.people.map((person) => (ctx.slackIds?.[person] ? `<@${ctx.slackIds[person]}>` : person)).join(' ');
}

/** Slack's mrkdwn needs &, < and > escaped outside its own markup. */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Slack incoming-webhook payload (Block Kit), with `text` as the notification's fallback. */
export function slackPayload(ctx: RenderContext): Record<string, unknown> {
  const text = messageText(ctx.event, ctx.publicUrl);
  const act = text.whoMustAct ? `*Who must act:* ${slackEscape(text.whoMustAct)}${text.byWhen ? `, *${text.byWhen}*` : ''}` : undefined;
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: text.title.slice(0, 150), emoji: false } },
    ...(text.rehearsal ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: ':test_tube: *REHEARSAL*: not the live cutover' }] }] : []),
    { type: 'section', text: { type: 'mrkdwn', text: slackEscape(text.summary) } },
    ...(act ? [{ type: 'section', text: { type: 'mrkdwn', text: ctx.people.length > 0 ? `${act}\n${mentions(ctx)}` : act } }] : []),
    ...(text.facts.length > 0
      ? [
          {
            type: 'section',
            fields: text.facts.slice(0, 10).map((f) => ({ type: 'mrkdwn', text: `*${slackEscape(f.label)}*\n${slackEscape(f.value)}` })),
          },
        ]
      : []),
    ...(text.link
      ? [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open the run' }, url: text.link }] }]
      : []),
    { type: 'context', elements: [{ type: 'mrkdwn', text: `\`${slackEscape(text.command)}\`` }] },
  ];
  return { text: text.title, blocks };
}

/** A Teams workflow-webhook payload: a message with one Adaptive Card (1.4). */
export function teamsPayload(ctx: RenderContext): Record<string, unknown> {
  const text = messageText(ctx.event, ctx.publicUrl);
  const body: Record<string, unknown>[] = [
    { type: 'TextBlock', text: text.title, weight: 'Bolder', size: 'Medium', wrap: true },
    ...(text.rehearsal ? [{ type: 'TextBlock', text: 'REHEARSAL: not the live cutover', color: 'Warning', weight: 'Bolder' }] : []),
    { type: 'TextBlock', text: text.summary, wrap: true },
    ...(text.whoMustAct
      ? [
          {
            type: 'TextBlock',
            text: `Who must act: ${text.whoMustAct}${text.byWhen ? `, ${text.byWhen}` : ''}`,
            wrap: true,
            weight: 'Bolder',
          },
        ]
      : []),
    ...(text.facts.length > 0 ? [{ type: 'FactSet', facts: text.facts.map((f) => ({ title: f.label, value: f.value })) }] : []),
    { type: 'TextBlock', text: text.command, fontType: 'Monospace', wrap: true, isSubtle: true },
  ];
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(text.link ? { actions: [{ type: 'Action.OpenUrl', title: 'Open the run', url: text.link }] } : {}),
        },
      },
    ],
  };
}

const htmlEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** An e-mail's subject, text part and HTML part. */
export function emailContent(ctx: RenderContext): { subject: string; text: string; html: string } {
  const text: MessageText = messageText(ctx.event, ctx.publicUrl);
  const rows = text.facts.map((f) => `<tr><th align="left">${htmlEscape(f.label)}</th><td>${htmlEscape(f.value)}</td></tr>`).join('');
  const html = [
    '<!doctype html><html><body>',
    ...(text.rehearsal ? ['<p><strong>REHEARSAL</strong>: this message comes from a rehearsal, not the live cutover.</p>'] : []),
    `<h2>${htmlEscape(text.title)}</h2>`,
    `<p>${htmlEscape(text.summary)}</p>`,
    ...(text.whoMustAct
      ? [
          `<p><strong>Who must act:</strong> ${htmlEscape(text.whoMustAct)}${text.byWhen ? `, <strong>${htmlEscape(text.byWhen)}</strong>` : ''}</p>`,
        ]
      : []),
    ...(rows ? [`<table>${rows}</table>`] : []),
    ...(text.link ? [`<p><a href="${htmlEscape(text.link)}">Open the run</a></p>`] : []),
    `<p><code>${htmlEscape(text.command)}</code></p>`,
    '</body></html>',
  ].join('\n');
  return { subject: text.title, text: `${plainLines(text).join('\n')}\n`, html };
}
