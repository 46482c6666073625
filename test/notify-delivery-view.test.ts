/** What a person sees of a run's notifications (present/delivery-view.ts), from store rows. Pure. */
import { describe, expect, it } from 'vitest';
import { eventViews, failedDeliveryLines } from '../present/delivery-view.js';
import type { DeliveryRecord, EventRecord } from '../prisma/records.js';

const event = (eventId: string, seq: number, deliveries: EventRecord['deliveries']): EventRecord => ({
  runId: 'crm-3',
  eventId,
  seq,
  kind: eventId.split(':')[0]!,
  at: '2026-12-07T02:00:00.000Z',
  summary: `summary of ${eventId}`,
  event: {},
  deliveries,
});
const row = (
  eventId: string,
  channel: string,
  recipient: string,
  attempt: number,
  status: DeliveryRecord['status'],
  reason?: string,
): DeliveryRecord => ({
  runId: 'crm-3',
  eventId,
  eventKind: eventId.split(':')[0]!,
  channel,
  recipient,
  idempotencyKey: `${eventId}/${channel}/${recipient}`,
  attempt,
  status,
  ...(reason ? { reason } : {}),
  at: '2026-12-07T02:00:01.000Z',
});

describe('delivery view', () => {
  const events = [
    event('gate_opened:go', 1, [
      { channel: 'mail', recipient: 'ben' },
      { channel: 'hook', recipient: '#hook' },
    ]),
    event('run_started', 0, [{ channel: 'hook', recipient: '#hook' }]),
  ];

  it('gives each message its latest answer; a late attempt recorded after `sent` does not undo it', () => {
    const views = eventViews(events, [
      row('gate_opened:go', 'hook', '#hook', 1, 'retrying', 'channel hook: cannot reach hooks.example.com (ECONNREFUSED)'),
      row('gate_opened:go', 'hook', '#hook', 2, 'sent', 'hooks.example.com answered 200'),
      row('gate_opened:go', 'hook', '#hook', 2, 'retrying', 'channel hook: no answer within 10s'),
      row('gate_opened:go', 'mail', 'ben', 1, 'gave_up', 'channel mail: ${env:SMTP_PASSWORD} is not set on ops-1'),
    ]);
    expect(views.map((v) => [v.id, v.deliveries.map((d) => [d.channel, d.status, d.attempts])])).toEqual([
      [
        'gate_opened:go',
        [
          ['mail', 'gave_up', 1],
          ['hook', 'sent', 2],
        ],
      ],
      ['run_started', [['hook', 'pending', 0]]],
    ]);
    expect(failedDeliveryLines(views)).toEqual([
      'the gate_opened:go message to ben on mail gave up after 1 attempt: channel mail: ${env:SMTP_PASSWORD} is not set on ops-1; fix the channel (`cutover notify test RUNBOOK` checks it)',
    ]);
    expect(failedDeliveryLines(views, { withReasons: false })).toEqual([
      'the gate_opened:go message to ben on mail gave up after 1 attempt',
    ]);
  });

  it('says a message still being retried is, with the reason', () => {
    const views = eventViews(events, [row('run_started', 'hook', '#hook', 3, 'retrying', 'channel hook: hooks.example.com answered 503')]);
    expect(failedDeliveryLines(views)).toEqual([
      'the run_started message on hook is being retried (3 attempts so far): channel hook: hooks.example.com answered 503',
    ]);
  });
});
