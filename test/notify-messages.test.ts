import { createHash } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import type { NotificationEvent } from '../notify/event.js';
import { idempotencyKey, planDeliveries } from '../notify/plan.js';
import { emailContent, slackPayload, teamsPayload, webhookBody } from '../notify/render.js';
import { signBody, verifySignature } from '../notify/signature.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const RUNBOOK = `
name: crm
version: 1
lead: lead
roles:
  lead: [ana]
  approvers: [ben, cho]
  sponsor: [dee]
people:
  ana: { email: ana@example.com, slack: U0ANA }
  ben: { email: ben@example.com, slack: U0BEN }
  cho: { email: cho@example.com }
  dee: { email: dee@example.com }
notifications:
  channels:
    mail: { kind: email, host: smtp.example.com, from: cutover@example.com }
    slack: { kind: slack, url: 'https://hooks.slack.com/services/T/B/X' }
    hook: { kind: webhook, url: 'https://hooks.example.com/c', secret: '\${env:HOOK_SECRET}' }
  routes:
    - { on: [gate_opened], via: [mail, slack] }
    - { on: [gate_opened, run_ended], to: [sponsor], via: [mail, hook] }
  rehearsal: { audience: [lead, approvers] }
phases:
  - id: decide
    kind: go_no_go
    steps:
      - { id: go-live, title: Go live, owner: lead, expected: 5m, gate: { approvers: [approvers] } }
`;

function runbook(text = RUNBOOK): Runbook {
  const result = parseRunbook(text, 'runbook.yaml');
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.runbook;
}

const gateOpened = (mode: 'rehearsal' | 'live'): NotificationEvent => ({
  id: 'gate_opened:go-live:1',
  kind: 'gate_opened',
  runId: 'crm-3',
  runbook: 'crm',
  mode,
  at: '2026-12-07T02:00:00Z',
  summary: 'Gate go-live opened: go live with the new CRM?',
  step: { id: 'go-live', title: 'Go live' },
  action: { people: [], roles: ['approvers'], what: 'approve or reject the gate' },
  by: '2026-12-07T02:30:00Z',
  facts: [{ label: 'Elapsed', value: '1h 12m' }],
});

describe('planDeliveries', () => {
  it('sends a live gate to its approvers and, by the second route, to the sponsor', () => {
    const planned = planDeliveries(runbook(), gateOpened('live'));
    expect(planned).toEqual([
      { channel: 'mail', recipient: 'ben', people: ['ben'] },
      { channel: 'mail', recipient: 'cho', people: ['cho'] },
      { channel: 'mail', recipient: 'dee', people: ['dee'] },
      { channel: 'slack', recipient: '#slack', people: ['ben', 'cho'] },
      { channel: 'hook', recipient: '#hook', people: ['dee'] },
    ]);
  });

  it('never reaches the sponsor from a rehearsal when the audience leaves them out', () => {
    const planned = planDeliveries(runbook(), gateOpened('rehearsal'));
    expect(planned.map((d) => `${d.channel}:${d.recipient}`)).toEqual(['mail:ben', 'mail:cho', 'slack:#slack']);
    expect(planned.flatMap((d) => d.people)).not.toContain('dee');
  });

  it('gives the same key to the same event and recipient, another to anything else', () => {
    const event = gateOpened('live');
    const key = idempotencyKey(event, { channel: 'mail', recipient: 'ben' }, sha256);
    expect(idempotencyKey({ ...event }, { channel: 'mail', recipient: 'ben' }, sha256)).toBe(key);
    expect(idempotencyKey(event, { channel: 'mail', recipient: 'cho' }, sha256)).not.toBe(key);
    expect(idempotencyKey({ ...event, id: 'gate_opened:go-live:2' }, { channel: 'mail', recipient: 'ben' }, sha256)).not.toBe(key);
  });
});

describe('messages', () => {
  const ctx = (mode: 'rehearsal' | 'live') => ({
    event: gateOpened(mode),
    people: ['ben', 'cho'],
    idempotencyKey: 'k1',
    publicUrl: 'https://cutover.example.com/',
    slackIds: { ben: 'U0BEN' },
  });

  it('say what happened, who must act by when, the page and the command, in every format', () => {
    const mail = emailContent(ctx('live'));
    expect(mail.subject).toBe('crm-3: Gate go-live opened: go live with the new CRM?');
    expect(mail.text).toContain('Who must act: approvers must approve or reject the gate, by 2026-12-07 02:30 UTC.');
    expect(mail.text).toContain('Page: https://cutover.example.com/runs/crm-3');
    expect(mail.text).toContain('Command: cutover approve crm-3 go-live --as YOU');
    expect(mail.html).toContain('<a href="https://cutover.example.com/runs/crm-3">');

    const slack = JSON.stringify(slackPayload(ctx('live')));
    expect(slack).toContain('<@U0BEN> cho');
    expect(slack).toContain('"url":"https://cutover.example.com/runs/crm-3"');
    expect(slack).toContain('cutover approve crm-3 go-live --as YOU');

    const teams = teamsPayload(ctx('live')) as any;
    expect(teams.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(teams.attachments[0].content.actions[0]).toEqual({
      type: 'Action.OpenUrl',
      title: 'Open the run',
      url: 'https://cutover.example.com/runs/crm-3',
    });

    const hook = webhookBody(ctx('live')) as any;
    expect(hook).toMatchObject({ idempotency_key: 'k1', rehearsal: false, message: { by: '2026-12-07T02:30:00Z' } });
  });

  it('mark every rehearsal message REHEARSAL', () => {
    expect(emailContent(ctx('rehearsal')).subject).toMatch(/^\[REHEARSAL\] /);
    expect(emailContent(ctx('rehearsal')).text).toMatch(/^REHEARSAL: /);
    expect(JSON.stringify(slackPayload(ctx('rehearsal')))).toContain('*REHEARSAL*');
    expect(JSON.stringify(teamsPayload(ctx('rehearsal')))).toContain('REHEARSAL: not the live cutover');
    expect(webhookBody(ctx('rehearsal'))).toMatchObject({ rehearsal: true });
  });

  it('escape what people wrote in HTML and Slack markup', () => {
    const event = { ...gateOpened('live'), summary: 'Gate <b>x</b> & co' };
    expect(emailContent({ ...ctx('live'), event }).html).toContain('Gate &lt;b&gt;x&lt;/b&gt; &amp; co');
    expect(JSON.stringify(slackPayload({ ...ctx('live'), event }))).toContain('Gate &lt;b&gt;x&lt;/b&gt; &amp; co');
  });
});

describe('webhook signature', () => {
  it('verifies with the secret and the timestamp, and refuses a changed body, another secret or an old timestamp', () => {
    const body = '{"a":1}';
    const signature = signBody('s3cret', 1_000_000, body);
    const headers = { signature, timestamp: '1000000' };
    expect(verifySignature('s3cret', headers, body, 1_000_010)).toBe(true);
    expect(verifySignature('s3cret', headers, '{"a":2}', 1_000_010)).toBe(false);
    expect(verifySignature('other', headers, body, 1_000_010)).toBe(false);
    expect(verifySignature('s3cret', headers, body, 1_000_000 + 301)).toBe(false);
  });
});
